/**
 * A transport's reply queue (spec §4.1, §4.3): one `reply_<hex32>` per driver (or
 * `reply_<hostname>:<processname>:<n>` under the queue manager), declared lazily on the
 * first call (classic, non-durable, `x-expires`; a durable quorum queue under
 * `rabbit_transient_quorum_queue`), consumed on its own
 * connection, re-declared after every reconnect. Replies are handed to the
 * driver-independent {@link ReplyWaiter} on receipt and acknowledged in batches (see
 * {@link REPLY_ACK_BATCH}). The queue is never deleted: it expires
 * `rabbit_transient_queues_ttl` after its consumer left, as oslo's.
 *
 * @module
 */
import type { DriverContext } from '../driver.js';
import { replyQueueName } from '../common/addresses.js';
import { ReplyWaiter } from '../common/reply-waiter.js';
import { RabbitConnection, defaultConnectionName, type Delivery } from './connection.js';
import { decodeDelivery } from './incoming.js';
import type { RabbitDriverSettings } from './options.js';
import { OpGuard } from './connection-wait.js';
import { declareConsumerSpec } from './declare.js';
import type { PublishBounds } from './publisher.js';
import { consumerArguments, replyConsumer, type ConsumerSpec } from './topology.js';

/**
 * Replies are acknowledged with one `basic.ack` (`multiple`) for up to this many, or for
 * what arrived within {@link REPLY_ACK_DELAY_MS} (half the prefetch when
 * `rabbit_qos_prefetch_count` is smaller). A reply needs nothing more of the broker once
 * it is received, and each ack on the reply connection is a socket read and a method for
 * the broker: acking one by one made the broker's CPU per sequential call 1.2x raw
 * amqplib's (which acks on the connection it publishes on, in the same write). A reply
 * whose ack was not sent yet when the connection is lost is delivered again; the waiter
 * drops it when its call is already answered.
 */
export const REPLY_ACK_BATCH = 64;
/** See {@link REPLY_ACK_BATCH}. */
export const REPLY_ACK_DELAY_MS = 500;

/** See the module comment. */
export class ReplyQueue {
  /** `reply_<hex32>`, or `reply_<hostname>:<processname>:<n>` under the queue manager. */
  readonly name: string;
  readonly waiter: ReplyWaiter;
  readonly #context: Pick<DriverContext, 'logger' | 'onConnectionEvent'>;
  readonly #settings: RabbitDriverSettings;
  readonly #spec: ConsumerSpec;
  readonly #connection: RabbitConnection;
  #ready = false;
  #consuming: Promise<void> | undefined;
  /** The last reply received and not acknowledged yet, how many, and the flush timer. */
  #unacked: Delivery | undefined;
  #unackedCount = 0;
  #ackTimer: NodeJS.Timeout | undefined;
  readonly #ackBatch: number;

  constructor(
    settings: RabbitDriverSettings,
    context: Pick<
      DriverContext,
      'logger' | 'allowedRemoteExmods' | 'remoteExceptions' | 'onConnectionEvent'
    >,
  ) {
    this.#settings = settings;
    this.#context = context;
    this.name = replyQueueName(settings.queueUnique());
    this.waiter = new ReplyWaiter(context);
    this.#spec = replyConsumer(this.name, settings.topology);
    this.#connection = new RabbitConnection({
      ...settings.connection,
      role: 'consume',
      // As oslo: the reply connection gets basic.qos only when a prefetch is configured.
      prefetch: settings.prefetchCount,
      connectionName: defaultConnectionName(),
      onReconnect: (conn) => declareConsumerSpec(conn, this.#spec, {}),
    });
    const prefetch = settings.prefetchCount;
    this.#ackBatch =
      prefetch > 0
        ? Math.max(1, Math.min(REPLY_ACK_BATCH, Math.floor(prefetch / 2)))
        : REPLY_ACK_BATCH;
    // The broker gives unacknowledged replies back with the channel: forget them.
    this.#connection.on('disconnected', () => this.#forgetUnacked());
  }

  /** The `connection_name` of the reply connection. */
  get connectionName(): string {
    return this.#connection.connectionName;
  }

  /** Whether the queue is declared and consumed (then {@link ensure} has nothing to do). */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Declare and consume the queue, once, within the call's bounds: its `retry` budget
   * (a call with retry 0 to an unreachable broker fails with `MessageDeliveryFailure`
   * after one attempt, as a cast does), its `signal` and `timeoutMs`. Concurrent calls
   * share the declarations (cached per channel) and the one `basic.consume`; a failure
   * is reported to the calls waiting then, and the next call tries again.
   */
  async ensure(bounds: PublishBounds = {}): Promise<void> {
    if (this.#ready) return;
    await declareConsumerSpec(this.#connection, this.#spec, bounds);
    this.#consuming ??= this.#connection
      .consume(this.name, (d) => this.#receive(d), {
        timeoutMs: this.#settings.rpcResponseTimeoutMs,
        arguments: consumerArguments(this.#settings.topology),
      })
      .then(
        () => {
          this.#ready = true;
        },
        (err: unknown) => {
          this.#consuming = undefined;
          throw err;
        },
      );
    const guard = new OpGuard(bounds.signal, bounds.timeoutMs, 'basic.consume');
    try {
      await guard.race(this.#consuming);
    } finally {
      guard.dispose();
    }
  }

  /** Close the connection (waiting calls stay for the driver to reject). */
  async close(): Promise<void> {
    this.#flushAcks();
    await this.#connection.close();
  }

  #ackLater(delivery: Delivery): void {
    this.#unacked = delivery;
    this.#unackedCount += 1;
    if (this.#unackedCount >= this.#ackBatch) {
      this.#flushAcks();
    } else if (this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(() => this.#flushAcks(), REPLY_ACK_DELAY_MS);
      this.#ackTimer.unref();
    }
  }

  /** Acknowledge every reply received so far. */
  #flushAcks(): void {
    const last = this.#unacked;
    this.#forgetUnacked();
    if (last !== undefined) this.#connection.ackUpTo(last);
  }

  #forgetUnacked(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#unacked = undefined;
    this.#unackedCount = 0;
  }

  #receive(delivery: Delivery): void {
    let decoded: Record<string, unknown>;
    try {
      decoded = decodeDelivery(delivery, this.#settings.maxMessageBytes);
    } catch (err) {
      this.#context.logger.error(
        'Failed to process a reply on %s ... skipping it: %s',
        this.name,
        err instanceof Error ? err.message : String(err),
      );
      this.#flushAcks(); // the earlier ones first: this one is rejected on its own
      this.#connection.reject(delivery, false);
      this.#context.onConnectionEvent({
        type: 'rejected',
        connection: this.#connection.connectionName,
        kind: 'reply',
        exchange: delivery.fields.exchange,
        routingKey: delivery.fields.routingKey,
        reason: err instanceof Error ? err : new Error(String(err)),
      });
      return;
    }
    // The waiter drops replies nobody waits for (late or delivered again).
    this.#ackLater(delivery);
    this.waiter.deliver(decoded);
  }
}
