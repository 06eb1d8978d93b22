/**
 * The option table: every oslo.messaging option this library reads, with oslo's group, name,
 * type, default (Debian 14.0.3) and deprecated names. Help texts are ours.
 *
 * A few bounds go beyond 14.0.3, which accepts the value and then fails later: the `min` of
 * `rabbit_retry_interval`, `rabbit_retry_backoff` and `rabbit_interval_max` are upstream
 * HEAD's; prefetch count and heartbeat are 16-bit AMQP fields; `heartbeat_rate` divides the
 * threshold and `executor_thread_pool_size` sizes a pool, so neither may be 0; the quorum
 * limits and `conn_pool_min_size` cannot be negative.
 *
 * @module
 */
import {
  KOMBU_FAILOVER_STRATEGIES,
  RABBIT_LOGIN_METHODS,
  type ConfigGroups,
  type DeprecatedName,
  type OptionDefinition,
  type OptionUnit,
} from './types.js';

/** One row of a group's table, its `type` and `default` tied to the typed interface. */
interface Spec<T> {
  readonly type: [T] extends [boolean]
    ? 'bool'
    : [T] extends [number]
      ? 'int' | 'float'
      : [T] extends [readonly string[]]
        ? 'list' | 'multi'
        : 'string' | 'enum';
  readonly default: T;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  readonly deprecatedNames?: readonly DeprecatedName[];
  readonly deprecatedForRemoval?: boolean;
  readonly secret?: boolean;
  readonly unit?: OptionUnit;
}

/** A group's table must list exactly the keys of its interface, with matching defaults. */
type GroupSpec<T> = { readonly [K in keyof T]-?: Spec<T[K]> };

/** Read from `[DEFAULT]` under the same name (oslo's `deprecated_group='DEFAULT'`). */
const FROM_DEFAULT: readonly DeprecatedName[] = [{ group: 'DEFAULT' }];

const DEFAULT_GROUP: GroupSpec<ConfigGroups['DEFAULT']> = {
  transport_url: {
    type: 'string',
    default: 'rabbit://',
    secret: true,
    help:
      'Where the messaging backend is and how to log in to it, as a URL: ' +
      'driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host?query, ' +
      'for example rabbit://user:secret@10.0.0.5:5672//. Query keys set ' +
      '[oslo_messaging_rabbit] options for this transport.',
  },
  control_exchange: {
    type: 'string',
    default: 'openstack',
    help:
      'Exchange that RPC and notification topics live in, unless a target names another ' +
      'one. Services set their own default (nova uses "nova").',
  },
  rpc_response_timeout: {
    type: 'int',
    default: 60,
    unit: 's',
    help: 'How long an RPC call waits for its reply.',
  },
  executor_thread_pool_size: {
    type: 'int',
    default: 64,
    min: 1,
    deprecatedNames: [{ name: 'rpc_thread_pool_size' }],
    help: 'How many messages a server handles at the same time with a concurrent executor.',
  },
  rpc_ping_enabled: {
    type: 'bool',
    default: false,
    help: 'Give every RPC server an oslo_rpc_server_ping method that answers "pong".',
  },
};

const NOTIFICATIONS_GROUP: GroupSpec<ConfigGroups['oslo_messaging_notifications']> = {
  driver: {
    type: 'multi',
    default: [],
    deprecatedNames: [{ group: 'DEFAULT', name: 'notification_driver' }],
    help:
      'Drivers that send each notification: messaging, messagingv2, routing, log, test or ' +
      'noop. Repeat the line for several. With none, notifications are dropped.',
  },
  transport_url: {
    type: 'string',
    default: undefined,
    secret: true,
    deprecatedNames: [{ group: 'DEFAULT', name: 'notification_transport_url' }],
    help: 'Transport URL for notifications. When unset, the RPC transport_url is used.',
  },
  topics: {
    type: 'list',
    default: ['notifications'],
    deprecatedNames: [
      { group: 'rpc_notifier2', name: 'topics' },
      { group: 'DEFAULT', name: 'notification_topics' },
    ],
    help: 'Topics each notification is published to.',
  },
  retry: {
    type: 'int',
    default: -1,
    help:
      'How many times a notification is published again after a recoverable error: ' +
      '0 never, -1 without limit.',
  },
  routing_config: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'DEFAULT', name: 'routing_notifier_config' }],
    help:
      'YAML file for the routing notification driver: which drivers get which event ' +
      'types and priorities.',
  },
};

