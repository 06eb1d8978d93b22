/**
 * The lifecycle half of the resilient RabbitMQ connection (see `connection.ts`): one AMQP
 * connection and one channel, reconnect, multi-host failover and consumer recovery, as
 * oslo.messaging does them with kombu.
 *
 * @module
 */
import { EventEmitter } from 'node:events';

import { MessageDeliveryFailure } from '../../errors.js';
import type { Logger } from '../../log.js';
import { deferred } from '../../util/async.js';
import { ChannelSlot, type BlockedBound, type ExchangeDeclaration } from './connection-channel.js';
import { ChannelLost, ConnectionClosedError, errorText } from './connection-errors.js';
import { ConsumerRegistry } from './connection-consumers.js';
import { HostCycle, type RabbitHost } from './connection-failover.js';
import { closeAmqpConnection, openAmqpConnection, type AmqpConnection } from './connection-open.js';
import {
  resolveOptions,
  toStateEvent,
  type ConnectionOptions,
  type ConnectionStatus,
  type Declarer,
  type OperationOptions,
  type RabbitConnectionEvents,
  type RabbitEndpoint,
  type ResolvedOptions,
} from './connection-types.js';
import { RecoveryLoop } from './connection-recovery.js';
import { OpGuard, RetryBudget } from './connection-wait.js';

const endpointOf = (h: RabbitHost): RabbitEndpoint => ({ hostname: h.hostname, port: h.port });
const hostText = (h: RabbitHost): string => `${h.hostname}:${h.port}`;

/**
 * The lifecycle of a {@link RabbitConnection}: connecting, failover, recovery after a
 * loss, the channel operations run on, blocked publishing, events and close. The
 * operations themselves (publish, declare, consume, settle) are in `connection.ts`.
 */
export abstract class ConnectionCore extends EventEmitter<RabbitConnectionEvents> {
  protected readonly opts: ResolvedOptions;
  protected readonly log: Logger;
  readonly #hosts: HostCycle;
  readonly #recovery: RecoveryLoop<ChannelSlot>;
  protected readonly consumers: ConsumerRegistry;
  #conn: AmqpConnection | undefined;
  /** The channel operations use; set once fully set up (topology, consumers). */
  #slot: ChannelSlot | undefined;
  #status: ConnectionStatus = 'idle';
  #everConnected = false;
  #blocked = false;
  #blockedReason = '';
  /** Publishes with a finite retry budget waiting while blocked (see #boundWhileBlocked). */
  readonly #blockWatchers = new Set<() => void>();
  #closing = false;
  /** Whether `close()` was called. */
  protected get isClosing(): boolean {
    return this.#closing;
  }
  #closePromise: Promise<void> | undefined;
  readonly #closed = deferred();
  protected readonly knownExchanges = new Map<string, ExchangeDeclaration>();

