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
import { MessageUndeliverable, TransportClosed } from '../../errors.js';
import type { Logger } from '../../log.js';
import {
  buildRpcRequest,
  decodeMessage,
  encodeEnvelope,
  encodeNotification,
  hex32,
} from '../../wire/envelope.js';
import {
  fanoutExchangeName,
  fanoutQueueName,
  notificationRoutingKey,
  replyQueueName,
  rpcRoutingKey,
  tapQueueName,
} from '../common/addresses.js';
import { callMonitorSeconds } from '../common/call-monitor.js';
import { ReplyWaiter } from '../common/reply-waiter.js';
// The whole contract, under one name: this file implements it.
import type * as contract from '../driver.js';
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

class FakeDriver implements contract.TransportDriver, ListenerHost {
  readonly capabilities: contract.DriverCapabilities;
  readonly logger: Logger;
  readonly #vhost: FakeVirtualHost;
  readonly #waiter: ReplyWaiter;
  readonly #onEvent: (event: contract.ConnectionEvent) => void;
  readonly #listeners = new Set<Releasable>();
  #reply: { queue: FakeQueue; consumer: Consumer } | undefined;
  #closed = false;

  constructor(context: contract.DriverContext) {
    this.logger = context.logger;
    this.capabilities = context.capabilities;
    this.#vhost = fakeVirtualHost(vhostName(context.url.virtualHost));
    this.#waiter = new ReplyWaiter(context);
    this.#onEvent = context.onConnectionEvent;
    // In memory there is nothing to connect to: the transport is connected at once.
    context.onConnectionEvent({ type: 'connected', connection: 'fake', host: this.#vhost.name });
  }

  report(event: contract.MessageRejectedEvent): void {
    this.#onEvent(event);
  }

  forget(listener: Releasable): void {
    this.#listeners.delete(listener);
  }

  /** The reply queue, declared and consumed on the first call (as oslo's driver). */
  #replyQueue(): string {
    if (this.#reply === undefined) {
      const queue = this.#vhost.declareQueue(replyQueueName());
      const consumer = queue.consume(new CreditPool(Infinity), (delivery) => {
        // The caller acks replies on receipt.
        delivery.ack();
        let reply: Record<string, unknown>;
        try {
          reply = decodeMessage(delivery.message.body);
        } catch (err) {
          this.logger.error('Dropping an undecodable reply: %s', err);
          this.report({
            type: 'rejected',
            connection: 'fake',
            kind: 'reply',
            exchange: delivery.message.exchange,
            routingKey: delivery.message.routingKey,
            reason: err instanceof Error ? err : new Error(String(err)),
          });
          return;
        }
        this.#waiter.deliver(reply);
      });
      this.#reply = { queue, consumer };
    }
    return this.#reply.queue.name;
  }

  async send(request: contract.SendRequest): Promise<unknown> {
    const { target, signal } = request;
    signal?.throwIfAborted();
    const topic = target.topic;
    let exchange: string;
    let routingKey: string;
    if (target.fanout === true) {
      // The fanout exchange is always <topic>_fanout, whatever Target.exchange says.
      exchange = fanoutExchangeName(topic);
      routingKey = '';
      this.#vhost.declareExchange(exchange, 'fanout', true);
    } else {
      exchange = target.exchange;
      routingKey = rpcRoutingKey(topic, target.server);
      this.#vhost.declareExchange(exchange, 'topic');
    }
    // Casts and fanouts are never mandatory on the wire, but an at-least-once cast is.
    const mandatory = request.atLeastOnce && target.fanout !== true;
    const headers = request.headers;

    if (request.reply === undefined) {
      // Encoding throws TypeError for an unserialisable payload, before anything is sent.
      const body = encodeEnvelope(buildRpcRequest(request.message, {}, request.ctxt));
      const routed = this.#vhost.publish(exchange, routingKey, body, { headers });
      if (routed === 0 && mandatory) throw new MessageUndeliverable(exchange, routingKey);
      return undefined;
    }

    const { timeoutMs } = request;
    const { callMonitorTimeoutMs } = request.reply;
    const msgId = hex32();
    const body = encodeEnvelope(
      buildRpcRequest(
        request.message,
        {
          msgId,
          replyQ: this.#replyQueue(),
          timeout: callMonitorSeconds(callMonitorTimeoutMs),
        },
        request.ctxt,
      ),
    );
    const deadline = Date.now() + timeoutMs;
    const reply = this.#waiter.waitFor(msgId, { timeoutMs, callMonitorTimeoutMs, signal });
    // The request expires with the call, as the AMQP `expiration` property makes it: never
    // after the caller gave up.
    const routed = this.#vhost.publish(exchange, routingKey, body, {
      expirationMs: Math.max(0, deadline - Date.now()),
      headers,
    });
    if (routed === 0 && mandatory) {
      this.#waiter.cancel(msgId, new MessageUndeliverable(exchange, routingKey));
    }
    return reply;
  }

  async sendNotification(request: contract.NotificationRequest): Promise<void> {
    const { target, message } = request;
    request.signal?.throwIfAborted();
    const body = encodeNotification(message, request.ctxt, request.version);
    const exchange = target.exchange;
    const routingKey = notificationRoutingKey(target.topic, message.priority);
    // The notifier declares and binds the queue itself, so notifications wait for a
    // listener that doesn't exist yet (spec §5.3).
    this.#vhost.declareExchange(exchange, 'topic');
    this.#vhost.bindQueue(this.#vhost.declareQueue(routingKey), exchange, routingKey);
    this.#vhost.publish(exchange, routingKey, body, { headers: request.headers });
  }

  listen(request: contract.RpcListenRequest): contract.DriverListener<contract.RpcIncomingMessage> {
    const { target } = request;
    const topic = target.topic;
    const vhost = this.#vhost;
    const exchange = target.exchange;
    const fanoutExchange = fanoutExchangeName(topic);
    const fanoutQueue = fanoutQueueName(topic);
    const listener = new FakeRpcListener(
      this,
      request.maxUnsettled,
      {
        declare: () => {
          vhost.declareExchange(exchange, 'topic');
          const shared = vhost.declareQueue(topic);
          vhost.bindQueue(shared, exchange, topic);
          const queues = [shared];
          if (target.server !== undefined) {
            const key = rpcRoutingKey(topic, target.server);
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

  listenForNotifications(request: contract.NotificationListenRequest): contract.DriverListener {
    const { pool } = request;
    const routes = request.bindings.map(({ target, priority }) => ({
      exchange: target.exchange,
      key: notificationRoutingKey(target.topic, priority),
    }));
    const vhost = this.#vhost;
    // A tap (the CLI's `listen`) gets a private queue with the same bindings: a copy of
    // every notification, taking nothing from other consumers.
    const tapQueue = request.tap && pool === undefined ? tapQueueName() : undefined;
    const listener = new FakeNotificationListener(
      this,
      request.maxUnsettled,
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
    this.#waiter.cancelAll(new TransportClosed());
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
export function createFakeDriver(context: contract.DriverContext): contract.TransportDriver {
  return new FakeDriver(context);
}
