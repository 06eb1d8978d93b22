/**
 * Notification listeners: servers that consume notifications and dispatch them to
 * endpoints (spec §5.3 to §5.5).
 *
 * @module
 */
import type { DriverListener, IncomingMessage } from '../drivers/driver.js';
import { ConfigurationError, InvalidTarget, MessagingException } from '../errors.js';
import { NoOpSerializer, type Serializer } from '../serializer.js';
import { MessageHandlingServer, type ServerOptions } from '../server.js';
import type { Target } from '../target.js';
import { NotificationTransport, type Transport } from '../transport.js';
import {
  BatchNotificationDispatcher,
  NotificationDispatcher,
  type BatchNotificationEndpoint,
  type NotificationEndpoint,
} from './dispatcher.js';
import { NotificationResult, type NotificationPriority } from './result.js';

/** Options of {@link getNotificationListener}. */
export interface NotificationListenerOptions extends ServerOptions {
  /** Turns the received context and payloads back into entities. @default a NoOpSerializer */
  serializer?: Serializer | undefined;
  /**
   * Honour `NotificationResult.REQUEUE` (and endpoint errors) by giving the message
   * back to its queue. When false, as by default in oslo, such messages are
   * acknowledged and gone. Refused for a driver that cannot requeue.
   * @default false
   */
  allowRequeue?: boolean | undefined;
  /**
   * A pool (consumer group): the listener consumes one queue named exactly this, bound
   * for every `<topic>.<priority>`, so each pool gets its own copy of every notification
   * while listeners in the same pool share them. The name is global on the broker. Keep at
   * least one listener without a pool: the notifier fills the unpooled queues regardless.
   * @default none: the shared `<topic>.<priority>` queues
   */
  pool?: string | undefined;
  /**
   * Tap: consume a private temporary queue (exclusive, auto-delete, gone when the listener
   * is cleaned up) bound with the same `<topic>.<priority>` keys, so the listener sees a
   * copy of every notification and takes nothing from the consumers already there. For
   * tools (`oslo-messaging listen`). Ignored with a `pool`.
   * @default false
   */
  tap?: boolean | undefined;
}

/** Options of {@link getBatchNotificationListener}. */
export interface BatchNotificationListenerOptions extends NotificationListenerOptions {
  /**
   * Call endpoints once this many messages have arrived. On RabbitMQ with a
   * `rabbit_qos_prefetch_count`, the driver holds at most that many unsettled, so a batch
   * is at most that big (oslo caps it the same way).
   * @default 1
   */
  batchSize?: number | undefined;
  /**
   * Call endpoints at the latest this many ms after the first message of a batch arrived,
   * with however many there are. Unset: wait for `batchSize` (a partial batch is still
   * handled when the listener stops).
   * @default undefined
   */
  batchTimeout?: number | undefined;
}

function checkTargets(targets: readonly Target[]): readonly Target[] {
  for (const target of targets) {
    // A notification listener needs a topic to know which `<topic>.<priority>` to consume.
    if (target.topic === undefined) {
      throw new InvalidTarget('A topic is required to listen for notifications', target);
    }
  }
  return Object.freeze([...targets]);
}

function checkPool(pool: unknown): string | undefined {
  if (pool === undefined) return undefined;
  if (typeof pool !== 'string' || pool === '') {
    throw new ConfigurationError('pool must be a non-empty string', {
      option: 'pool',
      value: pool,
    });
  }
  return pool;
}

function warnIfRpcTransport(transport: Transport): void {
  if (!(transport instanceof NotificationTransport)) {
    transport.logger.warn(
      'Using RPC transport for notifications. Please use getNotificationTransport to obtain a ' +
        'notification transport instance.',
    );
  }
}

function requeueUnsupported(transport: Transport): MessagingException {
  return new MessagingException(
    `allowRequeue is not supported by the ${transport.url.driverName} transport driver`,
  );
}

/** What both listener kinds share: targets, pool, requeue policy, the driver listener. */
export abstract class NotificationServerBase extends MessageHandlingServer {
  /** The exchanges and topics listened to. */
  readonly targets: readonly Target[];
  /** The pool, if any. */
  readonly pool: string | undefined;
  /** Whether REQUEUE results and endpoint errors give messages back to the queue. */
  readonly allowRequeue: boolean;
  /** Whether this listener taps (see {@link NotificationListenerOptions.tap}). */
  readonly tap: boolean;
  /** @internal */
  protected abstract readonly priorities: readonly NotificationPriority[];

