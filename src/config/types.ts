/**
 * Types of the configuration layer: option metadata and the typed view of each oslo group.
 * Option names, groups and units (seconds) are oslo.messaging's, so a `nova.conf` reads the
 * same here as in Python.
 *
 * @module
 */

/** How an option's value is converted from text (as oslo.config's option classes do). */
export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'list' | 'multi' | 'enum';

/** Unit of a numeric option: `s` is seconds (durations stay in oslo's seconds here). */
export type OptionUnit = 's' | 'bytes';

/**
 * An older name under which an option is still read (oslo's `deprecated_name` /
 * `deprecated_group`). An omitted field means "the same as the option's own".
 */
export interface DeprecatedName {
  readonly group?: string;
  readonly name?: string;
}

/** Description of one option, as listed by {@link listOpts}. */
export interface OptionInfo {
  readonly name: string;
  readonly type: OptionType;
  /** The value used when nothing sets the option (`undefined` means "unset", oslo's `None`). */
  readonly default: unknown;
  readonly help: string;
  /** Smallest accepted value (int and float options). */
  readonly min?: number;
  /** Largest accepted value (int and float options). */
  readonly max?: number;
  /** The accepted values of an `enum` option, compared case-sensitively. */
  readonly choices?: readonly string[];
  /** Older names still read, in order of precedence. */
  readonly deprecatedNames?: readonly DeprecatedName[];
  /** The option itself is deprecated and may go away. */
  readonly deprecatedForRemoval?: boolean;
  /** The value may hold credentials: listings show `***`. */
  readonly secret?: boolean;
  readonly unit?: OptionUnit;
}

/** An {@link OptionInfo} together with its group: one row of the option table. */
export interface OptionDefinition extends OptionInfo {
  readonly group: string;
}

/**
 * Plain object of oslo options by group, e.g.
 * `{ DEFAULT: { transport_url: 'rabbit://...' }, oslo_messaging_rabbit: { amqp_durable_queues: true } }`.
 * Values may be native (`true`, `30`, `['a', 'b']`) or strings as in an INI file (`'true'`,
 * `'30'`, `'a, b'`); they are converted to each option's type. `undefined` is the same as
 * leaving the option out; `null` sets it back to its default.
 */
export interface ConfigObject {
  [group: string]: { [option: string]: unknown };
}

/** The `[DEFAULT]` options oslo.messaging registers on a service's configuration. */
export interface DefaultOptions {
  /**
   * The RPC transport URL; notifications use it too unless
   * `[oslo_messaging_notifications] transport_url` is set. Secret (it holds passwords).
   * @default 'rabbit://'
   */
  readonly transport_url: string;
  /**
   * Default exchange for RPC and notifications. Services change the default in code (nova
   * uses `nova`), so set it to match the Python services you talk to.
   * @default 'openstack'
   */
  readonly control_exchange: string;
  /**
   * Default `call()` timeout in seconds; also sent as the AMQP `expiration` of requests.
   * @default 60
   */
  readonly rpc_response_timeout: number;
  /**
   * Most handlers an RPC or notification server runs at once (threading executor).
   * Also read as `[DEFAULT] rpc_thread_pool_size`.
   * @default 64
   */
  readonly executor_thread_pool_size: number;
  /**
   * Servers answer the built-in `oslo_rpc_server_ping` method with `"pong"`.
   * @default false
   */
  readonly rpc_ping_enabled: boolean;
}

/** The `[oslo_messaging_notifications]` options. */
export interface NotificationOptions {
  /**
   * Notification drivers (`messagingv2`, `messaging`, `log`, `routing`, `test`, `noop`).
   * Empty means the notifier sends nothing. A multi-valued option: one `driver =` line per
   * driver. Also read as `[DEFAULT] notification_driver`.
   * @default []
   */
  readonly driver: readonly string[];
  /**
   * Transport URL for notifications; `undefined` falls back to `[DEFAULT] transport_url`.
   * Also read as `[DEFAULT] notification_transport_url`. Secret.
   * @default undefined
   */
  readonly transport_url: string | undefined;
  /**
   * Topics every notification is published to (one publish per topic). Also read as
   * `[rpc_notifier2] topics` and `[DEFAULT] notification_topics`.
   * @default ['notifications']
   */
  readonly topics: readonly string[];
  /**
   * Publish retries after a connection error: -1 retries forever, 0 never.
   * @default -1
   */
  readonly retry: number;
  /**
   * YAML file of the `routing` notification driver. Also read as
   * `[DEFAULT] routing_notifier_config`.
   * @default ''
   */
  readonly routing_config: string;
}

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
  /** *wire*: `x-expires` (seconds, ×1000 on the wire) of reply and fanout queues. @default 1800 */
  readonly rabbit_transient_queues_ttl: number;
  /** *wire*: `basic.qos` prefetch count of consumers; 0 sends no `basic.qos`. @default 0 */
  readonly rabbit_qos_prefetch_count: number;
  /** *wire*: AMQP heartbeat in seconds, sent in `tune-ok`; 0 disables heartbeats. @default 60 */
  readonly heartbeat_timeout_threshold: number;
  /** How many times per `heartbeat_timeout_threshold` the heartbeat is checked. @default 2 */
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
  /** Check the broker's host name against its certificate when `ssl_ca_file` is set. @default false */
  readonly ssl_enforce_hostname_verification: boolean;
  /** Require OpenSSL FIPS mode. @default false */
  readonly ssl_enforce_fips_mode: boolean;
  /** Python threading model of the heartbeat; accepted and ignored here. @default false */
  readonly heartbeat_in_pthread: boolean;
}

/** The `[oslo_messaging_metrics]` options: local to a process, never on the wire. */
export interface MetricsOptions {
  /** Send RPC metrics to an oslo.metrics collector. @default false */
  readonly metrics_enabled: boolean;
  /** Metrics buffered before they are dropped. @default 1000 */
  readonly metrics_buffer_size: number;
  /** Unix socket of the collector. @default '/var/tmp/metrics_collector.sock' */
  readonly metrics_socket_file: string;
  /** Process name reported with the metrics. @default '' */
  readonly metrics_process_name: string;
  /** Seconds after the last send before the sender stops. @default 10 */
  readonly metrics_thread_stop_timeout: number;
}

/** The typed options of every group this library knows, by group name. */
export interface ConfigGroups {
  DEFAULT: DefaultOptions;
  oslo_messaging_notifications: NotificationOptions;
  oslo_messaging_rabbit: RabbitOptions;
  oslo_messaging_metrics: MetricsOptions;
}
