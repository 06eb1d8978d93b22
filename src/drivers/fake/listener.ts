/**
 * The fake driver's listeners and received messages. Bodies are decoded with the same
 * envelope code as the rabbit driver's, so a server sees exactly what it would see
 * over RabbitMQ.
 *
 * @module
 */
import { MessageDeliveryFailure } from '../../errors.js';
import type { Logger } from '../../log.js';
import type {
  DeliveryInfo,
  DriverListener,
  IncomingMessage,
  MessageRejectedEvent,
  MessageCallback,
  MessageHeaders,
  RpcIncomingMessage,
} from '../driver.js';
import type { RequestContext, RpcReply } from '../../wire/messages.js';
import {
  buildRpcReply,
  decodeMessage,
  encodeEnvelope,
  unpackContext,
} from '../../wire/envelope.js';
import { DuplicateCache } from '../common/duplicates.js';
import { callMonitorTimeoutFromWire } from '../common/reply-waiter.js';
import { preview } from '../../wire/bounds.js';
import { CreditPool, type Consumer, type Delivery, type FakeQueue } from './broker.js';

/** Publishes a reply body to the default exchange; returns whether a queue took it. */
export type ReplyPublisher = (replyQ: string, body: string) => boolean;

class FakeIncomingMessage implements IncomingMessage {
  readonly ctxt: RequestContext;
  readonly message: Record<string, unknown>;
  protected readonly logger: Logger;
  readonly #delivery: Delivery;

  constructor(
    delivery: Delivery,
    ctxt: RequestContext,
    message: Record<string, unknown>,
    logger: Logger,
  ) {
    this.#delivery = delivery;
    this.ctxt = ctxt;
    this.message = message;
    this.logger = logger;
  }

  get headers(): MessageHeaders {
    return this.#delivery.message.headers;
  }

  get delivery(): DeliveryInfo {
    return this.#delivery.message;
  }