  constructor(options: ConnectionOptions) {
    super();
    this.opts = resolveOptions(options);
    this.log = this.opts.logger;
    this.#hosts = new HostCycle(
      options.hosts,
      this.opts.failoverStrategy,
      this.opts.randomizeHostOrder,
    );
    this.consumers = new ConsumerRegistry(
      {
        closing: () => this.#closing,
        brokerCancelled: (queue, slot) => this.#onBrokerCancel(queue, slot),
        shrunk: () => this.#recovery.demandChanged(),
      },
      this.log,
    );
    this.#recovery = new RecoveryLoop<ChannelSlot>(
      {
        ready: () => this.#readySlot(),
        needed: () => this.consumers.size > 0 || this.opts.onReconnect !== undefined,
        closing: () => this.#closing,
        nextHost: () => (this.#conn?.open === true ? this.#conn.host : this.#hosts.current()),
        attempt: () => this.#attempt(),
        install: (slot) => this.#install(slot),
        failed: (error, host, delayMs) => this.#attemptFailed(error, host, delayMs),
        exhausted: (budget, host, cause) => this.exhausted(budget, host, cause),
        running: (active) => {
          if (active) this.#status = this.#everConnected ? 'reconnecting' : 'connecting';
          else this.#status = this.#everConnected ? 'disconnected' : 'idle';
        },
      },
      this.opts,
    );
  }

  /** The `connection_name` client property. */
  get connectionName(): string {
    return this.opts.connectionName;
  }

  /** The logger this connection reports to (for the declarations made on it). */
  get logger(): Logger {
    return this.log;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Whether the broker has blocked publishing on this connection (resource alarm). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** The broker of the live AMQP connection, if any. */
  get endpoint(): RabbitEndpoint | undefined {
    return this.#conn === undefined ? undefined : endpointOf(this.#conn.host);
  }

  /**
   * The channel operations would use right now without waiting, as an opaque token (a new
   * channel is a new token), or `undefined` when there is none. Declarations are cached
   * per channel: what a caller saw declared under one token needs no declaring again
   * while the same token is ready. @internal
   */
  get readyChannel(): object | undefined {
    return this.fastSlot();
  }

  /** Resolves once the connection is up (connecting if needed), within the bounds given. */
  async connect(options: OperationOptions = {}): Promise<void> {
    await this.withSlot(options, 'connect', async () => undefined);
  }

  /**
   * Closes the channel, then the connection; consumers are not cancelled first (the
   * broker requeues unacknowledged messages), as oslo. Pending operations reject with
   * `ConnectionClosedError`. Idempotent; resolves when everything is released.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#shutdown();
    return this.#closePromise;
  }

  /** Resolves after `close()` completed. */
  closed(): Promise<void> {
    return this.#closed.promise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The connection's declarations, run on `slot` (what `onReconnect` gets). */
  protected abstract declarerOn(slot: ChannelSlot): Declarer;

  // ---- waiting for the channel ----

  /** The ready channel, if there is one now (a synchronous fast path for publish). */
  protected fastSlot(): ChannelSlot | undefined {
    return this.#readySlot();
  }

  #readySlot(): ChannelSlot | undefined {
    const slot = this.#slot;
    return slot !== undefined && slot.open ? slot : undefined;
  }

  /**
   * The channel to use now: `on` when given (for `onReconnect`, the one being set up: if it
   * died, the attempt fails and is retried as a whole, so this must not wait for the loop
   * that runs it); otherwise the ready one, or wait for one within the budget.
   */
  protected async slotFor(
    budget: RetryBudget,
    guard: OpGuard,
    on?: ChannelSlot,
  ): Promise<ChannelSlot> {
    if (on !== undefined) {
      if (on.open) return on;
      throw new MessageDeliveryFailure('The AMQP channel closed during onReconnect', {
        cause: on.closeReason,
      });
    }
    if (this.#closing) throw new ConnectionClosedError();
    const ready = this.#readySlot();
    if (ready !== undefined) return ready;
    const wait = this.#recovery.waitForSlot(budget);
    try {
      return await guard.race(wait.promise);
    } finally {
      wait.cancel();
    }
  }

  /**
   * Runs `op` on a live channel (`on`, when given), again on the next one if the channel
   * was lost (budget allowing).
   */
  protected async withSlot<T>(
    options: OperationOptions,
    what: string,
    op: (slot: ChannelSlot) => Promise<T>,
    on?: ChannelSlot,
  ): Promise<T> {
    if (this.#closing) throw new ConnectionClosedError();
    const guard = new OpGuard(options.signal, options.timeoutMs, what);
    const budget = new RetryBudget(options.retry);
    try {
      for (;;) {
        const slot = await this.slotFor(budget, guard, on);
        try {
          return await guard.race(op(slot));
        } catch (err) {
          if (this.#closing) throw new ConnectionClosedError({ cause: err });
          if (!(err instanceof ChannelLost)) throw err;
          if (!budget.spend()) throw this.exhausted(budget, slot.conn.host, err);
        }
      }
    } finally {
      guard.dispose();
    }
  }

  /**
   * `wait` (a publish's confirm or drain), bounded while the broker blocks this
   * connection: every `heartbeatSeconds` spent blocked uses one retry, and when none is
   * left it rejects with `MessageDeliveryFailure` (the message may still go out after the
   * unblock). Unbounded budgets and heartbeat 0 wait as before, without any cost here.
   */
  protected boundWhileBlocked<T>(
    wait: Promise<T>,
    budget: RetryBudget,
    slot: ChannelSlot,
  ): Promise<T> {
    const limitMs = this.#blockedLimitMs;
    if (budget.retry === Infinity || limitMs <= 0) return wait;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = this.#blocked ? setTimeout(expire, limitMs) : undefined;
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#blockWatchers.delete(arm);
      };
      const expire = (): void => {
        if (budget.spend()) return arm();
        done();
        reject(this.#blockedGiveUp(slot, budget));
      };
      this.#blockWatchers.add(arm);
      arm();
      wait.then(
        (value) => {
          done();
          resolve(value);
        },
        (err: unknown) => {
          done();
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(err);
        },
      );
    });
  }

  /** How long a publish may wait blocked per retry: `heartbeat_timeout_threshold`; 0 for ever. */
  get #blockedLimitMs(): number {
    return this.opts.heartbeatSeconds * 1000;
  }

  #blockedBound(): BlockedBound | undefined {
    const limitMs = this.#blockedLimitMs;
    if (limitMs <= 0) return undefined;
    const slot = this.#slot;
    return {
      limitMs,
      giveUp: (budget) => this.#blockedGiveUp(slot, budget),
    };
  }

  /** Logs and returns the failure of a publish whose retries were used up while blocked. */
  #blockedGiveUp(slot: ChannelSlot | undefined, budget: RetryBudget): MessageDeliveryFailure {
    const host = slot === undefined ? 'the AMQP server' : hostText(slot.conn.host);
    const message =
      `The AMQP server on ${host} has blocked publishing ` +
      `(${this.#blockedReason}); giving up after ${budget.retry + 1} x ` +
      `heartbeat_timeout_threshold (${this.opts.heartbeatSeconds} s)`;
    this.log.error('[%s] %s', this.opts.connectionName, message);
    return new MessageDeliveryFailure(message);
  }

  protected exhausted(
    budget: RetryBudget,
    host: RabbitHost,
    cause: unknown,
  ): MessageDeliveryFailure {
    const message = `Unable to connect to AMQP server on ${hostText(host)} after ${budget.retry} tries: ${errorText(cause)}`;
    this.log.error('[%s] %s', this.opts.connectionName, message);
    return new MessageDeliveryFailure(message, { cause });
  }

  // ---- connecting and recovering ----

  /** One attempt: the connection (reused if still open), a channel, the topology, the consumers. */
  async #attempt(): Promise<ChannelSlot> {
    let conn = this.#conn;
    if (conn === undefined || !conn.open) {
      const host = this.#hosts.current();
      try {
        conn = await openAmqpConnection(host, this.opts, {
          onClose: (c, err) => this.#onConnectionClosed(c, err),
          onBlocked: (_c, reason) => this.#onBlocked(reason),
          onUnblocked: () => this.#onUnblocked(),
          onHandlerError: (err, event) => this.#onHandlerError(err, event),
        });
      } catch (err) {
        this.#hosts.advance();
        throw err;
      }
      if (this.#closing) {
        await closeAmqpConnection(conn, this.opts.closeTimeoutMs);
        throw new ConnectionClosedError();
      }
      this.#conn = conn;
      // As oslo: the first connection at debug level, a reconnection at info.
      const log = this.#everConnected ? 'info' : 'debug';
      this.log[log](
        '[%s] %s AMQP server on %s via [amqp] client with port %s.',
        this.opts.connectionName,
        this.#everConnected ? 'Reconnected to' : 'Connected to',
        hostText(conn.host),
        String(conn.localPort),
      );
    }
    const slot = await ChannelSlot.open(
      conn,
      this.opts.role === 'publish',
      this.opts.prefetch,
      this.log,
      {
        onClosed: (s) => this.#onChannelClosed(s),
        onHandlerError: (err, event) => this.#onHandlerError(err, event),
      },
    );
    try {
      const onReconnect = this.opts.onReconnect;
      if (this.#everConnected && onReconnect !== undefined && !this.#closing) {
        await onReconnect(this.declarerOn(slot));
      }
      await this.consumers.activateAll(slot);
      if (this.#closing) throw new ConnectionClosedError();
    } catch (err) {
      await slot.close(this.opts.closeTimeoutMs);
      throw err;
    }
    return slot;
  }

  #install(slot: ChannelSlot): boolean {
    if (!slot.open || this.#closing) return false;
    this.#slot = slot;
    if (this.#blocked) slot.setBlocked(this.#blockedBound());
    this.#status = 'connected';
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#emit(reconnected ? 'reconnected' : 'connected', endpointOf(slot.conn.host));
    return true;
  }

  #attemptFailed(error: Error, host: RabbitHost, delayMs: number): void {
    this.log.error(
      this.#conn?.open === true
        ? '[%s] Setting up the AMQP channel on %s failed: %s. Trying again in %s seconds.'
        : '[%s] AMQP server on %s is unreachable: %s. Trying again in %s seconds.',
      this.opts.connectionName,
      hostText(host),
      error.message,
      (delayMs / 1000).toFixed(1),
    );
    this.#emit('connect-failed', error, endpointOf(host), delayMs);
  }

  #onChannelClosed(slot: ChannelSlot): void {
    this.consumers.channelClosed(slot);
    if (slot !== this.#slot) return; // a channel still being set up: its attempt fails
    this.#slot = undefined;
    if (this.#closing) return;
    this.#status = 'disconnected';
    this.#recovery.lost(this.opts.reconnectDelayMs + Math.random() * this.opts.reconnectSplayMs);
    // The connection's close event, with the reason, comes right after the channel's.
    queueMicrotask(() => {
      const reason = slot.closeReason;
      this.log.info(
        '[%s] Lost the AMQP channel to %s: %s',
        this.opts.connectionName,
        hostText(slot.conn.host),
        reason.message,
      );
      this.#emit('disconnected', reason);
    });
  }

  #onConnectionClosed(conn: AmqpConnection, err: Error | undefined): void {
    if (this.#conn === conn) this.#conn = undefined;
    if (this.#blocked) this.#onUnblocked();
    if (!this.#closing) {
      this.log.debug(
        '[%s] AMQP connection to %s closed: %s',
        this.opts.connectionName,
        hostText(conn.host),
        err?.message ?? 'by client',
      );
    }
  }

  /**
   * The broker cancelled a consumer (its queue was deleted, an HA failover). As oslo, a
   * recoverable error: drop the connection, reconnect, re-declare, consume again.
   */
  #onBrokerCancel(queue: string, slot: ChannelSlot): void {
    this.log.warn(
      '[%s] The broker cancelled the consumer of queue "%s"; reconnecting',
      this.opts.connectionName,
      queue,
    );
    slot.conn.closeError ??= new Error(`The broker cancelled the consumer of queue "${queue}"`);
    void closeAmqpConnection(slot.conn, this.opts.closeTimeoutMs);
  }

  #onBlocked(reason: string): void {
    this.#blocked = true;
    this.#blockedReason = reason;
    for (const watcher of [...this.#blockWatchers]) watcher();
    this.#slot?.setBlocked(this.#blockedBound());
    this.log.error(
      '[%s] The connection to the AMQP server is blocked: %s',
      this.opts.connectionName,
      reason,
    );
    this.#emit('blocked', reason);
  }

  #onUnblocked(): void {
    this.#blocked = false;
    for (const watcher of [...this.#blockWatchers]) watcher();
    this.#slot?.setBlocked(undefined);
    this.log.info('[%s] The connection to the AMQP server is unblocked', this.opts.connectionName);
    this.#emit('unblocked');
  }

  #onHandlerError(err: unknown, event: string): void {
    this.log.error('Error in an AMQP "%s" event handler: %s', event, errorText(err));
  }

  #emit<K extends keyof RabbitConnectionEvents>(
    event: K,
    ...args: RabbitConnectionEvents[K]
  ): void {
    try {
      (this.emit as (e: K, ...a: RabbitConnectionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error('A "%s" listener of the AMQP connection threw: %s', event, errorText(err));
    }
    const observer = this.opts.onStateEvent;
    if (observer !== undefined) {
      const stateEvent = toStateEvent(this.opts.connectionName, event, args);
      if (stateEvent !== undefined) observer(stateEvent);
    }
  }

  // ---- close ----

  async #shutdown(): Promise<void> {
    this.#closing = true;
    this.#status = 'closing';
    const closedError = new ConnectionClosedError();
    const slot = this.#slot;
    this.#slot = undefined;
    slot?.failInFlight(closedError);
    // An attempt in flight notices `closing` after each step and releases what it opened.
    await this.#recovery.close(closedError, this.opts.closeTimeoutMs);
    if (slot !== undefined) await slot.close(this.opts.closeTimeoutMs);
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) await closeAmqpConnection(conn, this.opts.closeTimeoutMs);
    this.#status = 'closed';
    this.#closed.resolve();
    this.#emit('closed');
  }
}
