/**
 * The `rabbit://` driver (and its `kombu://` alias): oslo.messaging's RabbitMQ driver,
 * byte-compatible with Python services.
 *
 * Connections, as oslo: one per listener (RPC server or notification listener), one
 * for the transport's reply queue (created on the first call), and one shared send
 * connection with publisher confirms (instead of oslo's pool of send connections) for
 * calls, casts, notifications and the replies of this transport's servers.
 *
 * Deviation from oslo, on purpose: with `rabbit_qos_prefetch_count` = 0 oslo sends no
 * `basic.qos` and lets the broker push a whole backlog into memory; our listeners send
 * `basic.qos` with the server's `maxUnsettled` instead (see `listenerPrefetch`).
 *
 * @module
 */
import { TransportClosed } from '../../errors.js';
import type { Logger } from '../../log.js';
import { buildRpcRequest, encodeEnvelope, encodeNotification, hex32 } from '../../wire/envelope.js';
import { callMonitorSeconds } from '../common/call-monitor.js';
import { notificationRoutingKey, rpcRoutingKey } from '../common/addresses.js';
import type {
  DriverContext,
  DriverListener,
  NotificationListenRequest,
  NotificationRequest,
  RpcIncomingMessage,
  RpcListenRequest,
  SendRequest,
  TransportDriver,
} from '../driver.js';
import { Cancellation } from './connection-wait.js';
import type { ListenerHost, TrackedListener } from './listener.js';
import { RabbitNotificationListener } from './notify-listener.js';
import type { RabbitDriverSettings } from './options.js';
import { Publisher, type PublishTarget } from './publisher.js';
import { ReplyQueue } from './reply-queue.js';
import { ReplySender } from './reply-sender.js';
import { RabbitRpcListener } from './rpc-listener.js';
import {
  fanoutExchange,
  notifierQueue,
  topicExchange,
  type ConsumerSpec,
  type ExchangeSpec,
} from './topology.js';

/**
 * How many exchange and notification-queue descriptions a driver keeps for reuse. A
 * transport publishes to a handful of them; one that publishes to ever new names
 * starts over when the memo is full, so it stays bounded.
 */
const SPEC_MEMO_SIZE = 256;

/** Why the reply-queue setup and publish of a call stopped: the call had ended. */
const CALL_ENDED = new Error('The call ended');

/** See the module comment. */
export class RabbitDriver implements TransportDriver {
  readonly capabilities: TransportDriver['capabilities'];
  readonly logger: Logger;
  readonly settings: RabbitDriverSettings;
  readonly #context: DriverContext<RabbitDriverSettings>;
  readonly #listeners = new Set<TrackedListener>();
  readonly #replySender: ReplySender;
  #publisher: Publisher | undefined;
  #replyQueue: ReplyQueue | undefined;
  #closed = false;
  /**
   * Exchange and notification-queue descriptions by name, made once: every publish to
   * the same place hands the publisher the same objects (its declared-on-this-channel
   * check then costs a lookup, not a description and a key built per message).
   */
  readonly #exchanges = new Map<string, ExchangeSpec>();
  /** Notification queues by exchange, then routing key (no key string built per message). */
  readonly #notifierQueues = new Map<string, Map<string, ConsumerSpec>>();

  constructor(context: DriverContext<RabbitDriverSettings>) {
    this.#context = context;
    this.logger = context.logger;
    // Every connection of the driver reports its state to the transport.
    this.settings = {
      ...context.settings,
      connection: { ...context.settings.connection, onStateEvent: context.onConnectionEvent },
    };
    this.capabilities = context.capabilities;
    this.#replySender = new ReplySender(this.settings, this.logger, () => this.#sender());
  }

