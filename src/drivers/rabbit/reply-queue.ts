/**
 * A transport's reply queue (spec §4.1, §4.3): one `reply_<hex32>` per driver, declared
 * lazily on the first call (classic, non-durable, `x-expires`), consumed on its own
 * connection, re-declared after every reconnect. Replies are acked on receipt and handed
 * to the driver-independent {@link ReplyWaiter}. The queue is never deleted: it expires
 * `rabbit_transient_queues_ttl` after its consumer left, as oslo's.
 *
 * @module
 */
import type { DriverContext } from '../driver.js';
import { hex32 } from '../envelope.js';
import { ReplyWaiter } from '../reply-waiter.js';
import { RabbitConnection, defaultConnectionName, type Delivery } from './connection.js';
import { decodeDelivery } from './incoming.js';
import type { RabbitDriverSettings } from './options.js';
import { declareConsumerSpec } from './publisher.js';
import { consumerArguments, replyConsumer, type ConsumerSpec } from './topology.js';

/** See the module comment. */
export class ReplyQueue {
  /** `reply_<hex32>`. */
  readonly name = `reply_${hex32()}`;
  readonly waiter: ReplyWaiter;
  readonly #context: Pick<DriverContext, 'logger'>;
  readonly #settings: RabbitDriverSettings;
  readonly #spec: ConsumerSpec;
  readonly #connection: RabbitConnection;
  #ready: Promise<void> | undefined;

  constructor(
    settings: RabbitDriverSettings,
    context: Pick<DriverContext, 'logger' | 'allowedRemoteExmods' | 'remoteExceptions'>,
  ) {
    this.#settings = settings;
    this.#context = context;
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

  /**
   * Declare and consume the queue, once. Shared by concurrent calls; a failure is
   * reported to the calls waiting then, and the next call tries again.
   */
  ensure(): Promise<void> {
    this.#ready ??= this.#setUp().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /** Close the connection (waiting calls stay for the driver to reject). */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  async #setUp(): Promise<void> {
    const bounds = { timeoutMs: this.#settings.rpcResponseTimeoutMs };
    await declareConsumerSpec(this.#connection, this.#spec, bounds);
    await this.#connection.consume(this.name, (d) => this.#receive(d), {
      ...bounds,
      arguments: consumerArguments(this.#settings.topology),
    });
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
      return;
    }
    // Acked on receipt: the waiter drops replies nobody waits for (late replies).
    this.#connection.ack(delivery);
    this.waiter.deliver(decoded);
  }
}
