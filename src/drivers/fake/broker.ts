/**
 * The in-memory broker behind `fake://`: a small model of the parts of AMQP 0-9-1 that
 * oslo.messaging uses (topic, fanout and default exchanges with exact-key bindings,
 * queues with competing consumers, per-consumer-group credit, ack, requeue, reject,
 * message expiration), so that the fake driver builds the same topology as the rabbit
 * driver and users' tests see RabbitMQ's routing.
 *
 * Virtual hosts are process-wide (as oslo's fake driver shares its exchanges), so two
 * `fake://` transports in one process talk to each other; different virtual hosts are
 * separate brokers.
 *
 * @module
 */
import { Credit } from '../common/credit.js';

/** The type of an exchange. oslo binds exact keys only, so `topic` matches exactly. */
export type ExchangeType = 'topic' | 'fanout';

/** A message as a queue holds it. */
export interface BrokerMessage {
  /** The body exactly as published (JSON text). */
  readonly body: string;
  /** Set once the message was delivered and then given back (requeue, consumer gone). */
  redelivered: boolean;
  /** `Date.now()` after which the message is dropped instead of delivered (AMQP `expiration`). */
  readonly expiresAt: number | undefined;
  /** The exchange and routing key it was published with. */
  readonly exchange: string;
  readonly routingKey: string;
  /** Application headers. */
  readonly headers: Readonly<Record<string, string>>;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Publish options. */
export interface PublishOptions {
  /** AMQP `expiration` in ms: the queue drops the message if nobody took it by then. */
  expirationMs?: number | undefined;
  /** Application headers. @default {} */
  headers?: Readonly<Record<string, string>> | undefined;
}

interface Exchange {
  readonly type: ExchangeType;
  readonly autoDelete: boolean;
  /** Routing key to bound queues (a fanout exchange ignores the key). */
  readonly bindings: Map<string, Set<FakeQueue>>;
}

/**
 * Delivery credit shared by a group of consumers (one listener): at most `limit`
 * messages delivered and not yet settled, across all its queues. When credit comes
 * back, the queues this group consumes are woken.
 */
export class CreditPool extends Credit {
  readonly #consumers = new Set<Consumer>();

  /** @internal */
  add(consumer: Consumer): void {
    this.#consumers.add(consumer);
  }

  /** @internal */
  remove(consumer: Consumer): void {
    this.#consumers.delete(consumer);
  }

  /** Frees one credit and wakes the queues this group consumes. */
  override give(): void {
    super.give();
    for (const consumer of this.#consumers) consumer.queue.schedule();
  }
}

/** A delivered message, to be settled exactly once. */
export class Delivery {
  readonly message: BrokerMessage;
  readonly #consumer: Consumer;
  #settled = false;

  /** @internal */
  constructor(consumer: Consumer, message: BrokerMessage) {
    this.#consumer = consumer;
    this.message = message;
  }

  /** Whether it was settled (or given back because its consumer went away). */
  get settled(): boolean {
    return this.#settled;
  }

  /** Remove it from the queue. Returns false if it was already settled. */
  ack(): boolean {
    return this.#settle(false);
  }

  /** Drop it without redelivery. Returns false if it was already settled. */
  reject(): boolean {
    return this.#settle(false);
  }

  /** Give it back at the head of its queue, marked redelivered. Returns false if already settled. */
  requeue(): boolean {
    return this.#settle(true);
  }

  #settle(requeue: boolean): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#consumer.settled(this, requeue);
    return true;
  }
}

/** One consumer on a queue (`basic.consume`). */
export class Consumer {
  readonly queue: FakeQueue;
  readonly #credit: CreditPool;
  readonly #onDelivery: (delivery: Delivery) => void;
  readonly #unsettled = new Set<Delivery>();
  #active = true;

  /** @internal Use {@link FakeQueue.consume}. */
  constructor(queue: FakeQueue, credit: CreditPool, onDelivery: (delivery: Delivery) => void) {
    this.queue = queue;
    this.#credit = credit;
    this.#onDelivery = onDelivery;
    credit.add(this);
  }

  get active(): boolean {
    return this.#active;
  }

  /** @internal Whether it may take one more message now. */
  get ready(): boolean {
    return this.#active && this.#credit.available;
  }

