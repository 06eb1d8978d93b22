/**
 * A transport's reply queue (spec §4.1, §4.3): one `reply_<hex32>` per driver (or
 * `reply_<hostname>:<processname>:<n>` under the queue manager), declared lazily on the
 * first call (classic, non-durable, `x-expires`; a durable quorum queue under
 * `rabbit_transient_quorum_queue`), consumed on its own
 * connection, re-declared after every reconnect. Replies are acked on receipt and handed
 * to the driver-independent {@link ReplyWaiter}. The queue is never deleted: it expires
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
    await this.#connection.close();
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
    // Acked on receipt: the waiter drops replies nobody waits for (late replies).
    this.#connection.ack(delivery);
    this.waiter.deliver(decoded);
  }
}
