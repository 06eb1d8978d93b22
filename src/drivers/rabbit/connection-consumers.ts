/**
 * The consumers of a {@link RabbitConnection}: they outlive channels (re-consumed on each
 * new one), get oslo's consumer tags ("1", "2", ... per connection), and their deliveries
 * remember their channel so that a late ack of a dead channel is dropped, not sent. Used
 * only by `connection.ts`.
 *
 * @module
 */
import type { ConsumeMessage } from 'amqplib';

import type { Logger } from '../../log.js';
import type { ChannelSlot } from './connection-channel.js';
import { errorText } from './connection-errors.js';
import type {
  ConsumerArguments,
  Delivery,
  DeliveryHandler,
  RabbitConsumer,
} from './connection-types.js';

interface ConsumerRecord {
  readonly queue: string;
  consumerTag: string | undefined;
  readonly handler: DeliveryHandler;
  readonly args: ConsumerArguments;
  slot: ChannelSlot | undefined;
  activating: { slot: ChannelSlot; done: Promise<void> } | undefined;
  cancelled: boolean;
  /** We deleted its queue ourselves: the broker's basic.cancel that follows is expected. */
  queueDeleted: boolean;
  /** Its first `basic.consume` succeeded: from then on every new channel resumes it. */
  established: boolean;
}

/**
 * A delivery as handlers get it, remembering (privately) the channel it came on and
 * whether it was settled. A private field, not a `WeakMap` keyed by deliveries: a weak
 * map with one entry per message costs every garbage collection its ephemeron tables.
 */
class ConsumedDelivery implements Delivery {
  readonly body: Buffer;
  readonly fields: Delivery['fields'];
  readonly properties: Delivery['properties'];
  readonly #slot: ChannelSlot;
  readonly #raw: ConsumeMessage;
  #done = false;

  constructor(slot: ChannelSlot, raw: ConsumeMessage) {
    this.body = raw.content;
    this.fields = {
      deliveryTag: raw.fields.deliveryTag,
      redelivered: raw.fields.redelivered,
      exchange: raw.fields.exchange,
      routingKey: raw.fields.routingKey,
      consumerTag: raw.fields.consumerTag,
    };
    this.properties = raw.properties;
    this.#slot = slot;
    this.#raw = raw;
  }