const RABBIT_GROUP: GroupSpec<ConfigGroups['oslo_messaging_rabbit']> = {
  amqp_durable_queues: {
    type: 'bool',
    default: false,
    help:
      'Declare the exchange and the topic and notification queues durable. Quorum queues ' +
      'are durable whatever this says.',
  },
  amqp_auto_delete: {
    type: 'bool',
    default: false,
    deprecatedNames: FROM_DEFAULT,
    help: 'Declare the exchange and the topic and notification queues auto-delete.',
  },
  rabbit_ha_queues: {
    type: 'bool',
    default: false,
    deprecatedNames: FROM_DEFAULT,
    help:
      'Ask for mirrored queues (x-ha-policy: all) on every queue. Since RabbitMQ 3.0 ' +
      'mirroring is set by a policy instead; changing this needs the queues deleted first.',
  },
  rabbit_quorum_queue: {
    type: 'bool',
    default: false,
    help:
      'Declare topic, server and notification queues as durable quorum queues ' +
      '(RabbitMQ 3.8 and later). Cannot be combined with rabbit_ha_queues.',
  },
  rabbit_quorum_delivery_limit: {
    type: 'int',
    default: 0,
    min: 0,
    help:
      'With quorum queues: deliveries of one message before the broker drops or ' +
      'dead-letters it (x-delivery-limit). 0 sets no limit.',
  },
  rabbit_quroum_max_memory_length: {
    type: 'int',
    default: 0,
    min: 0,
    deprecatedNames: [{ name: 'rabbit_quorum_max_memory_length' }],
    help:
      'With quorum queues: most messages kept in memory per queue ' +
      '(x-max-in-memory-length). 0 sets no limit.',
  },
  rabbit_quroum_max_memory_bytes: {
    type: 'int',
    default: 0,
    min: 0,
    unit: 'bytes',
    deprecatedNames: [{ name: 'rabbit_quorum_max_memory_bytes' }],
    help:
      'With quorum queues: most message bytes kept in memory per queue ' +
      '(x-max-in-memory-bytes). 0 sets no limit.',
  },
  rabbit_transient_queues_ttl: {
    type: 'int',
    default: 1800,
    min: 1,
    unit: 's',
    help: 'Reply and fanout queues unused for this long are deleted by the broker (x-expires).',
  },
  rabbit_qos_prefetch_count: {
    type: 'int',
    default: 0,
    min: 0,
    max: 65535,
    help: 'Unacknowledged messages a consumer may hold (basic.qos). 0 means no limit.',
  },
  heartbeat_timeout_threshold: {
    type: 'int',
    default: 60,
    min: 0,
    max: 65535,
    unit: 's',
    help:
      'AMQP heartbeat: the connection is considered dead after this long without traffic. ' +
      '0 turns heartbeats off.',
  },
  heartbeat_rate: {
    type: 'int',
    default: 2,
    min: 1,
    help: 'How many times per heartbeat_timeout_threshold the heartbeat is checked.',
  },
  direct_mandatory_flag: {
    type: 'bool',
    default: true,
    deprecatedForRemoval: true,
    help:
      'Publish replies with the mandatory flag, so that a reply to a vanished caller is ' +
      'noticed (and retried until kombu_missing_consumer_retry_timeout).',
  },
  enable_cancel_on_failover: {
    type: 'bool',
    default: false,
    help: 'Consume with x-cancel-on-ha-failover, so the broker cancels consumers of a lost queue.',
  },
  kombu_compression: {
    type: 'string',
    default: undefined,
    help: 'Compress message bodies with gzip or bz2. Unset sends them uncompressed.',
  },
  kombu_missing_consumer_retry_timeout: {
    type: 'int',
    default: 60,
    unit: 's',
    deprecatedNames: [{ name: 'kombu_reconnect_timeout' }],
    help:
      'How long a server keeps trying to deliver a reply whose reply queue is missing. ' +
      'Keep it no longer than rpc_response_timeout.',
  },
  kombu_reconnect_delay: {
    type: 'float',
    default: 1.0,
    min: 0,
    max: 4.5,
    unit: 's',
    deprecatedNames: FROM_DEFAULT,
    help: 'Pause before reconnecting after the broker cancelled a consumer.',
  },
  kombu_failover_strategy: {
    type: 'enum',
    default: 'round-robin',
    choices: KOMBU_FAILOVER_STRATEGIES,
    help: 'How the next broker is chosen when the current one fails (with several hosts).',
  },
  rabbit_login_method: {
    type: 'enum',
    default: 'AMQPLAIN',
    choices: RABBIT_LOGIN_METHODS,
    deprecatedNames: FROM_DEFAULT,
    help: 'SASL mechanism used to log in to RabbitMQ.',
  },
  rabbit_retry_interval: {
    type: 'int',
    default: 1,
    min: 1,
    unit: 's',
    help: 'Wait before the first attempt to reconnect to RabbitMQ.',
  },
  rabbit_retry_backoff: {
    type: 'int',
    default: 2,
    min: 0,
    unit: 's',
    deprecatedNames: FROM_DEFAULT,
    help: 'Added to the wait after every failed attempt to reconnect.',
  },
  rabbit_interval_max: {
    type: 'int',
    default: 30,
    min: 1,
    unit: 's',
    help: 'Longest wait between two attempts to reconnect.',
  },
  rpc_conn_pool_size: {
    type: 'int',
    default: 30,
    min: 1,
    deprecatedNames: FROM_DEFAULT,
    help: 'Most connections in the pool used to send messages.',
  },
  conn_pool_min_size: {
    type: 'int',
    default: 2,
    min: 0,
    deprecatedNames: FROM_DEFAULT,
    help: 'Connections the send pool keeps open even when they are idle.',
  },
  conn_pool_ttl: {
    type: 'int',
    default: 1200,
    unit: 's',
    deprecatedNames: FROM_DEFAULT,
    help: 'Idle send connections above conn_pool_min_size are closed after this long.',
  },
  ssl: {
    type: 'bool',
    default: false,
    deprecatedNames: [{ name: 'rabbit_use_ssl' }],
    help: 'Connect to RabbitMQ over TLS.',
  },
  ssl_version: {
    type: 'string',
    default: '',
    deprecatedNames: [{ name: 'kombu_ssl_version' }],
    help: 'TLS protocol version (with ssl), such as TLSv1_2. Empty lets the TLS library choose.',
  },
  ssl_key_file: {
    type: 'string',
    default: '',
    deprecatedNames: [{ name: 'kombu_ssl_keyfile' }],
    help: 'Private key of the client certificate (with ssl).',
  },
  ssl_cert_file: {
    type: 'string',
    default: '',
    deprecatedNames: [{ name: 'kombu_ssl_certfile' }],
    help: 'Client certificate presented to the broker (with ssl).',
  },
  ssl_ca_file: {
    type: 'string',
    default: '',
    deprecatedNames: [{ name: 'kombu_ssl_ca_certs' }],
    help: 'Certificate authorities the broker certificate is checked against (with ssl).',
  },
  ssl_enforce_hostname_verification: {
    type: 'bool',
    default: false,
    help:
      'With ssl_ca_file: also check that the broker certificate names the host connected ' +
      'to. Without it only the certificate chain is checked.',
  },
  ssl_enforce_fips_mode: {
    type: 'bool',
    default: false,
    help: 'Refuse to start unless OpenSSL runs in FIPS mode.',
  },
  heartbeat_in_pthread: {
    type: 'bool',
    default: false,
    help: 'Python only: run the heartbeat in a native thread. Accepted and ignored here.',
  },
};

