/**
 * What RPC and notification listeners share: one consume connection per listener (as
 * oslo: sending and listening never share a connection), declarations in oslo's order,
 * re-declared after every reconnect, consumers that resume by themselves, bad input
 * rejected, and a credit gate that bounds what the server holds.
 *
 * @module
 */
import { ServerListenError } from '../../errors.js';
import { Credit } from '../common/credit.js';
import type { Logger } from '../../log.js';
import type {
  DriverListener,
  IncomingMessage,
  MessageCallback,
  MessageRejectedEvent,
} from '../driver.js';
import {
  RabbitConnection,
  defaultConnectionName,
  type Declarer,
  type Delivery,
  type RabbitConsumer,
} from './connection.js';
import type { ConsumerArguments } from './connection-types.js';
import { decodeDelivery } from './incoming.js';
import { listenerPrefetch, type RabbitDriverSettings } from './options.js';
import { declareConsumerSpec } from './declare.js';
import { consumerArguments, type ConsumerSpec } from './topology.js';

/** How long `start()` may take to declare and consume before it gives up. */
export const LISTENER_START_TIMEOUT_MS = 30_000;
/** How long `cleanup()` tries to delete an RPC server's fanout queue. */
export const FANOUT_DELETE_TIMEOUT_MS = 5_000;

/** A listener as its driver tracks it. */
export interface TrackedListener {
  readonly connectionName: string;
  cleanup(): Promise<void>;
}

/** What a listener needs from its driver. */
export interface ListenerHost {
  readonly logger: Logger;
  readonly settings: RabbitDriverSettings;
  /** Reports a message rejected as malformed (the driver context's `onConnectionEvent`). */
  readonly report: (event: MessageRejectedEvent) => void;
  /** Called once the listener is cleaned up. */
  forget(listener: TrackedListener): void;
}

/** A message ready for the server, with what the listener does when it is settled. */
export interface Prepared<M> {
  readonly message: M;
  /** Called when the message is handed to the server (RPC records its `_unique_id`). */
  readonly onHandOver?: (() => void) | undefined;
}

/**
 * See the module comment.
 *
 * Credit: `maxUnsettled` is a bound across every queue of the listener. The broker's
 * prefetch (`basic.qos`, per consumer as oslo sends it) bounds each consumer; messages
 * beyond the listener's credit wait here, in a buffer bounded by consumers × prefetch,
 * and reach the server in arrival order as earlier ones are settled. A buffered message
 * whose channel dies is dropped (the broker redelivers it); on `stop()` buffered
 * messages are given back to their queues.
 */
