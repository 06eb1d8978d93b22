/**
 * The rabbit driver's option group, `[oslo_messaging_rabbit]`: oslo's names, types,
 * defaults and deprecated names, as pure data: every option of Debian's 14.0.3 and of
 * upstream HEAD (after 18.1.0). Defaults are 14.0.3's where the releases agree on the wire,
 * HEAD's where HEAD changed a default on purpose (`ssl_enforce_hostname_verification`,
 * `heartbeat_rate`); options HEAD added keep the old behaviour by default. The registry merges it
 * into the configuration's option table; nothing here loads AMQP code.
 *
 * @module
 */
import { hostname } from 'node:os';
import { basename } from 'node:path';

import type { DeprecatedName, GroupSpec } from '../../config/types.js';

/** The name of the rabbit driver's option group. */
export const RABBIT_GROUP = 'oslo_messaging_rabbit';

/** Read from `[DEFAULT]` under the same name (oslo's `deprecated_group='DEFAULT'`). */
const FROM_DEFAULT: readonly DeprecatedName[] = [{ group: 'DEFAULT' }];

/** The SASL mechanisms oslo accepts for `rabbit_login_method`. */
export const RABBIT_LOGIN_METHODS = ['PLAIN', 'AMQPLAIN', 'EXTERNAL', 'RABBIT-CR-DEMO'] as const;
/** A value of `rabbit_login_method`. */
export type RabbitLoginMethod = (typeof RABBIT_LOGIN_METHODS)[number];

/** The values of `kombu_failover_strategy`. */
export const KOMBU_FAILOVER_STRATEGIES = ['round-robin', 'shuffle'] as const;
/** A value of `kombu_failover_strategy`. */
export type KombuFailoverStrategy = (typeof KOMBU_FAILOVER_STRATEGIES)[number];

/**
 * The `[oslo_messaging_rabbit]` options (Debian 14.0.3 names and defaults). Options marked
 * *wire* change frames or queue arguments and must match the Python services' settings,
 * or the broker refuses the declarations (406 PRECONDITION_FAILED).
 */