const METRICS_GROUP: GroupSpec<ConfigGroups['oslo_messaging_metrics']> = {
  metrics_enabled: {
    type: 'bool',
    default: false,
    help: 'Report RPC metrics to an oslo.metrics collector.',
  },
  metrics_buffer_size: {
    type: 'int',
    default: 1000,
    help: 'Metrics kept in memory while the collector is unreachable.',
  },
  metrics_socket_file: {
    type: 'string',
    default: '/var/tmp/metrics_collector.sock',
    help: 'Unix socket the metrics collector listens on.',
  },
  metrics_process_name: {
    type: 'string',
    default: '',
    help: 'Name of this process in the reported metrics.',
  },
  metrics_thread_stop_timeout: {
    type: 'int',
    default: 10,
    unit: 's',
    help: 'The metrics sender stops after this long without anything to send.',
  },
};

/** The groups whose every option this library knows, in listing order. */
export const GROUP_SPECS: Readonly<Record<keyof ConfigGroups, GroupSpec<object>>> = {
  DEFAULT: DEFAULT_GROUP,
  oslo_messaging_notifications: NOTIFICATIONS_GROUP,
  oslo_messaging_rabbit: RABBIT_GROUP,
  oslo_messaging_metrics: METRICS_GROUP,
};

/** Every option, flattened, frozen. */
export const OPTION_TABLE: readonly OptionDefinition[] = Object.freeze(
  Object.entries(GROUP_SPECS).flatMap(([group, specs]) =>
    Object.entries(specs as Record<string, Spec<unknown>>).map(([name, spec]) =>
      Object.freeze({ group, name, ...spec } as OptionDefinition),
    ),
  ),
);