  /** Stop deliveries (`basic.cancel`). Unsettled deliveries may still be settled. */
  cancel(): void {
    if (!this.#active) return;
    this.#active = false;
    this.queue.removeConsumer(this);
  }

  /**
   * Cancel and give every unsettled delivery back to the queue, as a broker does when
   * the channel closes. Later settling of those deliveries is a no-op.
   */
  close(): void {
    this.cancel();
    const unsettled = [...this.#unsettled].reverse();
    for (const delivery of unsettled) delivery.requeue();
    this.#credit.remove(this);
  }

  /** @internal */
  deliver(message: BrokerMessage): void {
    const delivery = new Delivery(this, message);
    this.#unsettled.add(delivery);
    this.#credit.take();
    this.#onDelivery(delivery);
  }

  /** @internal */
  settled(delivery: Delivery, requeue: boolean): void {
    this.#unsettled.delete(delivery);
    if (requeue) {
      delivery.message.redelivered = true;
      this.queue.putBack(delivery.message);
    }
    this.#credit.give();
  }
}

/**
 * A queue: messages in order, competing consumers served round-robin. Delivery is
 * always asynchronous (a `setImmediate` turn after the publish or the settle that made
 * it possible), so a publisher never runs a consumer's code inside its own call, and a
 * handler that requeues forever still lets timers and I/O run.
 */
export class FakeQueue {
  readonly name: string;
  readonly #messages: BrokerMessage[] = [];
  readonly #consumers: Consumer[] = [];
  #next = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #deleted = false;

  /** @internal Use {@link FakeVirtualHost.declareQueue}. */
  constructor(name: string) {
    this.name = name;
  }

  /** Messages waiting (not delivered, or given back). Expired ones are dropped first. */
  get messageCount(): number {
    this.#dropExpired();
    return this.#messages.length;
  }

  get consumerCount(): number {
    return this.#consumers.length;
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  /** Start consuming with `credit` shared by the caller's consumers. */
  consume(credit: CreditPool, onDelivery: (delivery: Delivery) => void): Consumer {
    if (this.#deleted) throw new Error(`queue "${this.name}" was deleted`);
    const consumer = new Consumer(this, credit, onDelivery);
    this.#consumers.push(consumer);
    this.schedule();
    return consumer;
  }

  /** @internal */
  enqueue(message: BrokerMessage): void {
    if (this.#deleted) return;
    this.#messages.push(message);
    this.schedule();
  }

  /** @internal A requeued or returned message goes back to the head. */
  putBack(message: BrokerMessage): void {
    if (this.#deleted) return;
    this.#messages.unshift(message);
    this.schedule();
  }

  /** @internal */
  removeConsumer(consumer: Consumer): void {
    const index = this.#consumers.indexOf(consumer);
    if (index < 0) return;
    this.#consumers.splice(index, 1);
    if (index < this.#next) this.#next--;
    if (this.#consumers.length === 0) this.#unschedule();
  }

  /** @internal Drop every message and consumer; the queue refuses new ones. */
  delete(): void {
    this.#deleted = true;
    for (const consumer of [...this.#consumers]) consumer.close();
    this.#messages.length = 0;
    this.#unschedule();
  }

  /** @internal Arrange a delivery turn if there is anything to deliver. */
  schedule(): void {
    if (this.#scheduled !== undefined || this.#deleted) return;
    if (this.#messages.length === 0 || this.#consumers.length === 0) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#dispatch();
    });
  }

  #unschedule(): void {
    if (this.#scheduled === undefined) return;
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  #dropExpired(): void {
    const now = Date.now();
    // Like RabbitMQ, only expired messages at the head are dropped eagerly.
    while (this.#messages.length > 0) {
      const head = this.#messages[0];
      if (head?.expiresAt === undefined || head.expiresAt > now) break;
      this.#messages.shift();
    }
  }

  #dispatch(): void {
    for (;;) {
      this.#dropExpired();
      if (this.#messages.length === 0 || this.#deleted) return;
      const consumer = this.#pickConsumer();
      if (consumer === undefined) return;
      const message = this.#messages.shift();
      if (message === undefined) return;
      consumer.deliver(message);
    }
  }

  /** The next ready consumer after the last one served (round-robin). */
  #pickConsumer(): Consumer | undefined {
    const count = this.#consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (this.#next + i) % count;
      const consumer = this.#consumers[index];
      if (consumer?.ready === true) {
        this.#next = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }
}

/** One virtual host: exchanges, queues and bindings. */
export class FakeVirtualHost {
  readonly name: string;
  readonly #exchanges = new Map<string, Exchange>();
  readonly #queues = new Map<string, FakeQueue>();

  /** @internal Use {@link fakeVirtualHost}. */
  constructor(name: string) {
    this.name = name;
  }

  /**
   * Declare an exchange (idempotent). Redeclaring with another type throws, as the
   * broker answers 406 PRECONDITION_FAILED.
   */
  declareExchange(name: string, type: ExchangeType, autoDelete = false): void {
    if (name === '') throw new Error('the default exchange cannot be declared');
    const existing = this.#exchanges.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) {
        throw new Error(
          `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${name}': ` +
            `received '${type}' but current is '${existing.type}'`,
        );
      }
      return;
    }
    this.#exchanges.set(name, { type, autoDelete, bindings: new Map() });
  }

  /** Declare a queue (idempotent) and return it. */
  declareQueue(name: string): FakeQueue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new FakeQueue(name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** A queue by name, if declared. */
  queue(name: string): FakeQueue | undefined {
    return this.#queues.get(name);
  }

  /** The names of the declared queues. */
  queueNames(): string[] {
    return [...this.#queues.keys()];
  }

  /** Whether an exchange is declared. */
  hasExchange(name: string): boolean {
    return this.#exchanges.has(name);
  }

  /** Bind a queue to an exchange with a routing key (idempotent). */
  bindQueue(queue: FakeQueue, exchangeName: string, routingKey: string): void {
    const exchange = this.#exchanges.get(exchangeName);
    if (exchange === undefined) throw new Error(`NOT_FOUND - no exchange '${exchangeName}'`);
    let bound = exchange.bindings.get(routingKey);
    if (bound === undefined) {
      bound = new Set();
      exchange.bindings.set(routingKey, bound);
    }
    bound.add(queue);
  }

  /**
   * Delete a queue: its messages are gone, its consumers cancelled, its bindings
   * removed; an auto-delete exchange left without bindings goes too.
   */
  deleteQueue(name: string): void {
    const queue = this.#queues.get(name);
    if (queue === undefined) return;
    this.#queues.delete(name);
    queue.delete();
    for (const [exchangeName, exchange] of this.#exchanges) {
      for (const [key, bound] of exchange.bindings) {
        bound.delete(queue);
        if (bound.size === 0) exchange.bindings.delete(key);
      }
      if (exchange.autoDelete && exchange.bindings.size === 0) this.#exchanges.delete(exchangeName);
    }
  }

  /**
   * Publish a body. `''` is the default exchange, which routes to the queue named by
   * the key. Returns how many queues got a copy (0: unroutable, as `basic.return`
   * reports for a mandatory publish). Throws for an undeclared exchange (404).
   */
  publish(
    exchangeName: string,
    routingKey: string,
    body: string,
    options: PublishOptions = {},
  ): number {
    const expiresAt =
      options.expirationMs === undefined ? undefined : Date.now() + options.expirationMs;
    let targets: Iterable<FakeQueue>;
    if (exchangeName === '') {
      const queue = this.#queues.get(routingKey);
      targets = queue === undefined ? [] : [queue];
    } else {
      const exchange = this.#exchanges.get(exchangeName);
      if (exchange === undefined) throw new Error(`NOT_FOUND - no exchange '${exchangeName}'`);
      if (exchange.type === 'fanout') {
        const all = new Set<FakeQueue>();
        for (const bound of exchange.bindings.values()) for (const q of bound) all.add(q);
        targets = all;
      } else {
        targets = exchange.bindings.get(routingKey) ?? [];
      }
    }
    let routed = 0;
    for (const queue of targets) {
      queue.enqueue({
        body,
        redelivered: false,
        expiresAt,
        exchange: exchangeName,
        routingKey,
        headers: options.headers ?? NO_HEADERS,
      });
      routed++;
    }
    return routed;
  }

  /** Delete every queue and exchange (test isolation). */
  reset(): void {
    for (const name of [...this.#queues.keys()]) this.deleteQueue(name);
    this.#exchanges.clear();
  }
}

// Kept on globalThis so that two copies of this module (a test importing `src/` while the
// package resolves `dist/`) still share one broker per process, as oslo's fake driver does.
const REGISTRY_KEY = Symbol.for('oslo-messaging.fake-broker');

function registry(): Map<string, FakeVirtualHost> {
  const holder = globalThis as { [REGISTRY_KEY]?: Map<string, FakeVirtualHost> };
  return (holder[REGISTRY_KEY] ??= new Map());
}

/** The default virtual host name, for `fake://`, `fake:///` and `fake:////`. */
export const DEFAULT_VHOST = '/';

/** Normalises a URL's virtual host: no path or an empty one is the default `/`. */
export function vhostName(virtualHost: string | undefined): string {
  return virtualHost === undefined || virtualHost === '' ? DEFAULT_VHOST : virtualHost;
}

/** The process-wide virtual host of that name, created on first use. */
export function fakeVirtualHost(name: string): FakeVirtualHost {
  const hosts = registry();
  let vhost = hosts.get(name);
  if (vhost === undefined) {
    vhost = new FakeVirtualHost(name);
    hosts.set(name, vhost);
  }
  return vhost;
}
