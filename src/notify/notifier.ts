/**
 * Notifier: sends notifications (spec §5.1, §5.2).
 *
 * @module
 */
import type { RequestContext, NotificationMessage } from '../wire/messages.js';
import { formatNotificationTimestamp, uuid36 } from '../wire/envelope.js';
import { toPrimitive } from '../wire/pyjson.js';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../log.js';
import { NoOpSerializer, type Serializer } from '../serializer.js';
import { NotificationTransport, type Transport } from '../transport.js';
import {
  createNotifyDriver,
  TestNotificationSink,
  type NotifyDriver,
  type SentNotification,
} from './notify-drivers.js';
import type { RoutingConfig } from './routing.js';

/**
 * A request context given to a {@link Notifier}: a plain object (oslo's dict context),
 * an object with a `toDict()` method (oslo's `RequestContext.to_dict()`), or nothing.
 */
export type NotifierContext =
  Readonly<Record<string, unknown>> | { toDict(): Record<string, unknown> } | null | undefined;

/** Options of a {@link Notifier}. */
export interface NotifierOptions {
  /** The `publisher_id` of every notification, e.g. `compute.host1`. @default null on the wire */
  publisherId?: string | undefined;
  /**
   * Notify drivers: `messagingv2` (what OpenStack services use), `messaging` (the
   * unenveloped 1.0 format), `log`, `test`, `noop`, `routing`.
   * @default `[oslo_messaging_notifications] driver`, which defaults to none: **with no
   *   driver, nothing is sent**
   */
  driver?: string | readonly string[] | undefined;
  /**
   * Topics: one publish per topic, to `<topic>.<priority>`.
   * @default `[oslo_messaging_notifications] topics` (`['notifications']`)
   */
  topics?: readonly string[] | undefined;
  /**
   * Publish retries after a connection error: -1 forever, 0 none, N at most N.
   * @default `[oslo_messaging_notifications] retry` (-1)
   */
  retry?: number | undefined;
  /**
   * How long one notification may wait for the broker (to reconnect, to confirm, to
   * unblock publishing), in ms, whatever `retry` allows; then it is dropped and logged
   * as a failure, like any other failed publish.
   * @default `[DEFAULT] rpc_response_timeout` (60 s)
   */
  timeout?: number | undefined;
  /** Turns payloads and the context into primitives. @default a NoOpSerializer */
  serializer?: Serializer | undefined;
  /**
   * Where the `test` driver records. @default a new sink per Notifier (see
   * {@link Notifier.testSink})
   */
  testSink?: TestNotificationSink | undefined;
  /**
   * The `routing` driver's rules, or the path of their YAML file.
   * @default `[oslo_messaging_notifications] routing_config` (none: nothing is routed)
   */
  routingConfig?: string | RoutingConfig | undefined;
}

/** What {@link Notifier.prepare} may change. */
export interface NotifierPrepareOptions {
  /** A new publisher id; `null` clears it. Omitted: kept. */
  publisherId?: string | null | undefined;
  /** A new retry budget. Omitted: kept. */
  retry?: number | undefined;
  /** A new timeout in ms. Omitted: kept. */
  timeout?: number | undefined;
}

/** Options of one notification. */
export interface NotifyOptions {
  /**
   * Aborting stops waiting for the broker: the promise rejects with the signal's
   * reason (the notification may or may not have been published).
   */
  signal?: AbortSignal | undefined;
  /** This notification's timeout in ms, overriding the notifier's. */
  timeout?: number | undefined;
}

// The keys a 14.0.3 notifier keeps from a dict context (spec §5.2): everything else,
// auth_token included, is dropped so credentials never reach the notification bus.
const SAFE_CONTEXT_KEYS: ReadonlySet<string> = new Set([
  'user_id',
  'project_id',
  'domain_id',
  'user_domain_id',
  'project_domain_id',
  'is_admin',
  'request_id',
  'roles',
  'user_name',
  'project_name',
  'domain_name',
  'user_domain_name',
  'project_domain_name',
  'service_user_id',
  'service_user_domain_id',
  'service_user_domain_name',
  'service_project_id',
  'service_project_name',
  'service_project_domain_id',
  'service_project_domain_name',
  'service_roles',
  'global_request_id',
  'system_scope',
  'user',
  'domain',
  'user_domain',
  'project_domain',
]);

function keepSafeKeys(dict: Record<string, unknown>): Record<string, unknown> {
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(dict))
    if (SAFE_CONTEXT_KEYS.has(key)) safe[key] = value;
  return safe;
}

/**
 * oslo 14.0.3's `_sanitize_context`: a dict keeps the allow-listed keys; an object with
 * `toDict()` is filtered the same way and rebuilt with its class's static `fromDict()`
 * when it has one (otherwise the filtered dict is used).
 *
 * @internal
 */
