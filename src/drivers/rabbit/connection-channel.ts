/**
 * One AMQP channel of a {@link RabbitConnection}: declarations cached per channel,
 * publishing with pipelined publisher confirms, consumers, acks. A channel is never
 * reused after it closes; the connection opens a new one (oslo: one channel per
 * connection, a fresh one after an error). Used only by `connection.ts`.
 *
 * @module
 */
import type { Channel, ConfirmChannel, ConsumeMessage, Message, Options } from 'amqplib';

import { MessageDeliveryFailure, MessageUndeliverable } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { AmqpConnection } from './connection-open.js';
import type { RetryBudget } from './connection-wait.js';
import { FifoSet, type FifoItem } from '../../util/fifo.js';
import {
  AmqpChannelError,
  ChannelLost,
  PublishConfirmLost,
  amqpReplyCode,
  channelFailure,
  errorText,
} from './connection-errors.js';

/** An `exchange.declare`. */
export interface ExchangeDeclaration {
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
}

/** A `queue.declare`. */
export interface QueueDeclaration {
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusive: boolean;
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** The AMQP properties and flags of one publish. */
export interface PublishRequest {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly expiration: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly mandatory: boolean;
  /**
   * A finite retry budget that time spent blocked uses up (see {@link BlockedBound});
   * `undefined` waits for the confirm however long the broker blocks.
   */
  readonly blockedBudget?: RetryBudget | undefined;
}

interface InFlight extends FifoItem {
  readonly request: PublishRequest;
  returned: { code: number; text: string } | undefined;
  settled: boolean;
  /** Armed only while the connection is blocked (see {@link BlockedBound}). */
  blockedTimer: NodeJS.Timeout | undefined;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * While the broker blocks the connection (a resource alarm), a publish with a finite
 * `blockedBudget` uses one retry for every `limitMs` it waits for its confirm, and when
 * none is left it fails with what `giveUp` returns (oslo's publish times out on its
 * socket after `heartbeat_timeout_threshold`). Timers exist only during a block: an
 * unblocked publish pays nothing for this.
 */
export interface BlockedBound {
  readonly limitMs: number;
  giveUp(budget: RetryBudget): Error;
}

/** What the owner hears from a channel. */
export interface ChannelEvents {
  onClosed(slot: ChannelSlot): void;
  onHandlerError(err: unknown, event: string): void;
}

const NACKED = 'message nacked';

/** See the module comment. */
export class ChannelSlot {
  /** False once amqplib reported the channel closed. */
  open = true;
  /** The error the broker closed the channel with, if it did. */
  error: Error | undefined;
  readonly conn: AmqpConnection;
  readonly #channel: Channel | ConfirmChannel;
  readonly #confirm: boolean;
  readonly #logger: Logger;
  /** Declarations done on this channel: key -> [what was declared, its outcome]. */
  readonly #declared = new Map<string, { spec: string; done: Promise<void> }>();
  /** Publishes waiting for their confirm, oldest first. */
  readonly #inFlight = new FifoSet<InFlight>();
  #mandatoryInFlight = 0;
  #drain: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Set while the connection is blocked. */
  #blocked: BlockedBound | undefined;

  private constructor(
    conn: AmqpConnection,
    channel: Channel | ConfirmChannel,
    confirm: boolean,
    logger: Logger,
  ) {
    this.conn = conn;
    this.#channel = channel;
    this.#confirm = confirm;
    this.#logger = logger;
  }

  /** Opens a channel (a confirm channel for publishing) and applies the prefetch. */
  static async open(
    conn: AmqpConnection,
    confirm: boolean,
    prefetch: number,
    logger: Logger,
    events: ChannelEvents,
  ): Promise<ChannelSlot> {
    let channel: Channel | ConfirmChannel;
    try {
      channel = confirm
        ? await conn.model.createConfirmChannel()
        : await conn.model.createChannel();
    } catch (err) {
      throw channelFailure(err);
    }
    const slot = new ChannelSlot(conn, channel, confirm, logger);
    channel.on('error', (err: Error) => {
      slot.error ??= err;
    });
    // amqplib's own 'close' listener (registered first) has already failed the
    // unconfirmed publishes with 'channel closed' by the time this one runs.
    channel.on('close', () => {
      slot.open = false;
      slot.#releaseDrain();
      events.onClosed(slot);
    });
    channel.on('return', (msg: Message) => slot.#onReturn(msg));
    channel.on('drain', () => slot.#releaseDrain());
    channel.on('handler-error', (err: Error, event: string) => events.onHandlerError(err, event));
    if (prefetch > 0) {
      try {
        // global=false: per consumer, as oslo's basic.qos(0, N, false).
        await channel.prefetch(prefetch, false);
      } catch (err) {
        throw channelFailure(err);
      }
    }
    return slot;
  }

  /** Why the channel closed (its own error, else its connection's). */
  get closeReason(): Error {
    return this.error ?? this.conn.closeError ?? new Error('AMQP channel closed');
  }

  /** The broker-side reply code of the close, if it was a channel error. */
  get closeCode(): number | undefined {
    return amqpReplyCode(this.error);
  }

  // ---- declarations, once per channel ----

  /** Declares an exchange unless this channel already did with the same flags. */
  declareExchange(x: ExchangeDeclaration): Promise<void> {
    const spec = `${x.type}/${x.durable}/${x.autoDelete}`;
    return this.#once(`x\0${x.name}`, spec, () =>
      this.#channel.assertExchange(x.name, x.type, {
        durable: x.durable,
        autoDelete: x.autoDelete,
      }),
    );
  }