export interface RabbitOptions {
  /** *wire*: declare the control exchange, topic and notification queues durable. @default false */
  readonly amqp_durable_queues: boolean;
  /** *wire*: declare the control exchange, topic and notification queues auto-delete. @default false */
  readonly amqp_auto_delete: boolean;
  /** *wire*: add `x-ha-policy: all` to every queue. Not with quorum queues. @default false */
  readonly rabbit_ha_queues: boolean;
  /** *wire*: topic, server and notification queues become durable quorum queues. @default false */
  readonly rabbit_quorum_queue: boolean;
  /** *wire*: `x-delivery-limit` of quorum queues; 0 sets none. @default 0 */
  readonly rabbit_quorum_delivery_limit: number;
  /**
   * *wire*: `x-max-in-memory-length` of quorum queues; 0 sets none. The misspelling is
   * 14.0.3's; the later spelling `rabbit_quorum_max_memory_length` is read too.
   * @default 0
   */
  readonly rabbit_quroum_max_memory_length: number;
  /**
   * *wire*: `x-max-in-memory-bytes` of quorum queues; 0 sets none. Also read as
   * `rabbit_quorum_max_memory_bytes`.
   * @default 0
   */
  readonly rabbit_quroum_max_memory_bytes: number;
  /**
   * *wire*: `x-expires` (seconds, ×1000 on the wire) of reply and fanout queues, or the
   * `x-max-age` of the fanout stream; 0 sets neither (HEAD; 14.0.3 needs at least 1).
   * @default 1800
   */
  readonly rabbit_transient_queues_ttl: number;
  /**
   * *wire*: reply and fanout queues become durable quorum queues and the fanout exchange
   * durable (HEAD). Needed on RabbitMQ 4.x, which refuses transient non-exclusive queues.
   * @default false
   */
  readonly rabbit_transient_quorum_queue: boolean;
  /**
   * *wire*: one durable stream `<topic>_fanout` per topic replaces the per-server fanout
   * queues (HEAD). Needs `rabbit_transient_quorum_queue` and a prefetch count above 0.
   * @default false
   */
  readonly rabbit_stream_fanout: boolean;
  /**
   * *wire*: reply and fanout queue names end in `<hostname>:<processname>:<counter>`
   * instead of a random uuid, so a restarted service gets its queues back (HEAD).
   * @default false
   */
  readonly use_queue_manager: boolean;
  /** Host part of queue names under `use_queue_manager`. @default the machine's host name */
  readonly hostname: string;
  /** Process part of queue names under `use_queue_manager`. @default the main script's file name */
  readonly processname: string;
  /** *wire*: `basic.qos` prefetch count of consumers; 0 sends no `basic.qos`. @default 0 */
  readonly rabbit_qos_prefetch_count: number;
  /** *wire*: AMQP heartbeat in seconds, sent in `tune-ok`; 0 disables heartbeats. @default 60 */
  readonly heartbeat_timeout_threshold: number;
  /**
   * How many times per `heartbeat_timeout_threshold` Python checks the heartbeat (HEAD's
   * default; 14.0.3's is 2). Accepted without effect: amqplib sends and checks heartbeats
   * itself, at half the threshold. @default 3
   */
  readonly heartbeat_rate: number;
  /** *wire*: the `mandatory` bit on reply publishes. Deprecated. @default true */
  readonly direct_mandatory_flag: boolean;
  /** *wire*: consume with `x-cancel-on-ha-failover: true`. @default false */
  readonly enable_cancel_on_failover: boolean;
  /** *wire*: compress bodies (`gzip` or `bz2`); `undefined` sends them plain. @default undefined */
  readonly kombu_compression: string | undefined;
  /**
   * Seconds a server keeps retrying a reply whose reply queue is missing. Also read as
   * `kombu_reconnect_timeout`.
   * @default 60
   */
  readonly kombu_missing_consumer_retry_timeout: number;
  /** Seconds to wait before reconnecting after a consumer cancel notification (max 4.5). @default 1.0 */
  readonly kombu_reconnect_delay: number;
  /** Up to this many seconds, at random, added to `kombu_reconnect_delay` (HEAD). @default 0 */
  readonly kombu_reconnect_splay: number;
  /** How the next broker is picked after a failure, with several hosts. @default 'round-robin' */
  readonly kombu_failover_strategy: KombuFailoverStrategy;
  /** *wire*: the SASL mechanism sent in `connection.start-ok`. @default 'AMQPLAIN' */
  readonly rabbit_login_method: RabbitLoginMethod;
  /** Seconds before the first reconnection attempt. @default 1 */
  readonly rabbit_retry_interval: number;
  /** Seconds added to the wait after each failed reconnection attempt. @default 2 */
  readonly rabbit_retry_backoff: number;
  /** Longest wait between reconnection attempts, in seconds. @default 30 */
  readonly rabbit_interval_max: number;
  /** Most send connections pooled per transport. @default 30 */
  readonly rpc_conn_pool_size: number;
  /** Pooled send connections kept even when idle. @default 2 */
  readonly conn_pool_min_size: number;
  /** Seconds an idle pooled send connection lives. @default 1200 */
  readonly conn_pool_ttl: number;
  /** Connect with TLS. Also read as `rabbit_use_ssl`. @default false */
  readonly ssl: boolean;
  /** TLS version to use; empty lets the library choose. Also read as `kombu_ssl_version`. @default '' */
  readonly ssl_version: string;
  /** Client key file (PEM). Also read as `kombu_ssl_keyfile`. @default '' */
  readonly ssl_key_file: string;
  /** Client certificate file (PEM). Also read as `kombu_ssl_certfile`. @default '' */
  readonly ssl_cert_file: string;
  /** CA bundle to verify the broker with. Also read as `kombu_ssl_ca_certs`. @default '' */
  readonly ssl_ca_file: string;
  /**
   * Check the broker's host name against its certificate (HEAD's default since 18.1.0;
   * Debian's 14.0.3 backport defaults to false). @default true
   */
  readonly ssl_enforce_hostname_verification: boolean;
  /** Require OpenSSL FIPS mode. @default false */
  readonly ssl_enforce_fips_mode: boolean;
  /** Python threading model of the heartbeat; accepted and ignored here. @default false */
  readonly heartbeat_in_pthread: boolean;
}

