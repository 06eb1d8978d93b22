/**
 * An RPC server's listener (spec §4.1): the shared topic queue `T`, the server queue
 * `T.S` and a fanout queue `T_fanout_<hex32>` of its own, consumed on one connection;
 * the fanout queue is deleted on cleanup. Under upstream HEAD's options the fanout queue
 * is named by the queue manager (and kept), or is the topic's shared stream `T_fanout`
 * (kept, consumed from the offset after the last message seen).
 *
 * @module
 */
import type { Target } from '../../target.js';
import type { RpcIncomingMessage } from '../driver.js';
import type { RpcReply } from '../../wire/messages.js';
import type { UnpackedMessage } from '../../wire/envelope.js';
import { rpcRoutingKey } from '../common/addresses.js';
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
import type { ConsumerArguments } from './connection-types.js';
import {
  fanoutConsumer,
  fanoutQueueFor,
  streamConsumerArguments,
  topicConsumer,
  type ConsumerSpec,
} from './topology.js';

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
  protected readonly messageKind = 'rpc';
  readonly #exchange: string;
  readonly #topic: string;
  readonly #server: string | undefined;
  readonly #fanoutQueue: string;
  readonly #sender: ReplySender;
  /** Recorded `_unique_id`s of requests (see ../common/duplicates.ts); a repeat gets no reply. */
  readonly #duplicates = new UniqueIdCache();
  readonly #settler: Settler;
  readonly #unique: string;
  /** Under `rabbit_stream_fanout`: where the fanout stream is consumed from next. */
  #nextStreamOffset: number | 'last' = 'last';

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
    // As HEAD: the shared stream needs no unique part, so it takes no queue-manager number.
    this.#unique = host.settings.topology.streamFanout ? '' : host.settings.queueUnique();
    this.#fanoutQueue = fanoutQueueFor(target.topic, this.#unique, host.settings.topology);
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

  protected override consumerArgumentsFor(queue: string): ConsumerArguments {
    if (queue !== this.#fanoutQueue || !this.host.settings.topology.streamFanout) {
      return super.consumerArgumentsFor(queue);
    }
    // Read at every (re)consume: a reconnect resumes after the last message seen.
    return () => streamConsumerArguments(this.#nextStreamOffset);
  }

  protected prepare(
    delivery: Delivery,
    decoded: Record<string, unknown>,
  ): Prepared<RpcIncomingMessage> | undefined {
    if (this.host.settings.topology.streamFanout) this.#noteStreamOffset(delivery);
    const unpacked = unpackRpcRequest(decoded);
    if (this.#duplicates.has(unpacked.uniqueId)) {
      // oslo acks a request first, then drops a repeat without dispatch or reply.
      this.connection.ack(delivery);
      this.host.logger.error('ignoring duplicate message %s', unpacked.msgId ?? unpacked.uniqueId);
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

  #noteStreamOffset(delivery: Delivery): void {
    const headers = delivery.properties.headers as Record<string, unknown> | undefined;
    const offset = headers?.['x-stream-offset'];
    if (typeof offset === 'number' && Number.isSafeInteger(offset)) {
      this.#nextStreamOffset = offset + 1;
    }
  }

  /**
   * A server deletes its own fanout queue on a clean shutdown; `T` and `T.S` stay. A
   * stream is shared and a queue manager's name is meant to be found again after a
   * restart: those stay too, and expire by `x-expires` / `x-max-age`.
   */
  protected override async release(): Promise<void> {
    if (!this.host.settings.deleteFanoutQueues) return;
    await this.connection.deleteQueue(this.#fanoutQueue, {
      retry: 0,
      timeoutMs: FANOUT_DELETE_TIMEOUT_MS,
    });
  }
}