export function sanitizeContext(ctxt: unknown): unknown {
  if (ctxt === null || ctxt === undefined) return {};
  if (typeof ctxt !== 'object') {
    throw new TypeError('a notification context must be an object, null or undefined');
  }
  const toDict = (ctxt as { toDict?: unknown }).toDict;
  if (typeof toDict !== 'function') return keepSafeKeys(ctxt as Record<string, unknown>);
  const safe = keepSafeKeys(toDict.call(ctxt) as Record<string, unknown>);
  const cls = (ctxt as { constructor?: { fromDict?: unknown } }).constructor;
  const fromDict = cls?.fromDict;
  return typeof fromDict === 'function' ? (fromDict.call(cls, safe) as unknown) : safe;
}

/** The serialised context as the driver flattens it: a plain object. */
function asContextDict(value: unknown): RequestContext {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const toDict = (value as { toDict?: unknown }).toDict;
  if (typeof toDict === 'function') return toDict.call(value) as RequestContext;
  return value as RequestContext;
}

// setTimeout fires at once for longer delays (a signed 32-bit number of ms, ~24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkTimeout<T extends number | undefined>(timeout: T, option: string): T {
  if (timeout === undefined) return timeout;
  if (!Number.isFinite(timeout) || timeout < 0 || timeout > MAX_TIMER_MS) {
    throw new ConfigurationError(`${option} must be a number of ms from 0 to ${MAX_TIMER_MS}`, {
      option,
      value: timeout,
    });
  }
  return timeout;
}

function checkRetry(retry: unknown, option: string): number {
  if (typeof retry !== 'number' || !Number.isInteger(retry) || retry < -1) {
    throw new ConfigurationError(`${option} must be an integer >= -1`, { option, value: retry });
  }
  return retry;
}

/** What a Notifier and the copies `prepare()` makes share. */
interface NotifierCore {
  readonly transport: Transport;
  readonly logger: Logger;
  readonly driverNames: readonly string[];
  readonly drivers: readonly NotifyDriver[];
  readonly topics: readonly string[];
  readonly serializer: Serializer;
  readonly testSink: TestNotificationSink;
}

const CORE = Symbol('NotifierCore');

/**
 * Sends notifications through the configured notify drivers (oslo's `Notifier`).
 *
 * Each method builds one notification (spec §5.2: `message_id`, `publisher_id`,
 * `event_type`, upper-case `priority`, `payload`, UTC `timestamp`) and hands it to every
 * driver; a `messagingv2` driver publishes it once per topic to `<topic>.<priority>`.
 *
 * Before any driver sees it, the context is sanitised as oslo 14.0.3 does: only
 * allow-listed keys (`user_id`, `project_id`, `request_id`, `roles`, `is_admin`, ...)
 * are kept, so tokens never reach the bus. Then the serializer runs on the payload
 * (`serializeEntity`, with the original context) and on the sanitised context
 * (`serializeContext`); the payload is made JSON-ready (dates become oslo's ISO form).
 *
 * **Failures are logged, not thrown**, as in oslo: a publish that fails (broker
 * unreachable after the retry budget, an unserialisable payload) is logged on the
 * transport's logger and the promise still resolves. It rejects only when the
 * serializer itself throws.
 *
 * @example
 * ```ts
 * import { getNotificationTransport, Notifier } from 'oslo-messaging';
 *
 * const transport = getNotificationTransport('fake://');
 * const notifier = new Notifier(transport, { publisherId: 'compute.host1', driver: 'messagingv2' });
 * await notifier.info({ request_id: 'req-1' }, 'compute.instance.create.end', { id: 'i-1' });
 * await transport.cleanup();
 * ```
 */
export class Notifier {
  /** The transport notifications are sent on. */
  readonly transport: Transport;
  /** The `publisher_id` of this notifier's notifications (`null` on the wire when unset). */
  readonly publisherId: string | undefined;
  /** The publish retry budget: -1 forever, 0 none, N at most N. */
  readonly retry: number;
  /** How long one notification may wait for the broker, in ms. */
  readonly timeout: number;
  readonly #core: NotifierCore;