  protected constructor(
    transport: Transport,
    targets: readonly Target[],
    options: NotificationListenerOptions,
  ) {
    super(transport, options);
    warnIfRpcTransport(transport);
    this.targets = checkTargets(targets);
    this.pool = checkPool(options.pool);
    this.tap = options.tap ?? false;
    this.allowRequeue = options.allowRequeue ?? false;
    if (this.allowRequeue && !transport.capabilities.requeue) {
      throw requeueUnsupported(transport);
    }
  }

  /** @internal */
  protected override async createListener(maxUnsettled: number): Promise<DriverListener> {
    // One binding per (target, priority some endpoint implements): no queue is consumed
    // for a priority nobody handles.
    const bindings = this.targets.flatMap((target) =>
      this.priorities.map((priority) => ({ target, priority })),
    );
    return this.transport._listenForNotifications(bindings, {
      pool: this.pool,
      tap: this.tap,
      maxUnsettled,
    });
  }

  /** @internal Settle after dispatch: requeue only when asked and allowed, else acknowledge. */
  protected async settle(message: IncomingMessage, requeue: boolean): Promise<void> {
    try {
      if (requeue && this.allowRequeue) await message.requeue();
      else await message.acknowledge();
    } catch (err) {
      this.logger.error('Failed to acknowledge or requeue a notification', { err });
    }
  }
}

/**
 * A notification listener (oslo's `NotificationServer`): dispatches each notification
 * to the endpoint methods named after its priority, then acknowledges it, or requeues
 * it when an endpoint returned REQUEUE or threw and `allowRequeue` is on. Notifications
 * are acknowledged only after dispatch (at-least-once).
 *
 * Create with {@link getNotificationListener}; the lifecycle is
 * {@link MessageHandlingServer}'s (`start`, `stop`, `wait`, `close`).
 */
export class NotificationServer extends NotificationServerBase {
  /** The endpoints, as given. */
  readonly endpoints: readonly object[];
  readonly #dispatcher: NotificationDispatcher;
  /** @internal */
  protected readonly priorities: readonly NotificationPriority[];

  /** @internal Use {@link getNotificationListener}. */
  constructor(
    transport: Transport,
    targets: readonly Target[],
    endpoints: readonly object[],
    options: NotificationListenerOptions = {},
  ) {
    super(transport, targets, options);
    this.endpoints = endpoints;
    this.#dispatcher = new NotificationDispatcher(
      endpoints,
      options.serializer ?? new NoOpSerializer(),
      this.logger,
    );
    this.priorities = this.#dispatcher.supportedPriorities;
  }

  /** @internal */
  protected override async processMessage(message: IncomingMessage): Promise<void> {
    const requeue = await this.transport._process(
      [message],
      async (fail) => {
        let result: NotificationResult | undefined;
        try {
          result = await this.#dispatcher.dispatch(message);
        } catch (err) {
          fail(err);
          this.logger.error('Exception during notification handling', { err });
          result = NotificationResult.REQUEUE;
        }
        return result === NotificationResult.REQUEUE && this.allowRequeue;
      },
      (requeued) => requeued,
    );
    await this.settle(message, requeue);
  }
}

/**
 * A batch notification listener (oslo's `BatchNotificationServer`): collects up to
 * `batchSize` notifications (or what arrived within `batchTimeout` ms of the first one),
 * then calls each endpoint method once per priority with the list. A REQUEUE result or an
 * error requeues every message of that priority in the batch (with `allowRequeue`); the
 * rest are acknowledged. A partial batch is dispatched when the listener stops.
 *
 * Create with {@link getBatchNotificationListener}.
 */
export class BatchNotificationServer extends NotificationServerBase {
  /** The endpoints, as given. */
  readonly endpoints: readonly object[];
  /** The most messages per batch. */
  readonly batchSize: number;
  /** How long (ms) a batch waits after its first message; `undefined` waits for a full batch. */
  readonly batchTimeout: number | undefined;
  readonly #dispatcher: BatchNotificationDispatcher;
  /** @internal */
  protected readonly priorities: readonly NotificationPriority[];
  #pending: IncomingMessage[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushAt: number;