  /**
   * The `connection_name`s of this driver's connections, by role (`rabbitmqctl
   * list_connections client_properties` shows them). For tests and operators.
   * @internal
   */
  connectionNames(): { send: string | undefined; reply: string | undefined; listeners: string[] } {
    return {
      send: this.#publisher?.connectionName,
      reply: this.#replyQueue?.connectionName,
      listeners: [...this.#listeners].map((listener) => listener.connectionName),
    };
  }

  /** The reply queue's name, once a call created it. @internal */
  get replyQueueName(): string | undefined {
    return this.#replyQueue?.name;
  }

  async send(request: SendRequest): Promise<unknown> {
    const { target, headers } = request;
    const topic = target.topic;
    let publishTarget: PublishTarget;
    if (target.fanout === true) {
      // Always <topic>_fanout, whatever Target.exchange says; never mandatory.
      const exchange = fanoutExchange(topic, this.settings.topology);
      publishTarget = {
        exchange,
        exchangeName: exchange.name,
        routingKey: '',
        mandatory: false,
        headers,
      };
    } else {
      const exchange = this.#topicExchange(target.exchange);
      publishTarget = {
        exchange,
        exchangeName: exchange.name,
        routingKey: rpcRoutingKey(topic, target.server),
        mandatory: request.atLeastOnce,
        headers,
      };
    }

    if (request.reply === undefined) {
      // Encoding throws TypeError for an unserialisable argument, before anything is sent.
      const body = encodeEnvelope(buildRpcRequest(request.message, {}, request.ctxt));
      await this.#sender().publish(publishTarget, Buffer.from(body, 'utf8'), {
        retry: request.retry,
        timeoutMs: request.timeoutMs,
        signal: request.signal,
      });
      return undefined;
    }
    return this.#call(publishTarget, request, request.reply.callMonitorTimeoutMs);
  }

  async #call(
    publishTarget: PublishTarget,
    request: SendRequest,
    callMonitorTimeoutMs: number | undefined,
  ): Promise<unknown> {
    const timeoutMs = request.timeoutMs;
    const replyQueue = this.#replies();
    const msgId = hex32();
    const body = encodeEnvelope(
      buildRpcRequest(
        request.message,
        { msgId, replyQ: replyQueue.name, timeout: callMonitorSeconds(callMonitorTimeoutMs) },
        request.ctxt,
      ),
    );
    // The waiter owns the call's timeout, call monitor and signal: the caller's promise
    // is the waiter's, so it settles in time even while the broker is away. Setting up
    // the reply queue and publishing run beside it and stop when the call ends (`end`, a
    // Cancellation: no AbortController, DOMException or event per call).
    const reply = replyQueue.waiter.waitFor(msgId, {
      timeoutMs,
      callMonitorTimeoutMs,
      signal: request.signal,
    });
    const end = new Cancellation();
    let sending = true;
    const onEnd = (): void => {
      if (sending) end.abort(CALL_ENDED);
    };
    reply.then(onEnd, onEnd);
    const bounds = { retry: request.retry, signal: end };
    const publish = (): Promise<void> =>
      this.#sender().publish(
        // The broker drops the request when nobody took it before the caller gives up.
        { ...publishTarget, expiration: String(Math.trunc(timeoutMs)) },
        Buffer.from(body, 'utf8'),
        bounds,
      );
    const sent = replyQueue.ready ? publish() : replyQueue.ensure(bounds).then(publish);
    sent.then(
      () => {
        sending = false;
      },
      (err: unknown) => {
        sending = false;
        // During cleanup() the connections close under the call: cleanup rejects it once
        // everything is released, with its own error.
        if (this.#closed) return;
        // A no-op when the call already ended (its own timeout, abort or reply).
        replyQueue.waiter.cancel(msgId, err);
      },
    );
    return reply;
  }

  sendNotification(request: NotificationRequest): Promise<void> {
    // Not async: the publish's promise is the caller's (no extra promise and turn per
    // notification). Encoding errors still arrive as a rejection.
    let body: string;
    try {
      body = encodeNotification(request.message, request.ctxt, request.version);
    } catch (err) {
      // The encoder's TypeError, unchanged, as a rejection.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(err);
    }
    const { target, message } = request;
    const exchangeName = target.exchange;
    const routingKey = notificationRoutingKey(target.topic, message.priority);
    return this.#sender().publish(
      {
        exchange: this.#topicExchange(exchangeName),
        exchangeName,
        routingKey,
        mandatory: false,
        notifierQueue: this.#notifierQueue(exchangeName, routingKey),
        headers: request.headers,
      },
      Buffer.from(body, 'utf8'),
      { retry: request.retry, timeoutMs: request.timeoutMs, signal: request.signal },
    );
  }

  #topicExchange(name: string): ExchangeSpec {
    let spec = this.#exchanges.get(name);
    if (spec === undefined) {
      if (this.#exchanges.size >= SPEC_MEMO_SIZE) this.#exchanges.clear();
      spec = topicExchange(name, this.settings.topology);
      this.#exchanges.set(name, spec);
    }
    return spec;
  }

  #notifierQueue(exchange: string, routingKey: string): ConsumerSpec {
    let byKey = this.#notifierQueues.get(exchange);
    if (byKey === undefined) {
      if (this.#notifierQueues.size >= SPEC_MEMO_SIZE) this.#notifierQueues.clear();
      byKey = new Map();
      this.#notifierQueues.set(exchange, byKey);
    }
    let spec = byKey.get(routingKey);
    if (spec === undefined) {
      if (byKey.size >= SPEC_MEMO_SIZE) byKey.clear();
      spec = notifierQueue(exchange, routingKey, this.settings.topology);
      byKey.set(routingKey, spec);
    }
    return spec;
  }

  listen(request: RpcListenRequest): DriverListener<RpcIncomingMessage> {
    const listener = new RabbitRpcListener(
      this.#listenerHost(),
      request.target,
      request.target.exchange,
      request.maxUnsettled,
      this.#replySender,
    );
    this.#listeners.add(listener);
    return listener;
  }

  listenForNotifications(request: NotificationListenRequest): DriverListener {
    const routes = request.bindings.map(({ target, priority }) => ({
      exchange: target.exchange,
      routingKey: notificationRoutingKey(target.topic, priority),
    }));
    const listener = new RabbitNotificationListener(
      this.#listenerHost(),
      routes,
      request.pool,
      request.maxUnsettled,
      request.bindings[0]?.target,
      request.tap,
    );
    this.#listeners.add(listener);
    return listener;
  }

  async cleanup(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const reply = this.#replyQueue;
    const publisher = this.#publisher;
    await Promise.all([
      reply?.close(),
      ...[...this.#listeners].map((listener) => listener.cleanup()),
    ]);
    // Then: replies of calls that finished while listeners were cleaned up still go out.
    await publisher?.close();
    // Last, once every connection is released, so that a caller sees its call fail
    // together with the cleanup it is waiting for.
    reply?.waiter.cancelAll(new TransportClosed());
  }

  #listenerHost(): ListenerHost {
    return {
      logger: this.logger,
      settings: this.settings,
      report: this.#context.onConnectionEvent,
      forget: (listener) => this.#listeners.delete(listener),
    };
  }

  #sender(): Publisher {
    this.#publisher ??= new Publisher(this.settings, this.logger);
    return this.#publisher;
  }

  #replies(): ReplyQueue {
    this.#replyQueue ??= new ReplyQueue(this.settings, this.#context);
    return this.#replyQueue;
  }
}

/** The `rabbit` (and `kombu`) driver factory. */
export function createRabbitDriver(context: DriverContext<RabbitDriverSettings>): TransportDriver {
  return new RabbitDriver(context);
}
