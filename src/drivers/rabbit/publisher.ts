/**
 * The send side of a rabbit transport: one shared publish connection (a confirm channel
 * with pipelined confirms, instead of oslo's pool of send connections) that carries
 * calls, casts, fanouts, notifications and the replies of every server on the transport.
 *
 * @module
 */
import { MessageDeliveryFailure } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { MessageHeaders } from '../driver.js';
import { RabbitConnection, defaultConnectionName, type Declarer } from './connection.js';
import type { AbortLike } from './connection-wait.js';
import type { RabbitDriverSettings } from './options.js';
import { declareConsumerSpec, isDurableMismatch } from './declare.js';
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
  /** Application headers (oslo sends none: an empty table). */
  readonly headers?: MessageHeaders | undefined;
  /** AMQP `expiration`, a decimal string of ms (calls only). */
  readonly expiration?: string | undefined;
  /**
   * Notifications: the queue named after the routing key, declared and bound before the
   * publish (oslo's `_publish_and_creates_default_queue`), once per channel.
   */
  readonly notifierQueue?: ConsumerSpec | undefined;
}

const NO_HEADERS: MessageHeaders = Object.freeze({});

/** Declaration keys of the (memoised, so long-lived) descriptions a driver publishes to. */
const keys = new WeakMap<object, string>();

/** What a publish declares first, as a key of the publisher's declared-on-this-channel set. */
function declarationKey(
  queue: ConsumerSpec | undefined,
  exchange: ExchangeSpec | undefined,
): string | undefined {
  const binding = queue?.binding;
  const spec = binding !== undefined ? queue : exchange;
  if (spec === undefined) return undefined;
  let key = keys.get(spec);
  if (key === undefined) {
    if (binding !== undefined) {
      key = `q\u0000${binding.exchange}\u0000${queue?.queue.name}`;
    } else {
      const x = spec as ExchangeSpec;
      key = `x\u0000${x.name}\u0000${x.type}\u0000${x.durable}\u0000${x.autoDelete}`;
    }
    keys.set(spec, key);
  }
  return key;
}

/** Bounds of one publish. */
export interface PublishBounds {
  readonly retry?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortLike | undefined;
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
  /** The channel {@link #declared} is about (see `RabbitConnection.readyChannel`). */
  #declaredOn: object | undefined;
  /** What this publisher saw declared on that channel. */
  readonly #declared = new Set<string>();
  /** Exchanges that exist non-durable although configured durable (see `#declare`). */
  readonly #nonDurable = new Set<string>();

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
  publish(target: PublishTarget, body: Buffer, bounds: PublishBounds): Promise<void> {
    if (this.#pending >= MAX_PENDING_PUBLISHES) {
      return Promise.reject(
        new MessageDeliveryFailure(
          `Too many messages (${this.#pending}) are waiting for the AMQP server; not publishing to ` +
            `exchange "${target.exchangeName}" with key "${target.routingKey}"`,
        ),
      );
    }
    const queue = target.notifierQueue;
    const exchange = this.#effective(target.exchange);
    // Declarations are per channel (and cached there): once this publisher saw them
    // done on the channel that is ready now, the common path goes straight to the
    // publish, without an await of its own.
    const key = declarationKey(queue, exchange);
    if (key !== undefined && !this.#isDeclared(key)) {
      return this.#declareThenPublish(target, exchange, key, body, bounds);
    }
    this.#pending += 1;
    const published = this.#send(target, body, bounds);
    published.then(this.#settled, this.#settled);
    return published;
  }

  readonly #settled = (): void => {
    this.#pending -= 1;
  };

  async #declareThenPublish(
    target: PublishTarget,
    exchange: ExchangeSpec | undefined,
    key: string,
    body: Buffer,
    bounds: PublishBounds,
  ): Promise<void> {
    this.#pending += 1;
    try {
      await this.#declare(target.notifierQueue, exchange, key, bounds);
      await this.#send(target, body, bounds);
    } finally {
      this.#pending -= 1;
    }
  }

  #send(target: PublishTarget, body: Buffer, bounds: PublishBounds): Promise<void> {
    const compression = this.#settings.compression;
    let content = body;
    if (compression !== undefined) {
      try {
        content = compression.compress(body);
      } catch (err) {
        // What the compressor threw, unchanged, as a rejection.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return Promise.reject(err);
      }
    }
    return this.#connection.publish(
      target.exchangeName,
      target.routingKey,
      content,
      {
        headers:
          compression === undefined
            ? (target.headers ?? NO_HEADERS)
            : { ...target.headers, compression: compression.contentType },
        mandatory: target.mandatory,
        expiration: target.expiration,
      },
      {
        retry: bounds.retry,
        timeoutMs: bounds.timeoutMs,
        signal: bounds.signal,
        republishUnconfirmed: true,
      },
    );
  }

  #isDeclared(key: string): boolean {
    const channel = this.#connection.readyChannel;
    if (channel === undefined) return false;
    if (channel !== this.#declaredOn) {
      this.#declaredOn = channel;
      this.#declared.clear();
      return false;
    }
    return this.#declared.has(key);
  }

  /** The exchange as declared: non-durable once the broker refused it durable. */
  #effective(exchange: ExchangeSpec | undefined): ExchangeSpec | undefined {
    if (exchange === undefined || !exchange.durable || !this.#nonDurable.has(exchange.name)) {
      return exchange;
    }
    return { ...exchange, durable: false };
  }

  async #declare(
    queue: ConsumerSpec | undefined,
    exchange: ExchangeSpec | undefined,
    key: string,
    bounds: PublishBounds,
  ): Promise<void> {
    const before = this.#connection.readyChannel;
    if (queue !== undefined && queue.binding !== undefined) {
      // Registered first: a channel replaced from here on re-declares it in onReconnect.
      this.#notifierQueues.set(`${queue.binding.exchange}\u0000${queue.queue.name}`, queue);
      await declareConsumerSpec(this.#connection, queue, bounds);
    }
    if (exchange !== undefined) {
      const options = { retry: bounds.retry, timeoutMs: bounds.timeoutMs, signal: bounds.signal };
      try {
        await this.#connection.declareExchange(
          exchange.name,
          exchange.type,
          { durable: exchange.durable, autoDelete: exchange.autoDelete },
          options,
        );
      } catch (err) {
        // As upstream HEAD: an exchange that exists non-durable is declared so again.
        if (!exchange.durable || !isDurableMismatch(err)) throw err;
        this.#nonDurable.add(exchange.name);
        this.#logger.warn(
          'Exchange %s exists non-durable: publishing to it as non-durable',
          exchange.name,
        );
        await this.#connection.declareExchange(
          exchange.name,
          exchange.type,
          { durable: false, autoDelete: exchange.autoDelete },
          options,
        );
      }
    }
    // Done on this channel only if it was ready throughout (the same channel object).
    if (before !== undefined && this.#connection.readyChannel === before) {
      if (before !== this.#declaredOn) {
        this.#declaredOn = before;
        this.#declared.clear();
      }
      this.#declared.add(key);
    }
  }

  /** Close the connection; pending publishes reject with `ConnectionClosedError`. */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  async #redeclare(conn: Declarer): Promise<void> {
    for (const spec of this.#notifierQueues.values()) {
      await declareConsumerSpec(conn, spec, {});
    }
    if (this.#notifierQueues.size > 0) {
      this.#logger.debug('Re-declared %d notification queues', this.#notifierQueues.size);
    }
  }
}
