/**
 * The send side of a rabbit transport: one shared publish connection (a confirm channel
 * with pipelined confirms, instead of oslo's pool of send connections) that carries
 * calls, casts, fanouts, notifications and the replies of every server on the transport.
 *
 * @module
 */
import { MessageDeliveryFailure } from '../../errors.js';
import type { Logger } from '../../log.js';
import { RabbitConnection, defaultConnectionName } from './connection.js';
import type { RabbitDriverSettings } from './options.js';
import type { ConsumerSpec, ExchangeSpec } from './topology.js';

/**
 * The most publishes a transport lets wait for the broker at once (for a connection,
 * for the write buffer to drain, or for their confirms). Beyond it a publish rejects
 * at once with `MessageDeliveryFailure`: while the broker is away nothing piles up
 * without bound. Far above what a pipelined channel needs to run at full speed.
 */
export const MAX_PENDING_PUBLISHES = 10_000;

/** Where and how to publish one message. */
export interface PublishTarget {
  /** Declared (once per channel, again after a reconnect) before the publish; none for `""`. */
  readonly exchange: ExchangeSpec | undefined;
  readonly exchangeName: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
  /** AMQP `expiration`, a decimal string of ms (calls only). */
  readonly expiration?: string | undefined;
  /**
   * Notifications: the queue named after the routing key, declared and bound before the
   * publish (oslo's `_publish_and_creates_default_queue`), once per channel.
   */
  readonly notifierQueue?: ConsumerSpec | undefined;
}

/** Bounds of one publish. */
export interface PublishBounds {
  readonly retry?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** See the module comment. */
export class Publisher {
  readonly #settings: RabbitDriverSettings;
  readonly #logger: Logger;
  readonly #connection: RabbitConnection;
  /**
   * Notification queues declared by this transport: re-declared on every new channel
   * before any publish proceeds on it, so a notification confirmed after a broker
   * restart always had its queue (oslo re-declares before the next publish per key).
   * Bounded by the distinct (exchange, topic, priority) triples a transport notifies.
   */
  readonly #notifierQueues = new Map<string, ConsumerSpec>();
  #pending = 0;

  constructor(settings: RabbitDriverSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
    this.#connection = new RabbitConnection({
      ...settings.connection,
      role: 'publish',
      connectionName: defaultConnectionName(),
      onReconnect: (conn) => this.#redeclare(conn),
    });
  }

  /** The `connection_name` of the send connection (tests select it with rabbitmqctl). */
  get connectionName(): string {
    return this.#connection.connectionName;
  }

  /**
   * Publish a body. Resolves once the broker confirmed it; rejects with
   * `MessageUndeliverable` (mandatory and unroutable), `MessageDeliveryFailure` (retries
   * used up, nacked, too many pending), `MessagingTimeout` or the signal's reason.
   * A message whose confirm was lost with its channel is published again (oslo re-runs
   * the whole publish after a connection error); receivers drop the duplicate by
   * `_unique_id`.
   */
  async publish(target: PublishTarget, body: Buffer, bounds: PublishBounds): Promise<void> {
    if (this.#pending >= MAX_PENDING_PUBLISHES) {
      throw new MessageDeliveryFailure(
        `Too many messages (${this.#pending}) are waiting for the AMQP server; not publishing to ` +
          `exchange "${target.exchangeName}" with key "${target.routingKey}"`,
      );
    }
    this.#pending += 1;
    try {
      const options = {
        retry: bounds.retry,
        timeoutMs: bounds.timeoutMs,
        signal: bounds.signal,
      };
      const queue = target.notifierQueue;
      if (queue !== undefined && queue.binding !== undefined) {
        // Registered first: a channel replaced from here on re-declares it in onReconnect.
        this.#notifierQueues.set(`${queue.binding.exchange}\u0000${queue.queue.name}`, queue);
        await declareConsumerSpec(this.#connection, queue, bounds);
      }
      const exchange = target.exchange;
      if (exchange !== undefined) {
        await this.#connection.declareExchange(
          exchange.name,
          exchange.type,
          { durable: exchange.durable, autoDelete: exchange.autoDelete },
          options,
        );
      }
      const compression = this.#settings.compression;
      const payload = compression === undefined ? body : compression.compress(body);
      const headers = compression === undefined ? {} : { compression: compression.contentType };
      await this.#connection.publish(
        target.exchangeName,
        target.routingKey,
        payload,
        { headers, mandatory: target.mandatory, expiration: target.expiration },
        { ...options, republishUnconfirmed: true },
      );
    } finally {
      this.#pending -= 1;
    }
  }

  /** Close the connection; pending publishes reject with `ConnectionClosedError`. */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  async #redeclare(conn: RabbitConnection): Promise<void> {
    for (const spec of this.#notifierQueues.values()) {
      await declareConsumerSpec(conn, spec, {});
    }
    if (this.#notifierQueues.size > 0) {
      this.#logger.debug('Re-declared %d notification queues', this.#notifierQueues.size);
    }
  }
}

/** Declare what a {@link ConsumerSpec} describes, in oslo's order: exchange, queue, binding. */
export async function declareConsumerSpec(
  conn: RabbitConnection,
  spec: ConsumerSpec,
  bounds: PublishBounds,
): Promise<void> {
  const options = { retry: bounds.retry, timeoutMs: bounds.timeoutMs, signal: bounds.signal };
  if (spec.exchange !== undefined) {
    await conn.declareExchange(
      spec.exchange.name,
      spec.exchange.type,
      { durable: spec.exchange.durable, autoDelete: spec.exchange.autoDelete },
      options,
    );
  }
  await conn.declareQueue(
    spec.queue.name,
    {
      durable: spec.queue.durable,
      autoDelete: spec.queue.autoDelete,
      exclusive: spec.queue.exclusive,
      arguments: spec.queue.arguments,
    },
    options,
  );
  if (spec.binding !== undefined) {
    await conn.bindQueue(
      spec.binding.queue,
      spec.binding.exchange,
      spec.binding.routingKey,
      options,
    );
  }
}