/** The `[oslo_messaging_rabbit]` option table. */
export const RABBIT_OPTIONS: GroupSpec<RabbitOptions> = {
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
    min: 0,
    unit: 's',
    help:
      'Reply and fanout queues unused for this long are deleted by the broker (x-expires); ' +
      'with rabbit_stream_fanout, the age after which stream messages go (x-max-age). ' +
      '0 sets neither.',
  },
  rabbit_transient_quorum_queue: {
    type: 'bool',
    default: false,
    help:
      'Declare reply and fanout queues as durable quorum queues, and the fanout exchanges ' +
      'durable. RabbitMQ 4.x refuses the classic transient queues declared otherwise.',
  },
  rabbit_stream_fanout: {
    type: 'bool',
    default: false,
    help:
      'Use one stream queue <topic>_fanout per topic for fanout messages instead of a ' +
      'queue per server. Needs rabbit_transient_quorum_queue and rabbit_qos_prefetch_count > 0.',
  },
  use_queue_manager: {
    type: 'bool',
    default: false,
    help:
      'Name reply and fanout queues after hostname and processname and a counter instead ' +
      'of a random uuid, so that a restarted service finds its queues again.',
  },
  hostname: {
    type: 'string',
    default: hostname(),
    help: 'Host name used in queue names under use_queue_manager.',
  },
  processname: {
    type: 'string',
    default: basename(process.argv[1] ?? process.argv0),
    help: 'Process name used in queue names under use_queue_manager.',
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
    default: 3,
    min: 1,
    inert: 'amqplib sends and checks AMQP heartbeats itself, at half the threshold',
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
  kombu_reconnect_splay: {
    type: 'float',
    default: 0,
    min: 0,
    unit: 's',
    help:
      'Up to this long, chosen at random, is added to kombu_reconnect_delay, so that ' +
      'many services do not reconnect at the same moment.',
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
    inert: 'one send connection per transport replaces the Python connection pool',
    default: 30,
    min: 1,
    deprecatedNames: FROM_DEFAULT,
    help: 'Most connections in the pool used to send messages.',
  },
  conn_pool_min_size: {
    type: 'int',
    inert: 'one send connection per transport replaces the Python connection pool',
    default: 2,
    min: 0,
    deprecatedNames: FROM_DEFAULT,
    help: 'Connections the send pool keeps open even when they are idle.',
  },
  conn_pool_ttl: {
    type: 'int',
    inert: 'one send connection per transport replaces the Python connection pool',
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
    default: true,
    deprecatedForRemoval: true,
    help:
      'With ssl_ca_file: also check that the broker certificate names the host connected ' +
      'to. Without it only the certificate chain is checked.',
  },
  ssl_enforce_fips_mode: {
    type: 'bool',
    default: false,
    deprecatedForRemoval: true,
    inert: 'OpenSSL 3 has no FIPS switch (upstream ignores it too); run Node with --enable-fips',
    help: 'Asked Python to switch OpenSSL to FIPS mode; OpenSSL 3 removed that switch.',
  },
  heartbeat_in_pthread: {
    type: 'bool',
    default: false,
    inert: 'Python threading model only; Node has one event loop',
    help: 'Python only: run the heartbeat in a native thread. Accepted and ignored here.',
  },
};