  /**
   * Runs `run` on the delivery's channel once; `undefined` when the delivery is not one
   * of ours or was settled already, else what `run` returned (false: its channel is gone).
   */
  static settleOnce(
    message: Delivery,
    run: (slot: ChannelSlot, raw: ConsumeMessage) => boolean,
  ): boolean | undefined {
    if (!(message instanceof ConsumedDelivery) || message.#done) return undefined;
    message.#done = true;
    return run(message.#slot, message.#raw);
  }
}

/** What the registry asks of its connection. */
export interface ConsumerHooks {
  closing(): boolean;
  /** The broker cancelled a live consumer: recover (oslo drops the connection). */
  brokerCancelled(queue: string, slot: ChannelSlot): void;
  /** The number of consumers went down. */
  shrunk(): void;
}

/** See the module comment. */
export class ConsumerRegistry {
  readonly #hooks: ConsumerHooks;
  readonly #log: Logger;
  readonly #records = new Set<ConsumerRecord>();
  readonly #byHandle = new WeakMap<RabbitConsumer, ConsumerRecord>();
  #tagCounter = 0;

  constructor(hooks: ConsumerHooks, logger: Logger) {
    this.#hooks = hooks;
    this.#log = logger;
  }

  get size(): number {
    return this.#records.size;
  }

  /** Registers a consumer; it is activated on each channel from now on. */
  add(queue: string, handler: DeliveryHandler, args: ConsumerArguments): RabbitConsumer {
    const rec: ConsumerRecord = {
      queue,
      consumerTag: undefined,
      handler,
      args,
      slot: undefined,
      activating: undefined,
      cancelled: false,
      queueDeleted: false,
      established: false,
    };
    const handle: RabbitConsumer = {
      queue,
      get consumerTag() {
        return rec.consumerTag;
      },
    };
    this.#records.add(rec);
    this.#byHandle.set(handle, rec);
    return handle;
  }

  /** Issues `basic.consume` on `slot` unless the consumer already consumes there. */
  async activate(handle: RabbitConsumer, slot: ChannelSlot): Promise<void> {
    const rec = this.#byHandle.get(handle);
    if (rec !== undefined) await this.#activate(rec, slot);
  }

  /**
   * Resumes every established consumer on a new channel, in the order they were added.
   * (A consumer's first `basic.consume` is its caller's business: if the queue is
   * missing, that caller gets the 404, the recovery does not retry it.)
   */
  async activateAll(slot: ChannelSlot): Promise<void> {
    for (const rec of [...this.#records]) {
      if (this.#hooks.closing()) return;
      if (rec.established) await this.#activate(rec, slot);
    }
  }

  async #activate(rec: ConsumerRecord, slot: ChannelSlot): Promise<void> {
    if (rec.cancelled || rec.slot === slot) return;
    if (rec.activating?.slot === slot) return rec.activating.done;
    this.#tagCounter += 1;
    const tag = String(this.#tagCounter);
    const done = slot
      .consume(rec.queue, tag, typeof rec.args === 'function' ? rec.args() : rec.args, (raw) =>
        this.#onDelivery(rec, slot, raw),
      )
      .then(async () => {
        if (rec.cancelled) {
          await slot.cancel(tag).catch(() => undefined);
        } else if (slot.open) {
          rec.slot = slot;
          rec.consumerTag = tag;
          rec.established = true;
        }
      });
    rec.activating = { slot, done };
    try {
      await done;
    } finally {
      if (rec.activating?.done === done) rec.activating = undefined;
    }
  }

  /**
   * Removes a consumer; sends `basic.cancel` when it is consuming. From the call on its
   * handler gets nothing more (late deliveries are requeued).
   */
  async cancel(handle: RabbitConsumer): Promise<void> {
    const rec = this.#byHandle.get(handle);
    if (rec === undefined || rec.cancelled) return;
    const { slot, consumerTag } = rec;
    this.#drop(rec);
    if (slot?.open === true && consumerTag !== undefined) {
      try {
        await slot.cancel(consumerTag);
      } catch (err) {
        // The channel went away, and the consumer with it.
        this.#log.debug('basic.cancel of consumer %s failed: %s', consumerTag, errorText(err));
      }
    }
  }

  #drop(rec: ConsumerRecord): void {
    rec.cancelled = true;
    rec.slot = undefined;
    rec.consumerTag = undefined;
    this.#records.delete(rec);
    this.#hooks.shrunk();
  }

  /** A channel closed: its consumers are down until the next channel. */
  channelClosed(slot: ChannelSlot): void {
    for (const rec of this.#records) {
      if (rec.slot === slot) {
        rec.slot = undefined;
        rec.consumerTag = undefined;
      }
    }
  }

  /** We are deleting this queue: the broker will cancel its consumers, and that is fine. */
  queueDeleted(queue: string): void {
    for (const rec of this.#records) if (rec.queue === queue) rec.queueDeleted = true;
  }

  /** Acks or rejects a delivery once; false (logged) when its channel is gone. */
  settle(
    message: Delivery,
    run: (slot: ChannelSlot, raw: ConsumeMessage) => boolean,
    what: string,
  ): void {
    if (ConsumedDelivery.settleOnce(message, run) === false) {
      this.#log.warn(
        'Failed to %s received message (delivery %d): its channel is gone',
        what,
        message.fields.deliveryTag,
      );
    }
  }

  #onDelivery(rec: ConsumerRecord, slot: ChannelSlot, raw: ConsumeMessage | null): void {
    if (raw === null) {
      this.#onBrokerCancel(rec, slot);
      return;
    }
    if (this.#hooks.closing()) return; // the channel is closing: the broker requeues it
    if (rec.cancelled) {
      slot.reject(raw, true);
      return;
    }
    const delivery = new ConsumedDelivery(slot, raw);
    try {
      const result = rec.handler(delivery);
      if (result instanceof Promise) result.catch((err: unknown) => this.#handlerFailed(rec, err));
    } catch (err) {
      this.#handlerFailed(rec, err);
    }
  }

  #handlerFailed(rec: ConsumerRecord, err: unknown): void {
    this.#log.error(
      'The consumer of queue "%s" failed on a message: %s',
      rec.queue,
      errorText(err),
    );
  }

  #onBrokerCancel(rec: ConsumerRecord, slot: ChannelSlot): void {
    if (rec.slot === slot) {
      rec.slot = undefined;
      rec.consumerTag = undefined;
    }
    if (rec.cancelled || this.#hooks.closing()) return;
    if (rec.queueDeleted) {
      this.#drop(rec);
      this.#log.debug('The consumer of deleted queue "%s" ended', rec.queue);
      return;
    }
    this.#hooks.brokerCancelled(rec.queue, slot);
  }

  /** Forgets a consumer whose first `basic.consume` failed. */
  remove(handle: RabbitConsumer): void {
    const rec = this.#byHandle.get(handle);
    if (rec !== undefined && !rec.cancelled) this.#drop(rec);
  }
}
