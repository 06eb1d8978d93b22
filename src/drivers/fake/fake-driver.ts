/**
 * The `fake://` driver: an in-memory broker with RabbitMQ's semantics, for tests and
 * examples that need no broker.
 *
 * Unlike oslo's Python fake driver, which passes objects around, every message here
 * goes through the same envelope encoding as the rabbit driver (so an unserialisable
 * payload fails at send time with a `TypeError`, and a server sees exactly what it
 * would over RabbitMQ, `client_timeout` included), and remote errors come back in
 * oslo's failure format, rebuilt only per the allow-list. The topology is the rabbit
 * driver's (spec §4.1, §5.3): exchanges, `topic`, `topic.server`, `<topic>_fanout`,
 * `reply_<hex>`, `<topic>.<priority>` and pool queues, in a broker per virtual host
 * shared by the whole process.
 *
 * @module
 */
import type { Config } from '../../config.js';
import {
  InvalidTarget,
  MessageDeliveryFailure,
  MessageUndeliverable,
  MessagingException,
} from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Target } from '../../target.js';
import type {
  Context,
  Driver,
  DriverContext,
  DriverListener,
  ListenOptions,
  NotificationBinding,
  NotificationMessage,
  RpcIncomingMessage,
  RpcRequest,
  SendOptions,
} from '../driver.js';
import {
  encodeNotification,
  buildRpcRequest,
  decodeMessage,
  encodeEnvelope,
  hex32,
} from '../../wire/envelope.js';
import { ReplyWaiter } from '../common/reply-waiter.js';
import {
  CreditPool,
  fakeVirtualHost,
  vhostName,
  type Consumer,
  type FakeQueue,
  type FakeVirtualHost,
} from './broker.js';
import {
  FakeNotificationListener,
  FakeRpcListener,
  type ListenerHost,
  type Releasable,
} from './listener.js';

/** The `_timeout` sent for a call-monitor timeout: whole seconds, as oslo expects. */
function callMonitorSeconds(ms: number | undefined): number | null {
  // Rounded up: the server's heartbeats then come every ceil(s)/2 seconds, still well
  // inside the caller's own monitor of `ms`.
  return ms === undefined ? null : Math.ceil(ms / 1000);
}

class FakeDriver implements Driver, ListenerHost {
  readonly supportsRequeue = true;
  readonly logger: Logger;
  readonly #conf: Config;
  readonly #vhost: FakeVirtualHost;
  readonly #waiter: ReplyWaiter;
  readonly #listeners = new Set<Releasable>();
  #reply: { queue: FakeQueue; consumer: Consumer } | undefined;
  #closed = false;

  constructor(context: DriverContext) {
    this.logger = context.logger;
    this.#conf = context.conf;
    this.#vhost = fakeVirtualHost(vhostName(context.url.virtualHost));
    this.#waiter = new ReplyWaiter(context);
  }

  forget(listener: Releasable): void {
    this.#listeners.delete(listener);
  }

