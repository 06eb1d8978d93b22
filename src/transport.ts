/**
 * Transports: one connection to a messaging backend, chosen by a URL, and the façade
 * that is the only caller of a driver (as oslo's `transport.py`).
 *
 * @module
 */
import { EventEmitter } from 'node:events';

import { Config, type ConfigInput } from './config/config.js';
import type {
  ConnectionEvent,
  DriverCapabilities,
  DriverDescriptor,
  DriverListener,
  IncomingMessage,
  MessageHeaders,
  NotificationBinding,
  RpcIncomingMessage,
  TransportDriver,
} from './drivers/driver.js';
import { findDriver } from './drivers/registry.js';
import { ConfigurationError, InvalidTarget, TransportClosed } from './errors.js';
import { defaultLogger, type Logger } from './log.js';
import type { Target } from './target.js';
import { TransportHooks, type ReportFailure, type TransportHook } from './transport-hooks.js';
import {
  ConnectionStates,
  publicEvent,
  type TransportEventMap,
  type TransportStatus,
} from './transport-status.js';
import { TransportURL } from './transport-url.js';
import type {
  TransportNotifyOptions,
  TransportOptions,
  TransportSendOptions,
  TransportServer,
} from './transport-options.js';
import { publishRejected, publishStatus } from './observability/diagnostics.js';
import { observabilityHooks } from './observability/hooks.js';
import { asLogger } from './observability/structured-log.js';
import type { NotificationMessage, RequestContext, RpcReply, RpcRequest } from './wire/messages.js';
import type { RemoteExceptionRegistry } from './wire/remote-error.js';

export type {
  TransportNotifyOptions,
  TransportOptions,
  TransportSendOptions,
  TransportServer,
} from './transport-options.js';

const NO_HEADERS: MessageHeaders = Object.freeze({});

/** A target as drivers get it: a topic, and the exchange resolved. */
type ResolvedTarget = Target & { readonly topic: string; readonly exchange: string };

/**
 * A connection to a messaging backend. Create one with {@link getRpcTransport} or
 * {@link getNotificationTransport}; share it between clients, servers and
 * notifiers; call {@link Transport.cleanup} when done.
 *
 * It is the only caller of its driver: it checks targets, resolves defaults, owns the
 * closed state ({@link TransportClosed}), reports the connections' state
 * ({@link Transport.status} and events) and stops every server on `cleanup()`.
 *
 * @example
 * ```ts
 * import { getRpcTransport } from 'oslo-messaging';
 *
 * const transport = getRpcTransport('fake://');
 * transport.on('status', (status) => console.log('transport is', status));
 * await transport.cleanup(); // transport is closed
 * ```
 */
export class Transport extends EventEmitter<TransportEventMap> {
  /** The URL this transport connects to (its `toString()` masks passwords). */
  readonly url: TransportURL;
  /** The resolved configuration. */
  readonly conf: Config;
  /** The logger of this transport and everything built on it. */
  readonly logger: Logger;
  /** What this transport's driver can do, under its options. */
  readonly capabilities: DriverCapabilities;
  readonly #descriptor: DriverDescriptor<unknown>;
  readonly #settings: unknown;
  readonly #allowedRemoteExmods: readonly string[];
  readonly #remoteExceptions: RemoteExceptionRegistry;
  readonly #servers = new Set<TransportServer>();
  readonly #states = new ConnectionStates();
  readonly #hooks: TransportHooks;
  readonly #resolvedTargets = new WeakMap<Target, ResolvedTarget>();
  #driver: Promise<TransportDriver> | undefined;
  /** The driver once {@link #driver} resolved. */
  #loaded: TransportDriver | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #status: TransportStatus = 'idle';
  #rejected = 0;