export abstract class RabbitListener<M extends IncomingMessage>
  implements DriverListener<M>, TrackedListener
{
  protected readonly host: ListenerHost;
  protected readonly connection: RabbitConnection;
  readonly #credit: Credit;
  readonly #target: unknown;
  #specs: readonly ConsumerSpec[] = [];
  #consumers: RabbitConsumer[] = [];
  #state: 'new' | 'starting' | 'started' | 'stopped' | 'closed' = 'new';
  #onMessage: MessageCallback<M> | undefined;
  #buffer: { delivery: Delivery; prepared: Prepared<M> }[] = [];
  #cleanup: Promise<void> | undefined;

  constructor(host: ListenerHost, maxUnsettled: number, target: unknown) {
    this.host = host;
    this.#credit = new Credit(Math.max(1, Math.floor(maxUnsettled)));
    this.#target = target;
    this.connection = new RabbitConnection({
      ...host.settings.connection,
      role: 'consume',
      prefetch: listenerPrefetch(host.settings, this.#credit.limit),
      connectionName: defaultConnectionName(),
      onReconnect: (conn) => this.#declareAll(conn),
    });
    this.connection.on('disconnected', () => this.#dropBuffered());
  }

  /** The `connection_name` of the listener's connection. */
  get connectionName(): string {
    return this.connection.connectionName;
  }

  /** What to declare, in oslo's order. Queues are consumed in order of first appearance. */
  protected abstract consumerSpecs(): readonly ConsumerSpec[];

  /** What this listener's messages are, for the `rejected` event. */
  protected abstract readonly messageKind: 'rpc' | 'notification';

  /**
   * Turn a decoded body into the message for the server, or `undefined` when the
   * listener settled it itself (a duplicate).
   * @throws MalformedMessage for a message the server must not see
   */
  protected abstract prepare(
    delivery: Delivery,
    decoded: Record<string, unknown>,
  ): Prepared<M> | undefined;

  /** Called by `cleanup()` before the connection closes (an RPC server deletes its fanout queue). */
  protected async release(): Promise<void> {}

  /** The `basic.consume` arguments of one of this listener's queues. */
  protected consumerArgumentsFor(_queue: string): ConsumerArguments {
    return consumerArguments(this.host.settings.topology);
  }

  /** Messages handed to the server and not yet settled. */
  get unsettled(): number {
    return this.#credit.unsettled;
  }

  async start(onMessage: MessageCallback<M>): Promise<void> {
    if (this.#state !== 'new') throw new Error(`listener cannot start: it is ${this.#state}`);
    this.#state = 'starting';
    this.#onMessage = onMessage;
    const bounds = { timeoutMs: LISTENER_START_TIMEOUT_MS };
    try {
      this.#specs = this.consumerSpecs();
      await this.#declareAll(this.connection, bounds);
      const queues = [...new Set(this.#specs.map((spec) => spec.queue.name))];
      for (const queue of queues) {
        const consumer = await this.connection.consume(queue, (d) => this.#receive(d), {
          ...bounds,
          arguments: this.consumerArgumentsFor(queue),
        });
        this.#consumers.push(consumer);
      }
    } catch (err) {
      this.#state = 'closed';
      await this.connection.close().catch(() => undefined);
      this.host.forget(this);
      throw new ServerListenError(this.#target, err instanceof Error ? err.message : String(err), {
        cause: err,
      });
    }
    if (this.#state === 'starting') {
      this.#state = 'started';
      this.#pump();
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== 'started' && this.#state !== 'starting') return;
    this.#state = 'stopped';
    const consumers = this.#consumers;
    this.#consumers = [];
    // Cancel first: from here on the connection gives anything arriving back to its queue.
    await Promise.all(consumers.map((c) => this.connection.cancel(c)));
    const buffered = this.#buffer;
    this.#buffer = [];
    for (const { delivery } of buffered) this.connection.reject(delivery, true);
  }

  cleanup(): Promise<void> {
    this.#cleanup ??= this.#doCleanup();
    return this.#cleanup;
  }

  async #doCleanup(): Promise<void> {
    await this.stop();
    this.#state = 'closed';
    this.#onMessage = undefined;
    try {
      await this.release();
    } catch (err) {
      this.host.logger.warn('Failed to release a listener: %s', err);
    }
    // Closing the channel gives every unsettled message back to its queue.
    await this.connection.close();
    this.host.forget(this);
  }

  /** Settle bookkeeping: one credit back, then the next buffered message goes out. */
  protected settled(): void {
    this.#credit.give();
    this.#pump();
  }

  async #declareAll(conn: Declarer, bounds: { timeoutMs?: number } = {}): Promise<void> {
    for (const spec of this.#specs) await declareConsumerSpec(conn, spec, bounds);
  }

  #receive(delivery: Delivery): void {
    if (this.#state !== 'started' && this.#state !== 'starting') {
      this.connection.reject(delivery, true);
      return;
    }
    let prepared: Prepared<M> | undefined;
    try {
      prepared = this.prepare(
        delivery,
        decodeDelivery(delivery, this.host.settings.maxMessageBytes),
      );
    } catch (err) {
      // As oslo: logged and rejected without requeue (dead-lettered if a policy says so).
      this.host.logger.error(
        'Failed to process message from queue routed by "%s" ... skipping it: %s',
        delivery.fields.routingKey,
        err instanceof Error ? err.message : String(err),
      );
      this.connection.reject(delivery, false);
      this.host.report({
        type: 'rejected',
        connection: this.connectionName,
        kind: this.messageKind,
        exchange: delivery.fields.exchange,
        routingKey: delivery.fields.routingKey,
        reason: err instanceof Error ? err : new Error(String(err)),
      });
      return;
    }
    if (prepared === undefined) return;
    this.#buffer.push({ delivery, prepared });
    this.#pump();
  }

  #pump(): void {
    const credit = this.#credit;
    while (credit.available && this.#state === 'started') {
      const next = this.#buffer.shift();
      if (next === undefined) return;
      const onMessage = this.#onMessage;
      if (onMessage === undefined) return;
      credit.take();
      next.prepared.onHandOver?.();
      try {
        onMessage(next.prepared.message);
      } catch (err) {
        this.host.logger.error('A message callback threw: %s', err);
      }
    }
  }

  #dropBuffered(): void {
    // Their channel is gone: the broker has already put them back in their queues.
    if (this.#buffer.length > 0) {
      this.host.logger.debug(
        'Dropping %d buffered messages of a lost channel',
        this.#buffer.length,
      );
    }
    this.#buffer = [];
  }
}