  /** Whether this channel declared the exchange. */
  hasDeclaredExchange(name: string): boolean {
    return this.#declared.has(`x\0${name}`);
  }

  /** Declares a queue unless this channel already did with the same flags and arguments. */
  declareQueue(q: QueueDeclaration): Promise<void> {
    const spec = JSON.stringify([q.durable, q.autoDelete, q.exclusive, q.arguments]);
    return this.#once(`q\0${q.name}`, spec, () =>
      this.#channel.assertQueue(q.name, {
        durable: q.durable,
        autoDelete: q.autoDelete,
        exclusive: q.exclusive,
        arguments: q.arguments,
      }),
    );
  }

  /** Binds a queue unless this channel already did. */
  bindQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    return this.#once(`b\0${queue}\0${exchange}\0${routingKey}`, '', () =>
      this.#channel.bindQueue(queue, exchange, routingKey),
    );
  }

  async deleteQueue(name: string): Promise<void> {
    for (const key of this.#declared.keys()) {
      if (key === `q\0${name}` || key.startsWith(`b\0${name}\0`)) this.#declared.delete(key);
    }
    await this.#rpc(() => this.#channel.deleteQueue(name));
  }

  async deleteExchange(name: string): Promise<void> {
    for (const key of this.#declared.keys()) {
      if (key === `x\0${name}` || (key.startsWith('b\0') && key.split('\0')[2] === name)) {
        this.#declared.delete(key);
      }
    }
    await this.#rpc(() => this.#channel.deleteExchange(name));
  }

  #once(key: string, spec: string, run: () => Promise<unknown>): Promise<void> {
    const known = this.#declared.get(key);
    if (known !== undefined && known.spec === spec) return known.done;
    const done = this.#rpc(run);
    const entry = { spec, done };
    this.#declared.set(key, entry);
    done.catch(() => {
      if (this.#declared.get(key) === entry) this.#declared.delete(key);
    });
    return done;
  }

  async #rpc(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      throw channelFailure(err);
    }
  }

  // ---- publishing ----

  /**
   * Resolves when the channel's write buffer has room again; `undefined` when it has
   * room now. amqplib's `publish` returning false means the buffer passed its high water
   * mark; writing on regardless would buffer without bound.
   */
  get drained(): Promise<void> | undefined {
    return this.#drain?.promise;
  }

  #releaseDrain(): void {
    const drain = this.#drain;
    this.#drain = undefined;
    drain?.resolve();
  }

  /**
   * Publishes and resolves on the broker's ack. Rejects with `MessageUndeliverable`
   * (mandatory and unroutable: the `basic.return` arrives before the ack),
   * `MessageDeliveryFailure` (nack), `PublishConfirmLost` (channel died after the write),
   * `AmqpChannelError` (this publish got the channel closed, e.g. 404 no exchange), or
   * `ChannelLost` (nothing was written).
   */
  publish(req: PublishRequest): Promise<void> {
    if (!this.#confirm) {
      return Promise.reject(new TypeError('publish() needs a connection with role "publish"'));
    }
    return new Promise<void>((resolve, reject) => {
      const entry: InFlight = {
        request: req,
        returned: undefined,
        settled: false,
        blockedTimer: undefined,
        inFifo: false,
        resolve,
        reject,
      };
      const props: Options.Publish = {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
        priority: 0,
        headers: req.headers,
        mandatory: req.mandatory,
      };
      if (req.expiration !== undefined) props.expiration = req.expiration;
      let hasRoom: boolean;
      try {
        hasRoom = (this.#channel as ConfirmChannel).publish(
          req.exchange,
          req.routingKey,
          req.body,
          props,
          (err: unknown) => this.#confirmed(entry, err),
        );
      } catch (err) {
        // Thrown before the confirm callback was registered: nothing went out.
        if (this.open && err instanceof Error && err.name !== 'IllegalOperationError') {
          // Bad input (not a Buffer, headers too large): nothing went out either.
          reject(new MessageDeliveryFailure(`Cannot publish: ${err.message}`, { cause: err }));
        } else {
          reject(new ChannelLost({ cause: err }));
        }
        return;
      }
      this.#inFlight.add(entry);
      if (req.mandatory) this.#mandatoryInFlight += 1;
      if (this.#blocked !== undefined) this.#armBlocked(entry, this.#blocked);
      if (!hasRoom && this.#drain === undefined) {
        let release!: () => void;
        const promise = new Promise<void>((r) => (release = r));
        this.#drain = { promise, resolve: release };
        this.#logger.debug('AMQP channel write buffer is full; publishes wait for it to drain');
      }
    });
  }

  #confirmed(entry: InFlight, err: unknown): void {
    this.#inFlight.delete(entry);
    const req = entry.request;
    if (req.mandatory) this.#mandatoryInFlight -= 1;
    if (entry.blockedTimer !== undefined) clearTimeout(entry.blockedTimer);
    if (entry.settled) return;
    entry.settled = true;
    if (entry.returned !== undefined) {
      // The basic.return came first: unroutable, whether or not the ack made it.
      const { code, text } = entry.returned;
      entry.reject(
        new MessageUndeliverable(req.exchange, req.routingKey, {
          cause: new Error(`basic.return ${code} ${text}`),
        }),
      );
    } else if (err === null || err === undefined) {
      entry.resolve();
    } else if (err instanceof Error && err.message === NACKED) {
      entry.reject(
        new MessageDeliveryFailure(
          `The broker refused (nacked) the message to exchange "${req.exchange}" with key "${req.routingKey}"`,
          { cause: err },
        ),
      );
    } else if (
      this.closeCode === 404 &&
      this.error?.message.includes(`no exchange '${req.exchange}'`) === true
    ) {
      // This publish is the one that got the channel closed: retrying can't help.
      entry.reject(new AmqpChannelError(errorText(this.error), 404, { cause: this.error }));
    } else {
      entry.reject(
        new PublishConfirmLost(req.exchange, req.routingKey, { cause: this.closeReason }),
      );
    }
  }

  /**
   * A `basic.return` carries no delivery tag. It comes before the ack of its message and
   * in publish order, so it belongs to the oldest unconfirmed mandatory publish with the
   * same exchange, key and body (oslo bodies differ by `_unique_id`; identical bodies are
   * interchangeable anyway).
   */
  #onReturn(msg: Message): void {
    const { exchange, routingKey } = msg.fields;
    const fields = msg.fields as unknown as { replyCode?: number; replyText?: string };
    if (this.#mandatoryInFlight > 0) {
      for (const entry of this.#inFlight) {
        const req = entry.request;
        if (
          req.mandatory &&
          entry.returned === undefined &&
          req.exchange === exchange &&
          req.routingKey === routingKey &&
          req.body.equals(msg.content)
        ) {
          entry.returned = { code: fields.replyCode ?? 312, text: fields.replyText ?? 'NO_ROUTE' };
          return;
        }
      }
    }
    this.#logger.debug(
      'basic.return for exchange "%s" key "%s" matches no publish in flight',
      exchange,
      routingKey,
    );
  }

  /**
   * The connection was blocked (`bound`) or unblocked (`undefined`): arm or disarm the
   * {@link BlockedBound} of every publish waiting for its confirm, and of later ones.
   */
  setBlocked(bound: BlockedBound | undefined): void {
    this.#blocked = bound;
    for (const entry of this.#inFlight) {
      clearTimeout(entry.blockedTimer);
      entry.blockedTimer = undefined;
      if (bound !== undefined) this.#armBlocked(entry, bound);
    }
  }

  #armBlocked(entry: InFlight, bound: BlockedBound): void {
    const budget = entry.request.blockedBudget;
    if (budget === undefined || entry.settled) return;
    entry.blockedTimer = setTimeout(() => {
      entry.blockedTimer = undefined;
      if (entry.settled || this.#blocked !== bound) return;
      if (budget.spend()) {
        this.#armBlocked(entry, bound);
        return;
      }
      // The confirm may still come after the unblock; #confirmed then ignores it.
      entry.settled = true;
      entry.reject(bound.giveUp(budget));
    }, bound.limitMs);
  }

  /** Fails every publish still waiting for its confirm (used by close()). */
  failInFlight(err: Error): void {
    for (const entry of this.#inFlight) {
      clearTimeout(entry.blockedTimer);
      if (!entry.settled) {
        entry.settled = true;
        entry.reject(err);
      }
    }
  }

  // ---- consuming ----

  /** `basic.consume` with our tag; no_ack=false, exclusive=false, as oslo. */
  async consume(
    queue: string,
    consumerTag: string,
    args: Readonly<Record<string, unknown>>,
    onMessage: (msg: ConsumeMessage | null) => void,
  ): Promise<void> {
    await this.#rpc(() =>
      this.#channel.consume(queue, onMessage, {
        consumerTag,
        noAck: false,
        exclusive: false,
        arguments: args,
      }),
    );
  }

  async cancel(consumerTag: string): Promise<void> {
    await this.#rpc(() => this.#channel.cancel(consumerTag));
  }

  /** Acks; a no-op (false) on a closed channel, where the broker requeued the message. */
  ack(msg: Message, multiple: boolean): boolean {
    if (!this.open) return false;
    try {
      this.#channel.ack(msg, multiple);
      return true;
    } catch {
      return false;
    }
  }

  /** `basic.reject`; a no-op (false) on a closed channel. */
  reject(msg: Message, requeue: boolean): boolean {
    if (!this.open) return false;
    try {
      this.#channel.reject(msg, requeue);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the channel (channel.close, code 200), bounded by `timeoutMs`. Never rejects. */
  async close(timeoutMs: number): Promise<void> {
    if (!this.open) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([this.#channel.close().catch(() => undefined), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
