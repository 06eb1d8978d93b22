/**
 * Notification dispatchers: which endpoint methods a received notification goes to,
 * and what the listener does with the message afterwards (spec §5.4, §5.5).
 *
 * @module
 */
import { preview } from '../wire/bounds.js';
import type { IncomingMessage } from '../drivers/driver.js';
import type { Logger } from '../log.js';
import type { Serializer } from '../serializer.js';
import type { NotificationFilterLike } from './filter.js';
import { isPriority, NotificationResult, PRIORITIES, type NotificationPriority } from './result.js';
import { isThenable } from '../util/async.js';

/** The `metadata` argument of an endpoint method. Keys keep oslo's spelling. */
export interface NotificationMetadata {
  /** The notification's `message_id`: a dashed uuid4. */
  readonly message_id: string;
  /** The notification's `timestamp`: UTC, `YYYY-MM-DD HH:MM:SS[.ffffff]`. */
  readonly timestamp: string;
}

/**
 * An endpoint of a notification listener: any object with methods named after the
 * lower-case priorities it wants. Each is called as
 * `info(ctxt, publisherId, eventType, payload, metadata)`, the arguments of oslo's
 * endpoints, so Python endpoints port line for line. It may be `async`.
 *
 * - `ctxt` is the request context as the serializer's `deserializeContext` returned it
 *   (with the default serializer, the sender's dict plus oslo's `client_timeout: null`);
 * - `publisherId` is `null` when the sender set none;
 * - `payload` went through the serializer's `deserializeEntity`.
 *
 * Return `NotificationResult.REQUEUE` to have the message delivered again (with
 * `allowRequeue`); anything else, `undefined` included, means handled. A method that
 * throws (or rejects) counts as `REQUEUE`.
 */
export interface NotificationEndpoint {
  /** Only notifications this filter matches reach this endpoint. */
  readonly filterRule?: NotificationFilterLike | undefined;
  audit?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
  debug?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
  info?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
  warn?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
  error?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
  critical?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
  sample?(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown;
}

/** One notification as a batch endpoint receives it. Keys keep oslo's spelling. */
export interface BatchNotificationMessage {
  readonly ctxt: unknown;
  readonly publisher_id: string | null;
  readonly event_type: string;
  readonly payload: unknown;
  readonly metadata: NotificationMetadata;
}

/**
 * An endpoint of a batch notification listener: methods named after priorities, each
 * called with a list of the notifications of that priority in one batch (those its
 * `filterRule` matches; never an empty list). Returning
 * `NotificationResult.REQUEUE`, throwing or rejecting requeues every message of
 * that priority in the batch (with `allowRequeue`).
 */
export interface BatchNotificationEndpoint {
  /** Only notifications this filter matches are in the lists this endpoint gets. */
  readonly filterRule?: NotificationFilterLike | undefined;
  audit?(messages: BatchNotificationMessage[]): unknown;
  debug?(messages: BatchNotificationMessage[]): unknown;
  info?(messages: BatchNotificationMessage[]): unknown;
  warn?(messages: BatchNotificationMessage[]): unknown;
  error?(messages: BatchNotificationMessage[]): unknown;
  critical?(messages: BatchNotificationMessage[]): unknown;
  sample?(messages: BatchNotificationMessage[]): unknown;
}

type Method = (...args: unknown[]) => unknown;

interface Callback {
  readonly endpoint: object;
  readonly name: NotificationPriority;
  readonly method: Method;
  readonly filter: NotificationFilterLike | undefined;
}

/** A received notification, decoded for endpoints. */
interface Extracted {
  /** Lower-cased priority from the body ('' when missing or not a string). */
  readonly priority: string;
  readonly message: BatchNotificationMessage;
}

function endpointName(endpoint: object): string {
  const name = endpoint.constructor?.name;
  return name === undefined || name === 'Object' ? 'endpoint' : name;
}

/**
 * Routes notifications to endpoint methods by priority (oslo's
 * `NotificationDispatcher`). One instance per listener.
 *
 * @internal
 */
export class NotificationDispatcher {
  readonly endpoints: readonly object[];
  protected readonly serializer: Serializer;
  protected readonly logger: Logger;
  protected readonly callbacks: ReadonlyMap<NotificationPriority, readonly Callback[]>;

  constructor(endpoints: readonly object[], serializer: Serializer, logger: Logger) {
    this.endpoints = endpoints;
    this.serializer = serializer;
    this.logger = logger;
    const callbacks = new Map<NotificationPriority, Callback[]>();
    // oslo walks endpoints, then priorities: callbacks keep the endpoints' list order.
    endpoints.forEach((endpoint, index) => {
      if (typeof endpoint !== 'object' || endpoint === null) {
        throw new TypeError(`endpoints[${index}] must be an object`);
      }
      const filter = (endpoint as { filterRule?: unknown }).filterRule;
      if (
        filter !== undefined &&
        filter !== null &&
        typeof (filter as { match?: unknown }).match !== 'function'
      ) {
        throw new TypeError(`endpoints[${index}].filterRule must have a match() method`);
      }
      for (const name of PRIORITIES) {
        const method = (endpoint as Record<string, unknown>)[name];
        if (typeof method !== 'function') continue;
        let list = callbacks.get(name);
        if (list === undefined) callbacks.set(name, (list = []));
        list.push({
          endpoint,
          name,
          method: method as Method,
          filter: (filter ?? undefined) as NotificationFilterLike | undefined,
        });
      }
    });
    this.callbacks = callbacks;
  }