  /**
   * @throws ConfigurationError for an unknown driver name or a bad `retry`
   */
  constructor(transport: Transport, options: NotifierOptions = {}) {
    const base = (options as { [CORE]?: NotifierCore })[CORE];
    this.transport = transport;
    this.publisherId = options.publisherId;
    if (base !== undefined) {
      this.#core = base;
      this.retry = checkRetry(options.retry, 'retry');
      this.timeout = checkTimeout(options.timeout ?? transport.defaultTimeoutMs, 'timeout');
      return;
    }
    const logger = transport.logger;
    if (!(transport instanceof NotificationTransport)) {
      logger.warn(
        'Using RPC transport for notifications. Please use getNotificationTransport to obtain a ' +
          'notification transport instance.',
      );
    }
    const conf = transport.conf.notifications();
    this.timeout = checkTimeout(options.timeout ?? transport.defaultTimeoutMs, 'timeout');
    this.retry =
      options.retry === undefined
        ? checkRetry(conf.retry, 'oslo_messaging_notifications.retry')
        : checkRetry(options.retry, 'retry');
    const driverNames =
      options.driver === undefined
        ? [...conf.driver]
        : typeof options.driver === 'string'
          ? [options.driver]
          : [...options.driver];
    const topics = Object.freeze([...(options.topics ?? conf.topics)]);
    const testSink = options.testSink ?? new TestNotificationSink();
    const routingConfig = options.routingConfig ?? conf.routing_config;
    const context = { transport, topics, logger, testSink, routingConfig };
    this.#core = {
      transport,
      logger,
      driverNames: Object.freeze(driverNames),
      drivers: Object.freeze(driverNames.map((name) => createNotifyDriver(name, context))),
      topics,
      serializer: options.serializer ?? new NoOpSerializer(),
      testSink,
    };
  }

  /** The notify driver names in use. */
  get driverNames(): readonly string[] {
    return this.#core.driverNames;
  }

  /** The topics each notification is published to. */
  get topics(): readonly string[] {
    return this.#core.topics;
  }

  /** Where the `test` driver records; shared with `prepare()`d copies. */
  get testSink(): TestNotificationSink {
    return this.#core.testSink;
  }

  /** What the `test` driver recorded so far (a snapshot; empty without that driver). */
  get sent(): readonly SentNotification[] {
    return this.#core.testSink.notifications;
  }

  /**
   * A copy with another publisher id or retry budget, sharing this notifier's drivers,
   * topics, serializer and test sink (cheap: no drivers are created).
   */
  prepare(options: NotifierPrepareOptions = {}): Notifier {
    const publisherId =
      options.publisherId === undefined ? this.publisherId : (options.publisherId ?? undefined);
    const init = {
      [CORE]: this.#core,
      publisherId,
      retry: options.retry ?? this.retry,
      timeout: options.timeout ?? this.timeout,
    } as NotifierOptions;
    return new Notifier(this.transport, init);
  }

  /**
   * False when notifications go nowhere: no driver, or only `noop`. (oslo answers true
   * for an empty driver list; we answer what callers use it for: "is it worth building
   * the payload".)
   */
  isEnabled(): boolean {
    return this.#core.driverNames.some((name) => name !== 'noop');
  }

  /** Send at `AUDIT` priority. Resolves once every driver is done; see the class notes on failures. */
  audit(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'AUDIT', options);
  }

  /** Send at `DEBUG` priority. */
  debug(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'DEBUG', options);
  }

  /** Send at `INFO` priority. */
  info(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'INFO', options);
  }

  /** Send at `WARN` priority (routing key `<topic>.warn`). */
  warn(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'WARN', options);
  }

  /** An alias of {@link Notifier.warn}: the priority is `WARN`, never `WARNING`. */
  warning(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'WARN', options);
  }

  /** Send at `ERROR` priority. */
  error(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'ERROR', options);
  }

  /** Send at `CRITICAL` priority. */
  critical(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'CRITICAL', options);
  }

  /**
   * Send at `SAMPLE` priority: high-frequency, small payloads (`cpu: 70%`). The `log`
   * driver drops these, as oslo's does.
   */
  sample(
    ctxt: NotifierContext,
    eventType: string,
    payload: unknown,
    options?: NotifyOptions,
  ): Promise<void> {
    return this.#notify(ctxt, eventType, payload, 'SAMPLE', options);
  }

  async #notify(
    ctxt: unknown,
    eventType: string,
    payload: unknown,
    priority: string,
    options: NotifyOptions = {},
  ): Promise<void> {
    const core = this.#core;
    const timeoutMs = options.timeout ?? this.timeout;
    checkTimeout(timeoutMs, 'timeout');
    options.signal?.throwIfAborted();
    if (core.drivers.length === 0) return;
    // oslo's order: the payload is serialised with the caller's context, then the
    // context is sanitised and serialised.
    const serialized = core.serializer.serializeEntity(ctxt, payload);
    const ctxtDict = asContextDict(core.serializer.serializeContext(sanitizeContext(ctxt)));
    let primitive: unknown;
    try {
      primitive = toPrimitive(serialized);
    } catch (err) {
      core.logger.error(
        "Problem '%s' attempting to send to notification system: the payload of %s is not serialisable",
        err,
        eventType,
      );
      return;
    }
    const message: NotificationMessage = {
      message_id: uuid36(),
      // Python sends None (JSON null) for a notifier without a publisher id.
      publisher_id: this.publisherId ?? null,
      event_type: eventType,
      priority,
      payload: primitive,
      timestamp: formatNotificationTimestamp(new Date()),
    };
    for (const driver of core.drivers) {
      try {
        await driver.notify(ctxtDict, message, priority, this.retry, {
          signal: options.signal,
          timeoutMs,
        });
      } catch (err) {
        if (options.signal?.aborted === true) throw err;
        core.logger.error(
          "Problem '%s' attempting to send to notification system (driver %s, event_type %s)",
          err,
          driver.name,
          eventType,
        );
      }
    }
  }
}
