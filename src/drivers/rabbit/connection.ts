/**
 * A resilient RabbitMQ connection: one AMQP connection and one channel (a confirm channel
 * for publishing), with reconnect, multi-host failover and consumer recovery done here,
 * as oslo.messaging does them with kombu. This module and the `connection-*.ts` files it
 * alone uses are the only ones that touch the AMQP client library; the rabbit driver
 * builds on the library-neutral API below.
 *
 * Send connections: no pool. The driver shares one publish connection per transport
 * instead of oslo's pool (`rpc_conn_pool_size`, `conn_pool_ttl`): publishes are
 * pipelined on its confirm channel (many in flight, each confirm mapped back to its
 * promise), which gives what a pool gives a blocking Python client (concurrent sends)
 * without a handshake and a confirm round trip per pooled connection.
 *
 * @module
 */
import { ChannelLost, ConnectionClosedError, PublishConfirmLost } from './connection-errors.js';
import { ConnectionCore } from './connection-core.js';
import { OpGuard, RetryBudget } from './connection-wait.js';
import type { ChannelSlot } from './connection-channel.js';
import type {
  ConsumeOptions,
  Declarer,
  Delivery,
  DeliveryHandler,
  OperationOptions,
  PublishOptions,
  PublishProperties,
  RabbitConsumer,
} from './connection-types.js';

export {
  AmqpChannelError,
  ConnectionClosedError,
  PublishConfirmLost,
} from './connection-errors.js';
export { defaultConnectionName } from './connection-open.js';
export type { FailoverStrategy, RabbitHost } from './connection-failover.js';
export type { LoginMethod, RabbitSslOptions } from './connection-open.js';
export type {
  ConnectionOptions,
  ConnectionStatus,
  ConsumeOptions,
  Declarer,
  Delivery,
  DeliveryHandler,
  DeliveryProperties,
  OperationOptions,
  PublishOptions,
  PublishProperties,
  RabbitConnectionEvents,
  RabbitConsumer,
  RabbitEndpoint,
} from './connection-types.js';

/** The flags of an `exchange.declare` and of a `queue.declare`. */
type ExchangeFlags = Parameters<Declarer['declareExchange']>[2];
type QueueFlags = Parameters<Declarer['declareQueue']>[1];

/**
 * One AMQP connection with one channel, kept alive across failures.
 *
 * Guarantees:
 * - Every operation that needs the broker waits for the connection at most for its
 *   `retry` budget (failed connection attempts), its `signal` and its `timeoutMs`, then
 *   rejects with `MessageDeliveryFailure` ("Unable to connect to AMQP server on h:p after
 *   N tries: ..."), the signal's reason or `MessagingTimeout`. Nothing waits unbounded
 *   unless the caller asked for that (`retry` undefined or -1, no signal, no timeout).
 * - After a lost connection or channel (broker restart, forced close, heartbeat timeout,
 *   a channel error, a broker-initiated `basic.cancel`) it reconnects with oslo's
 *   back-off, moving to the next host after each failed attempt, runs `onReconnect`,
 *   resumes every consumer with a fresh tag, then emits `reconnected`. Consume
 *   connections (consumers or `onReconnect`) recover eagerly; a publish connection
 *   reconnects when an operation needs it.
 * - Exchange declarations are remembered: once per channel per exchange name, and a
 *   publish to a remembered exchange on a new channel re-declares it first (oslo).
 * - `ack`/`reject` never throw; for a delivery of a dead channel they do nothing (the
 *   broker already requeued it).
 * - While the broker blocks publishing (a resource alarm), a publish with a finite `retry`
 *   budget counts each `heartbeatSeconds` spent blocked as one failed try (oslo's publish
 *   times out on its socket after that long) and then rejects with
 *   `MessageDeliveryFailure`; with `retry` -1 it waits for the unblock.
 * - `close()` rejects pending operations with `ConnectionClosedError`, closes the channel
 *   then the connection (no `basic.cancel`, as oslo) and leaves no timer or socket.
 */