  /** @internal Use {@link getBatchNotificationListener}. */
  constructor(
    transport: Transport,
    targets: readonly Target[],
    endpoints: readonly object[],
    options: BatchNotificationListenerOptions = {},
  ) {
    super(transport, targets, options);
    if (!transport.capabilities.batch) {
      throw new MessagingException(
        `Batch listeners are not supported by the ${transport.url.driverName} transport driver`,
      );
    }
    const { batchSize = 1, batchTimeout } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ConfigurationError('batchSize must be an integer >= 1', {
        option: 'batchSize',
        value: batchSize,
      });
    }
    if (batchTimeout !== undefined && !(Number.isFinite(batchTimeout) && batchTimeout >= 0)) {
      throw new ConfigurationError('batchTimeout must be a number of ms >= 0', {
        option: 'batchTimeout',
        value: batchTimeout,
      });
    }
    this.batchSize = batchSize;
    this.batchTimeout = batchTimeout;
    this.#flushAt = batchSize;
    this.endpoints = endpoints;
    this.#dispatcher = new BatchNotificationDispatcher(
      endpoints,
      options.serializer ?? new NoOpSerializer(),
      this.logger,
    );
    this.priorities = this.#dispatcher.supportedPriorities;
  }

  /** @internal */
  protected override async createListener(maxUnsettled: number): Promise<DriverListener> {
    // With a prefetch limit the broker holds back messages past that many unsettled, so
    // a bigger batch could never fill (oslo caps `batch_size` at the prefetch too).
    this.#flushAt = Math.min(this.batchSize, this.transport.capabilities.maxPrefetch ?? Infinity);
    return super.createListener(maxUnsettled);
  }

  /** @internal */
  protected override maxUnsettled(concurrency: number): number {
    // Room for one batch being collected while others are handled; fewer would leave a
    // batch that can never fill.
    return Math.max(super.maxUnsettled(concurrency), this.batchSize * 2);
  }

  /** @internal */
  protected override onMessage(message: IncomingMessage): void {
    this.#pending.push(message);
    if (this.#pending.length >= this.#flushAt) {
      this.#flush();
    } else if (this.#pending.length === 1 && this.batchTimeout !== undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.batchTimeout);
    }
  }

  /** @internal */
  protected override onStopped(): void {
    // No more messages arrive: hand over the partial batch so wait() sees it through.
    this.#flush();
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.submit(() => this.#processBatch(batch));
  }

  /** @internal */
  protected override processMessage(message: IncomingMessage): Promise<void> {
    return this.#processBatch([message]);
  }

  async #processBatch(batch: IncomingMessage[]): Promise<void> {
    const requeues = await this.transport._process(
      batch,
      async (fail) => {
        try {
          return await this.#dispatcher.dispatchBatch(batch);
        } catch (err) {
          fail(err);
          this.logger.error('Exception during notification batch handling', { err });
          return new Set(batch);
        }
      },
      (requeued, message) => requeued.has(message),
    );
    for (const message of batch) await this.settle(message, requeues.has(message));
  }
}

/**
 * A notification listener on `targets` (each needs a topic) that dispatches to
 * `endpoints` (oslo's `get_notification_listener`). Call `start()` to consume.
 *
 * It consumes `<topic>.<priority>` for every target and every priority some endpoint
 * implements (or, with `pool`, one queue named after the pool with those bindings).
 *
 * @throws InvalidTarget for a target without a topic
 * @throws ExecutorLoadFailure for an unknown executor
 * @throws MessagingException when `allowRequeue` is set and the transport can't requeue
 *   (checked again at `start()` once the driver is loaded)
 *
 * @example
 * ```ts
 * import {
 *   getNotificationListener,
 *   getNotificationTransport,
 *   Notifier,
 *   Target,
 * } from 'oslo-messaging';
 *
 * const transport = getNotificationTransport('fake://');
 * let received!: (payload: unknown) => void;
 * const done = new Promise<unknown>((resolve) => (received = resolve));
 * const listener = getNotificationListener(transport, [new Target({ topic: 'notifications' })], [
 *   { info: (ctxt, publisherId, eventType, payload) => received(payload) },
 * ]);
 * await listener.start();
 * const notifier = new Notifier(transport, { driver: 'messagingv2', publisherId: 'compute.h1' });
 * await notifier.info({}, 'compute.instance.create.end', { id: 'i-1' });
 * console.log(await done); // { id: 'i-1' }
 * await listener.close();
 * await transport.cleanup();
 * ```
 */
export function getNotificationListener(
  transport: Transport,
  targets: readonly Target[],
  endpoints: readonly NotificationEndpoint[],
  options: NotificationListenerOptions = {},
): NotificationServer {
  return new NotificationServer(transport, targets, endpoints, options);
}

/**
 * A batch notification listener (oslo's `get_batch_notification_listener`): endpoint
 * methods receive lists of notifications; see {@link BatchNotificationServer}.
 *
 * @throws ConfigurationError for a bad `batchSize` or `batchTimeout`
 * @throws InvalidTarget, ExecutorLoadFailure, MessagingException as {@link getNotificationListener}
 */
export function getBatchNotificationListener(
  transport: Transport,
  targets: readonly Target[],
  endpoints: readonly BatchNotificationEndpoint[],
  options: BatchNotificationListenerOptions = {},
): BatchNotificationServer {
  return new BatchNotificationServer(transport, targets, endpoints, options);
}