  /**
   * @internal Use {@link getTransport} and friends.
   * @throws DriverLoadFailure for an unknown scheme; ConfigurationError for bad options
   */
  constructor(url: TransportURL, conf: Config, options: TransportOptions) {
    super();
    this.url = url;
    this.conf = conf;
    this.logger = options.logger === undefined ? defaultLogger : asLogger(options.logger);
    this.#hooks = new TransportHooks(this.logger);
    this.#descriptor = options.driver ?? findDriver(url.driverName);
    this.#settings = this.#descriptor.settings(url, conf, this.logger);
    this.capabilities = Object.freeze({ ...this.#descriptor.capabilities(this.#settings) });
    this.#allowedRemoteExmods = Object.freeze([...(options.allowedRemoteExmods ?? [])]);
    this.#remoteExceptions = options.remoteExceptions ?? {};
    for (const hook of observabilityHooks(this, options)) this.#hooks.add(hook);
  }

  /** Whether this transport's driver can requeue notifications (`allowRequeue`). */
  get supportsRequeue(): boolean {
    return this.capabilities.requeue;
  }

  /** The control exchange: the default exchange of targets that name none. */
  get controlExchange(): string {
    return this.conf.defaults().control_exchange;
  }

  /** The default call timeout in ms (`[DEFAULT] rpc_response_timeout`). */
  get defaultTimeoutMs(): number {
    return this.conf.defaults().rpc_response_timeout * 1000;
  }

  /** Where the transport is; see {@link TransportStatus}. Changes are emitted as `status`. */
  get status(): TransportStatus {
    return this.#status;
  }

  /**
   * How many delivered messages the driver rejected as malformed since the transport was
   * made (each is also emitted as `rejected`).
   */
  get rejectedMessages(): number {
    return this.#rejected;
  }

  /** Whether `cleanup()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Send an RPC request (see the driver contract for what it resolves with). */
  async _send(
    target: Target,
    ctxt: RequestContext,
    message: RpcRequest,
    options: TransportSendOptions,
  ): Promise<unknown> {
    const call = options.call;
    const topic = target.topic;
    if (topic === undefined) throw new InvalidTarget('A topic is required to send', target);
    if (call !== undefined && target.fanout === true) {
      throw new InvalidTarget('A call cannot be used with fanout', target);
    }
    const signal = options.signal;
    signal?.throwIfAborted();
    let driver = this.#readyDriver('rpc');
    if (driver === undefined) {
      driver = await this.#driverFor('rpc');
      signal?.throwIfAborted();
    }
    const resolved = this.#resolved(target, topic);
    const annotated = this.#hooks.annotateRpc(
      call !== undefined,
      target,
      resolved.exchange,
      topic,
      ctxt,
      message,
    );
    const headers = annotated?.headers ?? NO_HEADERS;
    const sent = annotated?.ctxt ?? ctxt;
    const done = annotated?.done;
    try {
      const result = await driver.send({
        target: resolved,
        ctxt: sent,
        message,
        headers,
        retry: options.retry ?? -1,
        atLeastOnce: options.atLeastOnce === true,
        signal,
        timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs,
        reply: call,
      });
      done?.(undefined);
      return result;
    } catch (err) {
      const error = this.#closedError(err);
      done?.(error);
      throw error;
    }
  }

  /** @internal Publish a notification to `<topic>.<priority>`. */
  async _sendNotification(
    target: Target,
    ctxt: RequestContext,
    message: NotificationMessage,
    options: TransportNotifyOptions,
  ): Promise<void> {
    const topic = target.topic;
    if (topic === undefined) {
      throw new InvalidTarget('A topic is required to send a notification', target);
    }
    options.signal?.throwIfAborted();
    const driver = this.#readyDriver('notify') ?? (await this.#driverFor('notify'));
    const resolved = this.#resolved(target, topic);
    const annotated = this.#hooks.annotateNotification(
      target,
      resolved.exchange,
      topic,
      ctxt,
      message,
    );
    const headers = annotated?.headers ?? NO_HEADERS;
    const sent = annotated?.ctxt ?? ctxt;
    const done = annotated?.done;
    try {
      await driver.sendNotification({
        target: resolved,
        ctxt: sent,
        message,
        version: options.version,
        headers,
        retry: options.retry,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
      done?.(undefined);
    } catch (err) {
      const error = this.#closedError(err);
      done?.(error);
      throw error;
    }
  }

  /** @internal Send an RPC server's reply to `message` (hooks see it as a `reply`). */
  _reply(message: RpcIncomingMessage, reply: RpcReply): Promise<void> {
    return this.#hooks.reply(message, reply);
  }

  /**
   * @internal Handle delivered `messages` (one, or a batch) with `fn`, observed by the
   * hooks (tracing runs it in the message's trace context). `fn` reports a failure it
   * does not throw with `fail`; `requeued` says which messages went back to the queue.
   * Without hooks it just calls `fn`.
   */
  _process<T>(
    messages: readonly IncomingMessage[],
    fn: (fail: ReportFailure) => Promise<T>,
    requeued?: (result: T, message: IncomingMessage) => boolean,
  ): Promise<T> {
    // Without an observer of these messages (no hook was active at delivery) this is
    // one lookup, then `fn` itself.
    return this.#hooks.process(messages, fn, requeued);
  }

  /** @internal A driver listener for an RPC server's target. */
  async _listen(target: Target, maxUnsettled: number): Promise<DriverListener<RpcIncomingMessage>> {
    const topic = target.topic;
    if (topic === undefined) throw new InvalidTarget('A server needs a topic to listen on', target);
    const driver = await this.#driverFor('rpc');
    const resolved = this.#resolved(target, topic);
    return this.#hooks.observe('rpc', driver.listen({ target: resolved, maxUnsettled }), resolved);
  }

  /**
   * @internal A driver listener for notifications on every (target, priority) pair.
   * @throws MessagingException when `requeue` is asked of a driver that can't
   */
  async _listenForNotifications(
    bindings: readonly { readonly target: Target; readonly priority: string }[],
    options: { pool: string | undefined; tap: boolean; maxUnsettled: number },
  ): Promise<DriverListener> {
    const resolved: NotificationBinding[] = bindings.map(({ target, priority }) => {
      const topic = target.topic;
      if (topic === undefined) {
        throw new InvalidTarget('A notification listener needs a topic', target);
      }
      return { target: this.#resolved(target, topic), priority: priority.toLowerCase() };
    });
    const driver = await this.#driverFor('notify');
    return this.#hooks.observe(
      'notification',
      driver.listenForNotifications({ bindings: resolved, ...options }),
    );
  }

  /** @internal Register a running server, so that `cleanup()` stops it. */
  _register(server: TransportServer): void {
    this.#servers.add(server);
  }

  /** @internal The server has finished (its `wait()` returned). */
  _unregister(server: TransportServer): void {
    this.#servers.delete(server);
  }

  /** @internal Add a hook (tracing, metrics). */
  _addHook(hook: TransportHook): void {
    this.#hooks.add(hook);
  }

  /** @internal The driver instance, loaded on first use (driver-specific tests). */
  _loadDriver(): Promise<TransportDriver> {
    return this.#driverFor('notify');
  }

  /** @internal Throw {@link TransportClosed} when closed. */
  _checkOpen(): void {
    if (this.#closed) throw new TransportClosed();
  }

  /**
   * Close every connection of this transport. Servers and listeners on it stop first
   * (their state is no longer `running`); calls still waiting for a reply reject with
   * {@link TransportClosed}. Idempotent: a second call waits for the first.
   */
  cleanup(): Promise<void> {
    this.#closing ??= this.#cleanup();
    return this.#closing;
  }

  async #cleanup(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#servers].map((server) => server.onTransportClosed()));
    const driver = this.#driver;
    if (driver !== undefined) {
      try {
        await (await driver).cleanup();
      } catch (err) {
        this.logger.warn('Error while cleaning up the transport', { err });
      }
    }
    this.#states.clear();
    this.#setStatus('closed');
    this.emit('closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  /** The driver, loaded and created on first use. */
  #driverFor(use: 'rpc' | 'notify'): Promise<TransportDriver> {
    if (this.#closed) return Promise.reject(new TransportClosed());
    if (use === 'rpc' && !this.capabilities.rpc) {
      return Promise.reject(
        new ConfigurationError(`The ${this.url.driverName} transport driver does not do RPC`),
      );
    }
    this.#driver ??= this.#descriptor.load().then((factory) => {
      const driver = factory({
        url: this.url,
        conf: this.conf,
        settings: this.#settings,
        capabilities: this.capabilities,
        logger: this.logger,
        allowedRemoteExmods: this.#allowedRemoteExmods,
        remoteExceptions: this.#remoteExceptions,
        onConnectionEvent: (event) => this.#onConnectionEvent(event),
      });
      this.#loaded = driver;
      return driver;
    });
    return this.#driver;
  }

  /**
   * The driver when it is loaded and may serve `use` now: sends then skip a wait on an
   * already settled promise. `undefined` otherwise ({@link #driverFor} says why).
   */
  #readyDriver(use: 'rpc' | 'notify'): TransportDriver | undefined {
    if (this.#closed || (use === 'rpc' && !this.capabilities.rpc)) return undefined;
    return this.#loaded;
  }

  /** The target with its exchange resolved (memoised: clients reuse their targets). */
  #resolved(target: Target, topic: string): ResolvedTarget {
    void topic; // checked by the caller: the type says so
    if (target.exchange !== undefined) return target as ResolvedTarget;
    let resolved = this.#resolvedTargets.get(target);
    if (resolved === undefined) {
      resolved = target.with({ exchange: this.controlExchange }) as ResolvedTarget;
      this.#resolvedTargets.set(target, resolved);
    }
    return resolved;
  }

  /** After cleanup, whatever the driver failed with becomes `TransportClosed`. */
  #closedError(err: unknown): unknown {
    if (!this.#closed || err instanceof TransportClosed) return err;
    return new TransportClosed({ cause: err });
  }

  #onConnectionEvent(event: ConnectionEvent): void {
    if (event.type === 'rejected') {
      this.#rejected += 1;
      publishRejected(this, event);
    }
    const status = this.#states.apply(event);
    const named = publicEvent(event);
    if (named !== undefined) {
      const [name, ...args] = named;
      this.#emitSafely(name as 'connected', ...(args as TransportEventMap['connected']));
    }
    if (!this.#closed) this.#setStatus(status);
  }

  #setStatus(status: TransportStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    publishStatus(this, status);
    this.#emitSafely('status', status);
  }

  #emitSafely<K extends keyof TransportEventMap>(event: K, ...args: TransportEventMap[K]): void {
    try {
      (this.emit as (e: K, ...a: TransportEventMap[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error('A "%s" listener of the transport threw', event, { err });
    }
  }

  /** `RPCTransport(rabbit://nova:***@ctl1:5672/)`: passwords masked, safe to log. */
  override toString(): string {
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
 * ```ts check-only
 * import { Config, getRpcTransport } from 'oslo-messaging';
 *
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