export class RabbitConnection extends ConnectionCore implements Declarer {
  /**
   * Publishes one message and resolves when the broker confirmed it (`basic.ack`). Needs
   * role `publish`.
   *
   * Always sends `content_type` application/json, `content_encoding` utf-8,
   * `delivery_mode` 2, `priority` 0 and the headers table (even empty), like oslo. Many
   * publishes may be in flight at once; when the channel's write buffer is full, later
   * ones wait for it to drain.
   *
   * Rejects with `MessageUndeliverable` when `mandatory` and no queue took it,
   * `MessageDeliveryFailure` when the broker nacked it or the retry budget ran out,
   * `PublishConfirmLost` when the channel died before the confirm (unless
   * `republishUnconfirmed`), `AmqpChannelError` when the broker refused it (404 no such
   * exchange), `ConnectionClosedError` after `close()`, the signal's reason or
   * `MessagingTimeout`. After an abort or timeout the message may still be delivered.
   */
  async publish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    properties: PublishProperties,
    options: PublishOptions = {},
  ): Promise<void> {
    if (this.isClosing) throw new ConnectionClosedError();
    if (this.opts.role !== 'publish') {
      throw new TypeError('publish() needs a connection with role "publish" (a confirm channel)');
    }
    const guard = new OpGuard(options.signal, options.timeoutMs, 'publish');
    const budget = new RetryBudget(options.retry);
    const request = {
      exchange,
      routingKey,
      body,
      expiration: properties.expiration,
      headers: properties.headers,
      mandatory: properties.mandatory,
      // Time spent blocked uses retries of a finite budget (see BlockedBound).
      blockedBudget: budget.retry === Infinity ? undefined : budget,
    };
    try {
      for (;;) {
        const slot = this.fastSlot() ?? (await this.slotFor(budget, guard));
        try {
          const known = this.knownExchanges.get(exchange);
          if (known !== undefined && !slot.hasDeclaredExchange(exchange)) {
            await guard.race(slot.declareExchange(known));
          }
          const drained = slot.drained;
          if (drained !== undefined) {
            await guard.race(this.boundWhileBlocked(drained, budget, slot));
            if (!slot.open) throw new ChannelLost();
          }
          await guard.race(slot.publish(request));
          return;
        } catch (err) {
          if (this.isClosing) throw new ConnectionClosedError({ cause: err });
          if (err instanceof ChannelLost) {
            if (!budget.spend()) throw this.exhausted(budget, slot.conn.host, err);
            continue;
          }
          if (err instanceof PublishConfirmLost && options.republishUnconfirmed === true) {
            if (!budget.spend()) throw err;
            this.log.debug(
              '[%s] Publishing again a message whose confirm was lost: %s',
              this.opts.connectionName,
              slot.closeReason.message,
            );
            continue;
          }
          throw err;
        }
      }
    } finally {
      guard.dispose();
    }
  }

  /**
   * Declares an exchange, once per channel: a repeat with the same flags resolves without
   * a round trip. Remembered for publishes: after a reconnect the next publish to it
   * declares it again first. Rejects with `AmqpChannelError` (e.g. 406 when it exists
   * with other flags; the channel is then replaced).
   */
  declareExchange(
    name: string,
    type: string,
    flags: ExchangeFlags,
    options: OperationOptions = {},
  ): Promise<void> {
    return this.#declareExchange(name, type, flags, options, undefined);
  }

  async #declareExchange(
    name: string,
    type: string,
    flags: ExchangeFlags,
    options: OperationOptions,
    on: ChannelSlot | undefined,
  ): Promise<void> {
    const declaration = { name, type, durable: flags.durable, autoDelete: flags.autoDelete };
    await this.withSlot(
      options,
      'exchange.declare',
      (slot) => slot.declareExchange(declaration),
      on,
    );
    // Only what the broker accepted: a refused declaration is not repeated on new channels.
    this.knownExchanges.set(name, declaration);
  }

  /** Declares a queue, once per channel (same flags and arguments). */
  declareQueue(name: string, flags: QueueFlags, options: OperationOptions = {}): Promise<void> {
    return this.#declareQueue(name, flags, options, undefined);
  }

  async #declareQueue(
    name: string,
    flags: QueueFlags,
    options: OperationOptions,
    on: ChannelSlot | undefined,
  ): Promise<void> {
    const declaration = {
      name,
      durable: flags.durable,
      autoDelete: flags.autoDelete,
      exclusive: flags.exclusive ?? false,
      arguments: flags.arguments ?? {},
    };
    await this.withSlot(options, 'queue.declare', (slot) => slot.declareQueue(declaration), on);
  }

  /** Binds a queue to an exchange, once per channel. */
  bindQueue(
    queue: string,
    exchange: string,
    routingKey: string,
    options: OperationOptions = {},
  ): Promise<void> {
    return this.#bindQueue(queue, exchange, routingKey, options, undefined);
  }

  async #bindQueue(
    queue: string,
    exchange: string,
    routingKey: string,
    options: OperationOptions,
    on: ChannelSlot | undefined,
  ): Promise<void> {
    await this.withSlot(
      options,
      'queue.bind',
      (slot) => slot.bindQueue(queue, exchange, routingKey),
      on,
    );
  }

  protected override declarerOn(slot: ChannelSlot): Declarer {
    return {
      connectionName: this.connectionName,
      logger: this.logger,
      declareExchange: (name, type, flags, options = {}) =>
        this.#declareExchange(name, type, flags, options, slot),
      declareQueue: (name, flags, options = {}) => this.#declareQueue(name, flags, options, slot),
      bindQueue: (queue, exchange, routingKey, options = {}) =>
        this.#bindQueue(queue, exchange, routingKey, options, slot),
    };
  }

  /**
   * Deletes a queue. Our own consumers of it end quietly (the broker's `basic.cancel`
   * for them is expected, not a failure to recover from).
   */
  async deleteQueue(name: string, options: OperationOptions = {}): Promise<void> {
    this.consumers.queueDeleted(name);
    await this.withSlot(options, 'queue.delete', (slot) => slot.deleteQueue(name));
  }

  /** Deletes an exchange and forgets it. */
  async deleteExchange(name: string, options: OperationOptions = {}): Promise<void> {
    this.knownExchanges.delete(name);
    await this.withSlot(options, 'exchange.delete', (slot) => slot.deleteExchange(name));
  }

  /**
   * Starts consuming a queue (`no_ack=false`, tags "1", "2", ...). Resolves once
   * `basic.consume-ok` came. The consumer survives reconnects (consumed again after
   * `onReconnect`) until `cancel()`. Rejects with `AmqpChannelError` (e.g. 404 no such
   * queue), `ConnectionClosedError` and the usual bounds.
   */
  async consume(
    queue: string,
    onMessage: DeliveryHandler,
    options: ConsumeOptions = {},
  ): Promise<RabbitConsumer> {
    if (this.isClosing) throw new ConnectionClosedError();
    const handle = this.consumers.add(queue, onMessage, options.arguments ?? {});
    try {
      await this.withSlot(options, 'basic.consume', (slot) =>
        this.consumers.activate(handle, slot),
      );
      return handle;
    } catch (err) {
      this.consumers.remove(handle);
      throw err;
    }
  }

  /**
   * Stops a consumer (`basic.cancel`). From the call on its handler gets no more messages
   * (any still arriving go back to the queue). Never rejects.
   */
  async cancel(consumer: RabbitConsumer): Promise<void> {
    await this.consumers.cancel(consumer);
  }

  /** Acknowledges a delivery. Never throws; a delivery of a dead channel is dropped. */
  ack(message: Delivery): void {
    this.consumers.settle(message, (slot, raw) => slot.ack(raw, false), 'ack');
  }

  /**
   * Acknowledges a delivery and every earlier one of its channel not settled yet
   * (`basic.ack` with `multiple`). Never throws, like {@link ack}.
   */
  ackUpTo(message: Delivery): void {
    this.consumers.settle(message, (slot, raw) => slot.ack(raw, true), 'ack');
  }

  /** Rejects a delivery (`basic.reject`), requeued or not. Never throws, like {@link ack}. */
  reject(message: Delivery, requeue: boolean): void {
    this.consumers.settle(message, (slot, raw) => slot.reject(raw, requeue), 'reject');
  }
}
