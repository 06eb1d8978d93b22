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
  /**
   * Set when the option is accepted but has no effect in this library, saying why (a
   * Python thread pool, a driver this library does not have). Setting it is reported once.
   */
  readonly inert?: string;
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
  oslo_messaging_metrics: MetricsOptions;
}

/** One row of a group's table, its `type` and `default` tied to the typed interface. */
export interface OptionSpec<T = unknown> {
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
  readonly inert?: string;
}

/** A group's table must list exactly the keys of its interface, with matching defaults. */
export type GroupSpec<T> = { readonly [K in keyof T]-?: OptionSpec<T[K]> };
