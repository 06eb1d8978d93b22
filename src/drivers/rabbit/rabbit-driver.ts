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
import { InvalidTarget, MessagingException } from '../../errors.js';
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
import { encodeNotification, buildRpcRequest, encodeEnvelope, hex32 } from '../../wire/envelope.js';
import type { ListenerHost, TrackedListener } from './listener.js';
import { NotificationListener } from './notify-listener.js';
import { resolveRabbitSettings, type RabbitDriverSettings } from './options.js';
import { Publisher, type PublishTarget } from './publisher.js';
import { Cancellation } from './connection-wait.js';
import { ReplyQueue } from './reply-queue.js';
import { ReplySender } from './reply-sender.js';
import { RpcListener } from './rpc-listener.js';
import {
  fanoutExchange,
  notificationRoutingKey,
  notifierQueue,
  rpcRoutingKey,
  topicExchange,
} from './topology.js';

/** The `_timeout` sent for a call-monitor timeout: whole seconds, rounded up. */
function callMonitorSeconds(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.ceil(ms / 1000);
}

/** Why the reply-queue setup and publish of a call stopped: the call had ended. */
const CALL_ENDED = new Error('The call ended');

/** See the module comment. */
export class RabbitDriver implements Driver {
  readonly supportsRequeue = true;
  readonly logger: Logger;
  readonly settings: RabbitDriverSettings;
  readonly #context: DriverContext;
  readonly #listeners = new Set<TrackedListener>();
  readonly #replySender: ReplySender;
  #publisher: Publisher | undefined;
  #replyQueue: ReplyQueue | undefined;
  #closed = false;

  /** @throws ConfigurationError for bad options (checked when the transport is made). */
  constructor(context: DriverContext) {
    this.#context = context;
    this.logger = context.logger;
    this.settings = resolveRabbitSettings(context.url, context.conf, context.logger);
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

    let publishTarget: PublishTarget;
    if (target.fanout === true) {
      // Always <topic>_fanout, whatever Target.exchange says; never mandatory.
      const exchange = fanoutExchange(topic);
      publishTarget = { exchange, exchangeName: exchange.name, routingKey: '', mandatory: false };
    } else {
      const exchange = topicExchange(this.#exchangeOf(target), this.settings.topology);
      publishTarget = {
        exchange,
        exchangeName: exchange.name,
        routingKey: rpcRoutingKey(topic, target.server),
        mandatory: options.atLeastOnce === true,
      };
    }

    if (!options.waitForReply) {
      // Encoding throws TypeError for an unserialisable argument, before anything is sent.
      const body = encodeEnvelope(buildRpcRequest(request, {}, ctxt));
      await this.#sender().publish(publishTarget, Buffer.from(body, 'utf8'), {
        retry: options.retry,
        signal: options.signal,
      });
      return undefined;
    }
    return this.#call(publishTarget, ctxt, request, options);
  }

  async #call(
    publishTarget: PublishTarget,
    ctxt: Context,
    request: RpcRequest,
    options: SendOptions,
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.settings.rpcResponseTimeoutMs;
    const replyQueue = this.#replies();
    const msgId = hex32();
    const body = encodeEnvelope(
      buildRpcRequest(
        request,
        {
          msgId,
          replyQ: replyQueue.name,
          timeout: callMonitorSeconds(options.callMonitorTimeoutMs),
        },
        ctxt,
      ),
    );
    // The waiter owns the call's timeout, call monitor and signal: the caller's promise
    // is the waiter's, so it settles in time even while the broker is away. Setting up
    // the reply queue and publishing run beside it and stop when the call ends (`end`, a
    // Cancellation: no AbortController, DOMException or event per call).
    const reply = replyQueue.waiter.waitFor(msgId, {
      timeoutMs,
      callMonitorTimeoutMs: options.callMonitorTimeoutMs,
      signal: options.signal,
    });
    const end = new Cancellation();
    let sending = true;
    const onEnd = (): void => {
      if (sending) end.abort(CALL_ENDED);
    };
    reply.then(onEnd, onEnd);
    const bounds = { retry: options.retry, signal: end };
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

  async sendNotification(
    target: Target,
    ctxt: Context,
    message: NotificationMessage,
    version: 1 | 2,
    retry: number | undefined,
  ): Promise<void> {
    this.#checkOpen();
    const topic = target.topic;
    if (topic === undefined) {
      throw new InvalidTarget('A topic is required to send a notification', target);
    }
    const body = encodeNotification(message, ctxt, version);
    const exchangeName = this.#exchangeOf(target);
    const routingKey = notificationRoutingKey(topic, message.priority);
    await this.#sender().publish(
      {
        exchange: topicExchange(exchangeName, this.settings.topology),
        exchangeName,
        routingKey,
        mandatory: false,
        notifierQueue: notifierQueue(exchangeName, routingKey, this.settings.topology),
      },
      Buffer.from(body, 'utf8'),
      { retry },
    );
  }

  async listen(
    target: Target,
    options: ListenOptions,
  ): Promise<DriverListener<RpcIncomingMessage>> {
    this.#checkOpen();
    const topic = target.topic;
    if (topic === undefined) throw new InvalidTarget('A server needs a topic to listen on', target);
    const listener = new RpcListener(
      this.#listenerHost(),
      target as Target & { topic: string },
      this.#exchangeOf(target),
      options.maxUnsettled,
      this.#replySender,
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
      return {
        exchange: this.#exchangeOf(target),
        routingKey: notificationRoutingKey(target.topic, priority),
      };
    });
    const listener = new NotificationListener(
      this.#listenerHost(),
      routes,
      pool,
      options.maxUnsettled,
      bindings[0]?.target,
      options.tap === true,
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
    reply?.waiter.cancelAll(
      new MessagingException('The transport was cleaned up while a call was waiting for its reply'),
    );
  }

  #listenerHost(): ListenerHost {
    return {
      logger: this.logger,
      settings: this.settings,
      forget: (listener) => this.#listeners.delete(listener),
    };
  }

  #exchangeOf(target: Target): string {
    return target.exchange ?? this.settings.controlExchange;
  }

  #sender(): Publisher {
    this.#publisher ??= new Publisher(this.settings, this.logger);
    return this.#publisher;
  }

  #replies(): ReplyQueue {
    this.#replyQueue ??= new ReplyQueue(this.settings, this.#context);
    return this.#replyQueue;
  }

  #checkOpen(): void {
    if (this.#closed) throw new MessagingException('The transport has been cleaned up');
  }
}

/** The `rabbit` (and `kombu`) driver factory. */
export function createRabbitDriver(context: DriverContext): Driver {
  return new RabbitDriver(context);
}