  async acknowledge(): Promise<void> {
    if (this.#delivery.ack()) this.onAcknowledged();
    else this.#alreadySettled('acknowledge');
  }

  async requeue(): Promise<void> {
    if (!this.#delivery.requeue()) this.#alreadySettled('requeue');
  }

  async reject(): Promise<void> {
    if (!this.#delivery.reject()) this.#alreadySettled('reject');
  }

  protected onAcknowledged(): void {}

  #alreadySettled(what: string): void {
    this.logger.debug('Ignoring %s: the message was already settled or given back', what);
  }
}

class FakeNotificationMessage extends FakeIncomingMessage {
  readonly #onAck: () => void;

  constructor(
    delivery: Delivery,
    ctxt: RequestContext,
    message: Record<string, unknown>,
    logger: Logger,
    onAck: () => void,
  ) {
    super(delivery, ctxt, message, logger);
    this.#onAck = onAck;
  }

  // oslo records a notification's _unique_id when it is acked, so a requeued and
  // redelivered notification is not mistaken for a duplicate.
  protected override onAcknowledged(): void {
    this.#onAck();
  }
}

class FakeRpcMessage extends FakeIncomingMessage implements RpcIncomingMessage {
  readonly msgId: string | undefined;
  readonly callMonitorTimeoutMs: number | undefined;
  readonly #replyQ: string | undefined;
  readonly #publish: ReplyPublisher;
  #replied = false;

  constructor(
    delivery: Delivery,
    unpacked: ReturnType<typeof unpackContext>,
    logger: Logger,
    publish: ReplyPublisher,
  ) {
    super(delivery, unpacked.ctxt, unpacked.message, logger);
    this.msgId = unpacked.msgId;
    this.#replyQ = unpacked.replyQ;
    this.#publish = publish;
    this.callMonitorTimeoutMs = callMonitorTimeoutFromWire(unpacked.clientTimeout);
    // oslo ignores a falsy _timeout silently and logs any other value it cannot use.
    if (Boolean(unpacked.clientTimeout) && this.callMonitorTimeoutMs === undefined) {
      logger.warn(
        'Client provided an invalid timeout value of %s',
        preview(unpacked.clientTimeout),
      );
    }
  }

  async reply(reply: RpcReply): Promise<void> {
    if (this.#replied) {
      this.logger.debug('Ignoring a second reply to msg_id %s', this.msgId);
      return;
    }
    const result = reply.failure === undefined ? reply.result : null;
    if (this.#send(result, reply.failure ?? null, true) !== 'cast') this.#replied = true;
  }

  /** Rejects with `MessageDeliveryFailure` when the caller's reply queue is gone (as oslo). */
  async heartbeat(): Promise<void> {
    if (this.#replied) return;
    if (this.#send(null, null, false) === 'missing') {
      throw new MessageDeliveryFailure('Heartbeat send failed. Missing queue');
    }
  }

  /** Throws TypeError for an unserialisable result, before anything is sent. */
  #send(result: unknown, failure: string | null, ending: boolean): 'cast' | 'sent' | 'missing' {
    const msgId = this.msgId;
    const replyQ = this.#replyQ;
    if (msgId === undefined || replyQ === undefined) return 'cast';
    const body = encodeEnvelope(buildRpcReply({ result, failure, ending, msgId }));
    if (this.#publish(replyQ, body)) return 'sent';
    if (ending) {
      // On RabbitMQ the server retries a missing reply queue for a while, then gives up;
      // in memory the queue can't come back: the caller is gone.
      this.logger.warn("%s doesn't exist, drop reply to %s", replyQ, msgId);
    }
    return 'missing';
  }
}

/** A listener, as its driver tracks it (to release it on driver cleanup). */
export interface Releasable {
  cleanup(): Promise<void>;
}

/** What a listener needs from its driver. */
export interface ListenerHost {
  readonly logger: Logger;
  /** Reports a message rejected as malformed. */
  report(event: MessageRejectedEvent): void;
  /** Called once the listener is cleaned up. */
  forget(listener: Releasable): void;
}

/**
 * A listener over some queues of one virtual host, with one credit pool for all of them
 * (`maxUnsettled`).
 */
export abstract class FakeListener<M extends IncomingMessage> implements DriverListener<M> {
  /** What this listener's messages are, for the `rejected` event. */
  protected abstract readonly messageKind: 'rpc' | 'notification';
  protected readonly host: ListenerHost;
  protected readonly duplicates = new DuplicateCache();
  readonly #credit: CreditPool;
  #consumers: Consumer[] = [];
  #state: 'new' | 'started' | 'stopped' | 'closed' = 'new';
  #onMessage: MessageCallback<M> | undefined;

  constructor(host: ListenerHost, maxUnsettled: number) {
    this.host = host;
    this.#credit = new CreditPool(maxUnsettled);
  }

  /** Messages delivered and not yet settled. */
  get unsettled(): number {
    return this.#credit.unsettled;
  }

  /** Declare the topology and return the queues to consume. */
  protected abstract declare(): FakeQueue[];

  /** Turn a decoded body into the message handed to the server, or `undefined` to drop it. */
  protected abstract incoming(delivery: Delivery, decoded: Record<string, unknown>): M | undefined;

  /** Called once by `cleanup()` after the consumers are closed. */
  protected released(): void {}

  async start(onMessage: MessageCallback<M>): Promise<void> {
    if (this.#state !== 'new') throw new Error(`listener cannot start: it is ${this.#state}`);
    this.#state = 'started';
    this.#onMessage = onMessage;
    const queues = [...new Set(this.declare())];
    this.#consumers = queues.map((queue) =>
      queue.consume(this.#credit, (delivery) => this.#receive(delivery)),
    );
  }

  async stop(): Promise<void> {
    if (this.#state !== 'started') return;
    this.#state = 'stopped';
    for (const consumer of this.#consumers) consumer.cancel();
  }

  async cleanup(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    // As when a channel closes: deliveries not yet settled go back to their queues.
    for (const consumer of this.#consumers) consumer.close();
    this.#consumers = [];
    this.#onMessage = undefined;
    this.released();
    this.host.forget(this);
  }

  #receive(delivery: Delivery): void {
    const onMessage = this.#onMessage;
    if (onMessage === undefined) {
      delivery.requeue();
      return;
    }
    let message: M | undefined;
    try {
      message = this.incoming(delivery, decodeMessage(delivery.message.body));
    } catch (err) {
      // As oslo: an undecodable message is logged and rejected without requeue.
      this.host.logger.error('Failed to process message ... skipping it: %s', err);
      delivery.reject();
      this.host.report({
        type: 'rejected',
        connection: 'fake',
        kind: this.messageKind,
        exchange: delivery.message.exchange,
        routingKey: delivery.message.routingKey,
        reason: err instanceof Error ? err : new Error(String(err)),
      });
      return;
    }
    if (message === undefined) return;
    try {
      onMessage(message);
    } catch (err) {
      this.host.logger.error('Message callback failed: %s', err);
    }
  }
}

/** An RPC server's listener: the topic queue, the `topic.server` queue and a fanout queue. */
export class FakeRpcListener extends FakeListener<RpcIncomingMessage> {
  protected readonly messageKind = 'rpc';
  readonly #declare: () => FakeQueue[];
  readonly #release: () => void;
  readonly #publishReply: ReplyPublisher;

  constructor(
    host: ListenerHost,
    maxUnsettled: number,
    topology: { declare: () => FakeQueue[]; release: () => void },
    publishReply: ReplyPublisher,
  ) {
    super(host, maxUnsettled);
    this.#declare = topology.declare;
    this.#release = topology.release;
    this.#publishReply = publishReply;
  }

  protected declare(): FakeQueue[] {
    return this.#declare();
  }

  protected override released(): void {
    this.#release();
  }

  protected incoming(
    delivery: Delivery,
    decoded: Record<string, unknown>,
  ): RpcIncomingMessage | undefined {
    const unpacked = unpackContext(decoded);
    // oslo acks an RPC request, then checks and records its _unique_id: a repeat is
    // dropped without a reply.
    if (this.duplicates.has(unpacked.uniqueId)) {
      this.host.logger.error('ignoring duplicate message %s', unpacked.msgId ?? unpacked.uniqueId);
      delivery.ack();
      return undefined;
    }
    this.duplicates.add(unpacked.uniqueId);
    return new FakeRpcMessage(delivery, unpacked, this.host.logger, this.#publishReply);
  }
}

/** A notification listener: `<topic>.<priority>` queues, or one pool queue. */
export class FakeNotificationListener extends FakeListener<IncomingMessage> {
  protected readonly messageKind = 'notification';
  readonly #declare: () => FakeQueue[];
  readonly #release: () => void;

  constructor(
    host: ListenerHost,
    maxUnsettled: number,
    declare: () => FakeQueue[],
    release: () => void = () => undefined,
  ) {
    super(host, maxUnsettled);
    this.#declare = declare;
    this.#release = release;
  }

  protected declare(): FakeQueue[] {
    return this.#declare();
  }

  protected override released(): void {
    this.#release();
  }
  protected incoming(
    delivery: Delivery,
    decoded: Record<string, unknown>,
  ): IncomingMessage | undefined {
    const unpacked = unpackContext(decoded);
    if (this.duplicates.has(unpacked.uniqueId)) {
      this.host.logger.error('ignoring duplicate message %s', unpacked.uniqueId);
      delivery.ack();
      return undefined;
    }
    return new FakeNotificationMessage(
      delivery,
      unpacked.ctxt,
      unpacked.message,
      this.host.logger,
      () => this.duplicates.add(unpacked.uniqueId),
    );
  }
}