  /** The priorities some endpoint implements, in {@link PRIORITIES} order. */
  get supportedPriorities(): NotificationPriority[] {
    return PRIORITIES.filter((p) => this.callbacks.has(p));
  }

  /**
   * Call every matching endpoint method, in list order, until one asks for a requeue.
   * Resolves with `REQUEUE` or `HANDLED`, or `undefined` for an unknown priority (which
   * the listener acknowledges). Rejects only if the serializer throws.
   */
  async dispatch(incoming: IncomingMessage): Promise<NotificationResult | undefined> {
    const { priority, message } = this.extract(incoming);
    if (!isPriority(priority)) {
      this.logger.warn('Unknown priority "%s"', preview(priority));
      return undefined;
    }
    for (const callback of this.callbacks.get(priority) ?? []) {
      if (!this.accepts(callback, message)) continue;
      const what = (): string =>
        `${String(message.event_type)} (message_id ${String(message.metadata.message_id)})`;
      let result = this.run(callback, what, [
        message.ctxt,
        message.publisher_id,
        message.event_type,
        message.payload,
        message.metadata,
      ]);
      if (isThenable(result)) result = await result;
      if (result === NotificationResult.REQUEUE) return NotificationResult.REQUEUE;
    }
    return NotificationResult.HANDLED;
  }

  protected extract(incoming: IncomingMessage): Extracted {
    const ctxt = this.serializer.deserializeContext(incoming.ctxt);
    const body = incoming.message;
    const rawPriority = body['priority'];
    const payload = this.serializer.deserializeEntity(ctxt, body['payload']);
    return {
      priority: typeof rawPriority === 'string' ? rawPriority.toLowerCase() : '',
      message: {
        ctxt,
        publisher_id: (body['publisher_id'] ?? null) as string | null,
        event_type: body['event_type'] as string,
        payload,
        metadata: {
          message_id: body['message_id'] as string,
          timestamp: body['timestamp'] as string,
        },
      },
    };
  }

  protected accepts(callback: Callback, message: BatchNotificationMessage): boolean {
    if (callback.filter === undefined) return true;
    try {
      return callback.filter.match(
        message.ctxt,
        message.publisher_id,
        message.event_type,
        message.metadata,
        message.payload,
      );
    } catch (err) {
      // A custom filter that throws must not wedge the message; oslo would requeue it
      // through the listener, we skip that endpoint and say why.
      this.logger.error(
        'filterRule of %s raised an exception; skipping it for %s',
        endpointName(callback.endpoint),
        preview(message.event_type),
        { err },
      );
      return false;
    }
  }

  /**
   * Run one endpoint method; a throw or rejection counts as REQUEUE and is logged. A
   * method that returns a plain value (most do) gets it back as it is, not wrapped in a
   * promise: no promise and no turn of the event loop per notification for it.
   */
  protected run(callback: Callback, what: () => string, args: unknown[]): unknown {
    let result: unknown;
    try {
      result = callback.method.apply(callback.endpoint, args);
    } catch (err) {
      return this.#failed(callback, what, err);
    }
    if (!isThenable(result)) return result;
    return Promise.resolve(result).then(undefined, (err: unknown) =>
      this.#failed(callback, what, err),
    );
  }

  #failed(callback: Callback, what: () => string, err: unknown): NotificationResult {
    this.logger.error(
      'Callback %s.%s raised an exception while handling %s',
      endpointName(callback.endpoint),
      callback.name,
      preview(what()),
      { err },
    );
    return NotificationResult.REQUEUE;
  }
}

/**
 * Routes batches of notifications to endpoint methods (oslo's
 * `BatchNotificationDispatcher`): the batch is grouped by priority, each endpoint
 * method gets the list of that priority's messages its filter lets through.
 *
 * @internal
 */
export class BatchNotificationDispatcher extends NotificationDispatcher {
  /**
   * Resolves with the messages to requeue: every message of a priority group whose
   * callback returned REQUEUE or threw. Rejects only if the serializer throws.
   */
  async dispatchBatch(incoming: readonly IncomingMessage[]): Promise<Set<IncomingMessage>> {
    const groups = new Map<
      string,
      { raw: IncomingMessage[]; messages: BatchNotificationMessage[] }
    >();
    for (const raw of incoming) {
      const { priority, message } = this.extract(raw);
      let group = groups.get(priority);
      if (group === undefined) groups.set(priority, (group = { raw: [], messages: [] }));
      group.raw.push(raw);
      group.messages.push(message);
    }
    const requeues = new Set<IncomingMessage>();
    // oslo sorts the batch by priority before grouping; keep its order.
    for (const priority of [...groups.keys()].sort()) {
      const group = groups.get(priority);
      if (group === undefined) continue;
      if (!isPriority(priority)) {
        this.logger.warn('Unknown priority "%s"', preview(priority));
        continue;
      }
      for (const callback of this.callbacks.get(priority) ?? []) {
        const accepted = group.messages.filter((m) => this.accepts(callback, m));
        if (accepted.length === 0) continue;
        const what = (): string => `a batch of ${accepted.length} ${priority} notifications`;
        const result = await this.run(callback, what, [accepted]);
        if (result === NotificationResult.REQUEUE) {
          // Every message of the group, including those the filter kept back.
          for (const raw of group.raw) requeues.add(raw);
          break;
        }
      }
    }
    return requeues;
  }
}