/**
 * Groups owned by oslo.messaging: an unknown option there is an error (most likely a typo
 * that Python would silently ignore). `[DEFAULT]` belongs to the service (nova keeps
 * hundreds of its own options there), so unknown options in it are ignored.
 */
export const STRICT_GROUPS: ReadonlySet<string> = new Set([
  'oslo_messaging_notifications',
  'oslo_messaging_rabbit',
  'oslo_messaging_metrics',
]);

/**
 * oslo.config matches group names case-insensitively, except that `DEFAULT` must be
 * written in capitals (`[default]` is some other group).
 */
export function normalizeGroup(group: string): string {
  return group === 'DEFAULT' ? group : group.toLowerCase();
}

/** The `[group, name]` pairs an option is read under: its own first, then deprecated ones. */
export function lookupNames(def: OptionDefinition): Array<readonly [string, string]> {
  return [
    [def.group, def.name],
    ...(def.deprecatedNames ?? []).map(
      (d) => [normalizeGroup(d.group ?? def.group), d.name ?? def.name] as const,
    ),
  ];
}

/** (group, name) under which a value is read, own or deprecated, mapped to its option. */
const BY_NAME = new Map<string, Map<string, OptionDefinition>>();
for (const def of OPTION_TABLE) {
  for (const [group, name] of lookupNames(def)) {
    let names = BY_NAME.get(group);
    if (names === undefined) BY_NAME.set(group, (names = new Map<string, OptionDefinition>()));
    // The option's own name wins over another option's deprecated name.
    if (!names.has(name) || (group === def.group && name === def.name)) names.set(name, def);
  }
}

/** The option read under `name` in (normalized) `group`, by its own or a deprecated name. */
export function findOption(group: string, name: string): OptionDefinition | undefined {
  return BY_NAME.get(group)?.get(name);
}

/** The option whose own (current) name is `group.name`. */
export function findOwnOption(group: string, name: string): OptionDefinition | undefined {
  const def = findOption(group, name);
  return def !== undefined && def.group === group && def.name === name ? def : undefined;
}
