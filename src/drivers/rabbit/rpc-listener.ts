/**
 * An RPC server's listener (spec §4.1): the shared topic queue `T`, the server queue
 * `T.S` and a fanout queue `T_fanout_<hex32>` of its own, consumed on one connection;
 * the fanout queue is deleted on cleanup.
 *
 * @module
 */
import type { Target } from '../../target.js';
import type { RpcIncomingMessage } from '../driver.js';
import type { RpcReply } from '../../wire/messages.js';
import { hex32, type UnpackedMessage } from '../../wire/envelope.js';
import { fanoutQueueName, rpcRoutingKey } from '../common/addresses.js';
import { callMonitorTimeoutFromWire } from '../common/reply-waiter.js';
import { preview } from '../../wire/bounds.js';
import { UniqueIdCache } from './caches.js';
import type { Delivery } from './connection.js';
import { RabbitIncomingMessage, unpackRpcRequest, type Settler } from './incoming.js';
import {
  FANOUT_DELETE_TIMEOUT_MS,
  RabbitListener,
  type ListenerHost,
  type Prepared,
} from './listener.js';
import type { ReplySender } from './reply-sender.js';
import { fanoutConsumer, topicConsumer, type ConsumerSpec } from './topology.js';

/** A received RPC request. */
export class RabbitRpcMessage extends RabbitIncomingMessage implements RpcIncomingMessage {
  readonly msgId: string | undefined;
  readonly callMonitorTimeoutMs: number | undefined;
  readonly #replyQ: string | undefined;
  readonly #sender: ReplySender;
  #replied = false;

  constructor(
    delivery: Delivery,
    unpacked: UnpackedMessage,
    settler: Settler,
    host: ListenerHost,
    sender: ReplySender,
    onSettled: () => void,
  ) {
    super(delivery, unpacked, settler, host.logger, onSettled);
    this.msgId = unpacked.msgId;
    this.#replyQ = unpacked.replyQ;
    this.#sender = sender;
    this.callMonitorTimeoutMs = callMonitorTimeoutFromWire(unpacked.clientTimeout);
    if (unpacked.clientTimeout !== null && this.callMonitorTimeoutMs === undefined) {
      host.logger.warn(
        'Client provided an invalid timeout value of %s',
        preview(unpacked.clientTimeout),
      );
    }
  }

  async reply(reply: RpcReply): Promise<void> {
    const { msgId } = this;
    const replyQ = this.#replyQ;
    if (msgId === undefined || replyQ === undefined) return;
    if (this.#replied) {
      this.logger.debug('Ignoring a second reply to msg_id %s', msgId);
      return;
    }
    // Marked only once sent: a result that can't be encoded rejects with TypeError, and
    // the server may then send a failure instead.
    await this.#sender.sendReply(replyQ, msgId, reply);
    this.#replied = true;
  }

  async heartbeat(): Promise<void> {
    const { msgId, callMonitorTimeoutMs } = this;
    const replyQ = this.#replyQ;
    if (msgId === undefined || replyQ === undefined || this.#replied) return;
    // A heartbeat that can't go out within half the caller's monitor is useless.
    await this.#sender.sendHeartbeat(
      replyQ,
      msgId,
      Math.max(1000, (callMonitorTimeoutMs ?? 2000) / 2),
    );
  }
}

/** See the module comment. */
export class RabbitRpcListener extends RabbitListener<RpcIncomingMessage> {
  readonly #exchange: string;
  readonly #topic: string;
  readonly #server: string | undefined;
  readonly #fanoutQueue: string;
  readonly #sender: ReplySender;
  /** Recorded `_unique_id`s of requests (see ../common/duplicates.ts); a repeat gets no reply. */
  readonly #duplicates = new UniqueIdCache();
  readonly #settler: Settler;
  readonly #unique: string;

  constructor(
    host: ListenerHost,
    target: Target & { topic: string },
    exchange: string,
    maxUnsettled: number,
    sender: ReplySender,
  ) {
    super(host, maxUnsettled, target);
    this.#exchange = exchange;
    this.#topic = target.topic;
    this.#server = target.server;
    this.#unique = hex32();
    this.#fanoutQueue = fanoutQueueName(target.topic, this.#unique);
    this.#sender = sender;
    this.#settler = {
      ack: (d) => this.connection.ack(d),
      reject: (d, requeue) => this.connection.reject(d, requeue),
    };
  }

  /** The name of this server's fanout queue. */
  get fanoutQueue(): string {
    return this.#fanoutQueue;
  }

  protected consumerSpecs(): readonly ConsumerSpec[] {
    const flags = this.host.settings.topology;
    const specs = [topicConsumer(this.#exchange, this.#topic, flags)];
    if (this.#server !== undefined) {
      specs.push(topicConsumer(this.#exchange, rpcRoutingKey(this.#topic, this.#server), flags));
    }
    const fanout = fanoutConsumer(this.#topic, this.#unique, flags);
    specs.push(fanout);
    return specs;
  }

  protected prepare(
    delivery: Delivery,
    decoded: Record<string, unknown>,
  ): Prepared<RpcIncomingMessage> | undefined {
    const unpacked = unpackRpcRequest(decoded);
    if (this.#duplicates.has(unpacked.uniqueId)) {
      // oslo acks a request first, then drops a repeat without dispatch or reply.
      this.connection.ack(delivery);
      this.host.logger.warn('ignoring duplicate message %s', unpacked.msgId ?? unpacked.uniqueId);
      return undefined;
    }
    const message = new RabbitRpcMessage(
      delivery,
      unpacked,
      this.#settler,
      this.host,
      this.#sender,
      () => this.settled(),
    );
    // Recorded when the server gets it, not on arrival: a buffered request whose channel
    // died is redelivered and must not then count as a duplicate.
    return { message, onHandOver: () => this.#duplicates.add(unpacked.uniqueId) };
  }

  /** A server deletes its own fanout queue on a clean shutdown; `T` and `T.S` stay. */
  protected override async release(): Promise<void> {
    await this.connection.deleteQueue(this.#fanoutQueue, {
      retry: 0,
      timeoutMs: FANOUT_DELETE_TIMEOUT_MS,
    });
  }
}
