/**
 * Transports: one connection to a messaging backend, chosen by a URL.
 *
 * @module
 */
import { Config, type ConfigInput } from './config.js';
import type { Driver } from './drivers/driver.js';
import { findDriver, loadDriver } from './drivers/registry.js';
import type { RemoteExceptionRegistry } from './wire/remote-error.js';
import { MessagingException } from './errors.js';
import { defaultLogger, type Logger } from './log.js';
import { TransportURL } from './transport-url.js';

/** Options for {@link getTransport} and its RPC and notification variants. */
export interface TransportOptions {
  /**
   * The transport URL. Overrides `[DEFAULT] transport_url` (or, for a notification
   * transport, `[oslo_messaging_notifications] transport_url`).
   */
  url?: string | TransportURL | undefined;
  /**
   * Modules whose remote errors an RPC client may rebuild as local classes (oslo's
   * `allowed_remote_exmods`). Errors from any other module arrive as `RemoteError`.
   * @default []
   */
  allowedRemoteExmods?: readonly string[] | undefined;
  /**
   * The local error classes, by module and class name, that remote failures from
   * an allowed module are rebuilt as. Nothing outside this registry is ever built.
   * @default {}
   */
  remoteExceptions?: RemoteExceptionRegistry | undefined;
  /** Where this transport and its servers log. @default warnings and errors to stderr */
  logger?: Logger | undefined;
}

/**
 * A connection to a messaging backend. Create one with {@link getRpcTransport} or
 * {@link getNotificationTransport}; share it between clients, servers and
 * notifiers; call {@link Transport.cleanup} when done.
 */
export class Transport {
  /** The URL this transport connects to (its `toString()` masks passwords). */
  readonly url: TransportURL;
  /** The resolved configuration. */
  readonly conf: Config;
  /** The logger of this transport and everything built on it. */
  readonly logger: Logger;
  readonly #allowedRemoteExmods: readonly string[];
  readonly #remoteExceptions: RemoteExceptionRegistry;
  #driver: Promise<Driver> | undefined;
  #closed = false;

  /** @internal Use {@link getTransport} and friends. */
  constructor(url: TransportURL, conf: Config, options: TransportOptions) {
    findDriver(url.driverName).validate(url, conf);
    this.url = url;
    this.conf = conf;
    this.logger = options.logger ?? defaultLogger;
    this.#allowedRemoteExmods = Object.freeze([...(options.allowedRemoteExmods ?? [])]);
    this.#remoteExceptions = options.remoteExceptions ?? {};
  }

  /** Whether this transport's driver can requeue notifications (`allowRequeue`). */
  get supportsRequeue(): boolean {
    return findDriver(this.url.driverName).supportsRequeue;
  }

  /** The control exchange: the default exchange of targets that name none. */
  get controlExchange(): string {
    return this.conf.defaults().control_exchange;
  }

  /** @internal The driver, loaded and created on first use. */
  _driver(): Promise<Driver> {
    if (this.#closed) {
      return Promise.reject(new MessagingException('The transport is closed'));
    }
    this.#driver ??= loadDriver(this.url.driverName).then((factory) =>
      factory({
        url: this.url,
        conf: this.conf,
        logger: this.logger,
        allowedRemoteExmods: this.#allowedRemoteExmods,
        remoteExceptions: this.#remoteExceptions,
      }),
    );
    return this.#driver;
  }

  /** Close every connection of this transport. Pending calls reject. Idempotent. */
  async cleanup(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const driver = this.#driver;
    if (driver === undefined) return;
    await (await driver).cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  /** `RPCTransport(rabbit://nova:***@ctl1:5672/)`: passwords masked, safe to log. */
  toString(): string {
    return `${this.constructor.name}(${String(this.url)})`;
  }
}

/** A transport for RPC clients and servers. */
export class RPCTransport extends Transport {}

/** A transport for notifiers and notification listeners. */
export class NotificationTransport extends Transport {}

function resolve(
  conf: ConfigInput | string | undefined,
  options: TransportOptions,
  notifications: boolean,
): { url: TransportURL; conf: Config } {
  const config = typeof conf === 'string' ? Config.from() : Config.from(conf);
  const given = typeof conf === 'string' ? conf : options.url;
  let url: string | TransportURL;
  if (given !== undefined) {
    url = given;
  } else {
    const notificationUrl = notifications ? config.notifications().transport_url : undefined;
    url = notificationUrl ?? config.defaults().transport_url;
  }
  return { url: typeof url === 'string' ? TransportURL.parse(url) : url, conf: config };
}

/**
 * A transport from configuration: `conf` is a {@link Config}, a plain object of oslo
 * options by group, or simply a transport URL.
 *
 * @throws InvalidTransportURL for a URL that can't be parsed
 * @throws DriverLoadFailure for an unknown scheme
 * @throws ConfigurationError for a bad option, in `conf` or in the URL's query
 *
 * @example
 * ```ts
 * const transport = getRpcTransport('rabbit://nova:secret@ctl1:5672,nova:secret@ctl2:5672/');
 * const fromNovaConf = getRpcTransport(await Config.fromFiles(['/etc/nova/nova.conf']));
 * ```
 */
export function getTransport(
  conf?: ConfigInput | string,
  options: TransportOptions = {},
): Transport {
  const r = resolve(conf, options, false);
  return new Transport(r.url, r.conf, options);
}

/** A transport for RPC, from `[DEFAULT] transport_url` unless a URL is given. */
export function getRpcTransport(
  conf?: ConfigInput | string,
  options: TransportOptions = {},
): RPCTransport {
  const r = resolve(conf, options, false);
  return new RPCTransport(r.url, r.conf, options);
}

/**
 * A transport for notifications, from `[oslo_messaging_notifications] transport_url`,
 * falling back to `[DEFAULT] transport_url`, unless a URL is given.
 */
export function getNotificationTransport(
  conf?: ConfigInput | string,
  options: TransportOptions = {},
): NotificationTransport {
  const r = resolve(conf, options, true);
  return new NotificationTransport(r.url, r.conf, options);
}