  #exchange(target: Target): string {
    return target.exchange ?? this.#conf.defaults().control_exchange;
  }

  #checkOpen(): void {
    if (this.#closed) throw new MessageDeliveryFailure('the fake transport is closed');
  }

  /** The reply queue, declared and consumed on the first call (as oslo's driver). */
  #replyQueue(): string {
    if (this.#reply === undefined) {
      const queue = this.#vhost.declareQueue(`reply_${hex32()}`);
      const consumer = queue.consume(new CreditPool(Infinity), (delivery) => {
        // The caller acks replies on receipt.
        delivery.ack();
        let reply: Record<string, unknown>;
        try {
          reply = decodeMessage(delivery.message.body);
        } catch (err) {
          this.logger.error('Dropping an undecodable reply: %s', err);
          return;
        }
        this.#waiter.deliver(reply);
      });
      this.#reply = { queue, consumer };
    }
    return this.#reply.queue.name;
  }

  async send(
    target: Target,
    ctxt: Context,
    request: RpcRequest,
    options: SendOptions,
  ): Promise<unknown> {
    this.#checkOpen();
    const topic = target.topic;
    if (topic === undefined) throw new InvalidTarget('A topic is required to send', target);
    if (options.waitForReply && target.fanout === true) {
      throw new InvalidTarget('A call cannot be sent to a fanout', target);
    }
    options.signal?.throwIfAborted();

    let exchange: string;
    let routingKey: string;
    if (target.fanout === true) {
      // The fanout exchange is always <topic>_fanout, whatever Target.exchange says.
      exchange = `${topic}_fanout`;
      routingKey = '';
      this.#vhost.declareExchange(exchange, 'fanout', true);
    } else {
      exchange = this.#exchange(target);
      routingKey = target.server === undefined ? topic : `${topic}.${target.server}`;
      this.#vhost.declareExchange(exchange, 'topic');
    }
    // Casts and fanouts are never mandatory on the wire, but an at-least-once cast is.
    const mandatory = options.atLeastOnce === true && target.fanout !== true;

    if (!options.waitForReply) {
      // Encoding throws TypeError for an unserialisable payload, before anything is sent.
      const body = encodeEnvelope(buildRpcRequest(request, {}, ctxt));
      const routed = this.#vhost.publish(exchange, routingKey, body);
      if (routed === 0 && mandatory) throw new MessageUndeliverable(exchange, routingKey);
      return undefined;
    }

    const timeoutMs = options.timeoutMs ?? this.#conf.defaults().rpc_response_timeout * 1000;
    const msgId = hex32();
    const body = encodeEnvelope(
      buildRpcRequest(
        request,
        {
          msgId,
          replyQ: this.#replyQueue(),
          timeout: callMonitorSeconds(options.callMonitorTimeoutMs),
        },
        ctxt,
      ),
    );
    const reply = this.#waiter.waitFor(msgId, {
      timeoutMs,
      callMonitorTimeoutMs: options.callMonitorTimeoutMs,
      signal: options.signal,
    });
    // The request expires with the call, as the AMQP `expiration` property makes it.
    const routed = this.#vhost.publish(exchange, routingKey, body, { expirationMs: timeoutMs });
    if (routed === 0 && mandatory) {
      this.#waiter.cancel(msgId, new MessageUndeliverable(exchange, routingKey));
    }
    return reply;
  }

  async sendNotification(
    target: Target,
    ctxt: Context,
    message: NotificationMessage,
    version: 1 | 2,
    _retry: number | undefined,
  ): Promise<void> {
    this.#checkOpen();
    const topic = target.topic;
    if (topic === undefined) {
      throw new InvalidTarget('A topic is required to send a notification', target);
    }
    const body = encodeNotification(message, ctxt, version);
    const exchange = this.#exchange(target);
    const routingKey = `${topic}.${message.priority.toLowerCase()}`;
    // The notifier declares and binds the queue itself, so notifications wait for a
    // listener that doesn't exist yet (spec §5.3).
    this.#vhost.declareExchange(exchange, 'topic');
    this.#vhost.bindQueue(this.#vhost.declareQueue(routingKey), exchange, routingKey);
    this.#vhost.publish(exchange, routingKey, body);
  }

  async listen(
    target: Target,
    options: ListenOptions,
  ): Promise<DriverListener<RpcIncomingMessage>> {
    this.#checkOpen();
    const topic = target.topic;
    if (topic === undefined) throw new InvalidTarget('A server needs a topic to listen on', target);
    const vhost = this.#vhost;
    const exchange = this.#exchange(target);
    const fanoutExchange = `${topic}_fanout`;
    const fanoutQueue = `${topic}_fanout_${hex32()}`;
    const listener = new FakeRpcListener(
      this,
      options.maxUnsettled,
      {
        declare: () => {
          vhost.declareExchange(exchange, 'topic');
          const shared = vhost.declareQueue(topic);
          vhost.bindQueue(shared, exchange, topic);
          const queues = [shared];
          if (target.server !== undefined) {
            const key = `${topic}.${target.server}`;
            const queue = vhost.declareQueue(key);
            vhost.bindQueue(queue, exchange, key);
            queues.push(queue);
          }
          vhost.declareExchange(fanoutExchange, 'fanout', true);
          const fanout = vhost.declareQueue(fanoutQueue);
          vhost.bindQueue(fanout, fanoutExchange, topic);
          queues.push(fanout);
          return queues;
        },
        // A server deletes its own fanout queue on cleanup; the topic queues stay.
        release: () => vhost.deleteQueue(fanoutQueue),
      },
      (replyQ, body) => vhost.publish('', replyQ, body) > 0,
    );
    this.#listeners.add(listener);
    return listener;
  }

  async listenForNotifications(
    bindings: readonly NotificationBinding[],
    pool: string | undefined,
    options: ListenOptions,
  ): Promise<DriverListener> {
    this.#checkOpen();
    const routes = bindings.map(({ target, priority }) => {
      if (target.topic === undefined) {
        throw new InvalidTarget('A notification listener needs a topic', target);
      }
      return { exchange: this.#exchange(target), key: `${target.topic}.${priority.toLowerCase()}` };
    });
    const vhost = this.#vhost;
    // A tap (the CLI's `listen`) gets a private queue with the same bindings: a copy of
    // every notification, taking nothing from other consumers.
    const tapQueue = options.tap === true && pool === undefined ? `tap_${hex32()}` : undefined;
    const listener = new FakeNotificationListener(
      this,
      options.maxUnsettled,
      () =>
        routes.map(({ exchange, key }) => {
          vhost.declareExchange(exchange, 'topic');
          // Without a pool, the shared <topic>.<priority> queue; with one, a single queue
          // named exactly the pool, bound once per <topic>.<priority>.
          const queue = vhost.declareQueue(tapQueue ?? pool ?? key);
          vhost.bindQueue(queue, exchange, key);
          return queue;
        }),
      () => {
        if (tapQueue !== undefined) vhost.deleteQueue(tapQueue);
      },
    );
    this.#listeners.add(listener);
    return listener;
  }

  async cleanup(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter.cancelAll(
      new MessagingException('The transport was cleaned up while a call was waiting for its reply'),
    );
    await Promise.all([...this.#listeners].map((listener) => listener.cleanup()));
    if (this.#reply !== undefined) {
      // On RabbitMQ the reply queue expires 30 minutes after its consumer left; nothing
      // can consume it again in memory, so it goes now.
      this.#vhost.deleteQueue(this.#reply.queue.name);
      this.#reply = undefined;
    }
  }
}

/** The `fake` driver factory (registered for the `fake://` scheme). */
export function createFakeDriver(context: DriverContext): Driver {
  return new FakeDriver(context);
}
