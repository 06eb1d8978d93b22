/**
 * The option table: every option that oslo.messaging 14.0.3 or upstream HEAD registers, with
 * oslo's group, name, type, default and deprecated names (help texts are ours). Options
 * without an effect here carry an `inert` reason and are reported once when set.
 *
 * A few bounds go beyond 14.0.3, which accepts the value and then fails later: the `min` of
 * `rabbit_retry_interval`, `rabbit_retry_backoff` and `rabbit_interval_max` are upstream
 * HEAD's; prefetch count and heartbeat are 16-bit AMQP fields; `heartbeat_rate` divides the
 * threshold and `executor_thread_pool_size` sizes a pool, so neither may be 0; the quorum
 * limits and `conn_pool_min_size` cannot be negative.
 *
 * @module
 */
import { driverOptionGroups } from '../drivers/registry.js';
import { AMQP1_OPTIONS, KAFKA_OPTIONS } from './foreign-options.js';
import type { ConfigGroups, GroupSpec, OptionDefinition, OptionSpec } from './types.js';

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

const NO_METRICS = 'oslo.metrics reporting is not implemented yet';

const METRICS_GROUP: GroupSpec<ConfigGroups['oslo_messaging_metrics']> = {
  metrics_enabled: {
    inert: NO_METRICS,
    type: 'bool',
    default: false,
    help: 'Report RPC metrics to an oslo.metrics collector.',
  },
  metrics_buffer_size: {
    inert: NO_METRICS,
    type: 'int',
    default: 1000,
    help: 'Metrics kept in memory while the collector is unreachable.',
  },
  metrics_socket_file: {
    inert: NO_METRICS,
    type: 'string',
    default: '/var/tmp/metrics_collector.sock',
    help: 'Unix socket the metrics collector listens on.',
  },
  metrics_process_name: {
    inert: NO_METRICS,
    type: 'string',
    default: '',
    help: 'Name of this process in the reported metrics.',
  },
  metrics_thread_stop_timeout: {
    inert: NO_METRICS,
    type: 'int',
    default: 10,
    unit: 's',
    help: 'The metrics sender stops after this long without anything to send.',
  },
};

/** The library's own groups, in listing order. */
const CORE_GROUPS: Readonly<Record<keyof ConfigGroups, GroupSpec<object>>> = {
  DEFAULT: DEFAULT_GROUP,
  oslo_messaging_notifications: NOTIFICATIONS_GROUP,
  oslo_messaging_metrics: METRICS_GROUP,
};

/**
 * The groups whose every option this library knows, in listing order: its own, then each
 * driver's (declared in the driver's folder, merged through the driver registry).
 */
export const GROUP_SPECS: Readonly<Record<string, GroupSpec<object>>> = Object.freeze(
  Object.fromEntries([
    ...Object.entries(CORE_GROUPS).slice(0, 2),
    ...driverOptionGroups().map((g) => [g.group, g.options] as const),
    ...Object.entries(CORE_GROUPS).slice(2),
    ['oslo_messaging_amqp', AMQP1_OPTIONS],
    ['oslo_messaging_kafka', KAFKA_OPTIONS],
  ]),
);

/** Every option, flattened, frozen. */
export const OPTION_TABLE: readonly OptionDefinition[] = Object.freeze(
  Object.entries(GROUP_SPECS).flatMap(([group, specs]) =>
    Object.entries(specs as Record<string, OptionSpec<unknown>>).map(([name, spec]) =>
      Object.freeze({ group, name, ...spec } as OptionDefinition),
    ),
  ),
);

/**
 * Groups owned by oslo.messaging: an unknown option there is an error in a programmatic
 * object (most likely a typo) and a warning in a file (where Python ignores it, and a newer
 * release may know it). `[DEFAULT]` belongs to the service (nova keeps hundreds of its own
 * options there), so unknown options in it are ignored.
 */
export const STRICT_GROUPS: ReadonlySet<string> = new Set(
  Object.keys(GROUP_SPECS).filter((group) => group !== 'DEFAULT'),
);

/**
 * Whether a group that this library does not know looks like one of oslo.messaging's (a
 * driver group of a release it does not know, or a typo): such a section in a file gets a
 * warning. Other services' groups (`[database]`, `[oslo_concurrency]`) are ignored.
 */
export function isMessagingGroupName(group: string): boolean {
  return group.startsWith('oslo_messaging') && !Object.hasOwn(GROUP_SPECS, group);
}

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
