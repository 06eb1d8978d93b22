/**
 * A notification listener (spec §5.3): without a pool, the shared `<topic>.<priority>`
 * queues (the same ones the notifier declares); with a pool, one queue named exactly
 * the pool, bound once per `<topic>.<priority>`. Each distinct queue is consumed once.
 *
 * @module
 */
import type { IncomingMessage } from '../driver.js';
import { UniqueIdCache } from './caches.js';
import type { Delivery } from './connection.js';
import { RabbitNotificationMessage, unpackNotification, type Settler } from './incoming.js';
import { RabbitListener, type ListenerHost, type Prepared } from './listener.js';
import { tapQueueName } from '../common/addresses.js';
import { tapConsumer, topicConsumer, type ConsumerSpec } from './topology.js';

/** One binding of the listener: exchange and `<topic>.<priority>` routing key. */
export interface NotificationRoute {
  readonly exchange: string;
  readonly routingKey: string;
}

/** See the module comment. */
export class RabbitNotificationListener extends RabbitListener<IncomingMessage> {
  protected readonly messageKind = 'notification';
  readonly #routes: readonly NotificationRoute[];
  readonly #pool: string | undefined;
  readonly #tapQueue: string | undefined;
  /** Recorded when a message is acked (oslo), so a requeued one is not a duplicate. */
  readonly #duplicates = new UniqueIdCache();
  readonly #settler: Settler;

  constructor(
    host: ListenerHost,
    routes: readonly NotificationRoute[],
    pool: string | undefined,
    maxUnsettled: number,
    target: unknown,
    tap = false,
  ) {
    super(host, maxUnsettled, target);
    this.#routes = routes;
    this.#pool = pool;
    // A tap is ignored with a pool (the pool already gets its own copy).
    this.#tapQueue = tap && pool === undefined ? tapQueueName() : undefined;
    this.#settler = {
      ack: (d) => this.connection.ack(d),
      reject: (d, requeue) => this.connection.reject(d, requeue),
    };
  }

  protected consumerSpecs(): readonly ConsumerSpec[] {
    const flags = this.host.settings.topology;
    const seen = new Set<string>();
    const specs: ConsumerSpec[] = [];
    for (const { exchange, routingKey } of this.#routes) {
      const spec =
        this.#tapQueue === undefined
          ? topicConsumer(exchange, routingKey, flags, this.#pool ?? routingKey)
          : tapConsumer(exchange, routingKey, this.#tapQueue, flags);
      const key = `${exchange}\u0000${spec.queue.name}\u0000${routingKey}`;
      if (seen.has(key)) continue;
      seen.add(key);
      specs.push(spec);
    }
    return specs;
  }

  protected prepare(
    delivery: Delivery,
    decoded: Record<string, unknown>,
  ): Prepared<IncomingMessage> | undefined {
    const unpacked = unpackNotification(decoded);
    const uniqueId = unpacked.uniqueId;
    if (this.#duplicates.has(uniqueId)) {
      // Already handled and acked once: ack the copy (oslo would leave it unacked).
      this.connection.ack(delivery);
      this.host.logger.error('ignoring duplicate message %s', uniqueId);
      return undefined;
    }
    const message = new RabbitNotificationMessage(
      delivery,
      unpacked,
      this.#settler,
      this.host.logger,
      () => this.settled(),
    );
    message.setOnAcknowledged(() => this.#duplicates.add(uniqueId));
    return { message };
  }
}
