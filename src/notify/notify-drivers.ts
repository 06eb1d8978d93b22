/**
 * Notify drivers: where a {@link Notifier}'s notifications go. `messagingv2` and
 * `messaging` publish on the transport; `log` writes them to the transport's logger;
 * `test` records them in memory; `noop` drops them; `routing` hands each one to other
 * drivers by event type and priority (routing.ts).
 *
 * @module
 */
import type { RequestContext, NotificationMessage } from '../wire/messages.js';
import { pyDumps } from '../wire/pyjson.js';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../log.js';
import { Target } from '../target.js';
import type { Transport } from '../transport.js';
import { RoutingDriver, type RoutingConfig } from './routing.js';

/** The notify driver names this library provides (oslo's `oslo.messaging.notify.drivers`). */
export const NOTIFY_DRIVERS = [
  'messagingv2',
  'messaging',
  'log',
  'noop',
  'test',
  'routing',
] as const;

/** A notify driver name. */
export type NotifyDriverName = (typeof NOTIFY_DRIVERS)[number];

/** One notification as the `test` driver recorded it. */
export interface SentNotification {
  /** The context as sent: sanitised (spec §5.2), then through the serializer. */
  readonly ctxt: RequestContext;
  /** The notification body: `message_id`, `publisher_id`, `event_type`, `priority`, `payload`, `timestamp`. */
  readonly message: NotificationMessage;
  /** Upper case: `INFO`, `WARN`, ... */
  readonly priority: string;
  /** The retry budget the notifier passed: -1 forever, 0 none, N at most N. */
  readonly retry: number;
}

/**
 * Where the `test` notify driver records notifications, for a user's own tests (oslo's
 * `_impl_test.NOTIFICATIONS`, without the global list). Every {@link Notifier} has one
 * (`notifier.testSink`, shared by its `prepare()`d copies); pass your own as the
 * `testSink` option to share one between notifiers.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { getNotificationTransport, Notifier } from 'oslo-messaging';
 *
 * const transport = getNotificationTransport('fake://');
 * const notifier = new Notifier(transport, { driver: 'test', publisherId: 'compute.h1' });
 * await notifier.info({}, 'compute.instance.create.end', { id: 1 });
 * assert.equal(notifier.sent[0]?.message.event_type, 'compute.instance.create.end');
 * notifier.testSink.clear();
 * await transport.cleanup();
 * ```
 */
export class TestNotificationSink {
  #sent: SentNotification[] = [];

  /** What was recorded, oldest first (a snapshot). */
  get notifications(): readonly SentNotification[] {
    return [...this.#sent];
  }

  /** Forget everything recorded so far (oslo's `_impl_test.reset()`). */
  clear(): void {
    this.#sent = [];
  }

  /** @internal Called by the `test` driver. */
  record(notification: SentNotification): void {
    this.#sent.push(notification);
  }
}

/**
 * A notify driver. `notify` is called once per notification with the context already
 * sanitised and serialised. A rejection is logged by the notifier and never reaches
 * the caller.
 *
 * @internal
 */
export interface NotifyDriver {
  readonly name: NotifyDriverName;
  notify(
    ctxt: RequestContext,
    message: NotificationMessage,
    priority: string,
    retry: number,
    bounds?: NotifyBounds,
  ): Promise<void>;
}

/** How long one notification may take to publish. @internal */
export interface NotifyBounds {
  /** Aborting stops waiting for the broker. */
  readonly signal?: AbortSignal | undefined;
  /** Stop waiting for the broker's confirm after this many ms. */
  readonly timeoutMs?: number | undefined;
}

/** What notify drivers are built with. @internal */
export interface NotifyDriverContext {
  readonly transport: Transport;
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly testSink: TestNotificationSink;
  /** The routing driver's rules, or the path of their YAML file; `undefined` or `''` routes nothing. */
  readonly routingConfig: string | RoutingConfig | undefined;
}

/** Publishes on the transport: version 2 in the oslo envelope, version 1 bare. */
class MessagingDriver implements NotifyDriver {
  readonly name: NotifyDriverName;
  readonly #context: NotifyDriverContext;
  readonly #version: 1 | 2;
  /** One Target per topic (targets are immutable); bounded by the configured topics. */
  readonly #targets = new Map<string, Target>();

  constructor(context: NotifyDriverContext, version: 1 | 2) {
    this.name = version === 2 ? 'messagingv2' : 'messaging';
    this.#context = context;
    this.#version = version;
  }

  #target(topic: string): Target {
    let target = this.#targets.get(topic);
    if (target === undefined) {
      target = new Target({ topic });
      this.#targets.set(topic, target);
    }
    return target;
  }

  async notify(
    ctxt: RequestContext,
    message: NotificationMessage,
    _priority: string,
    retry: number,
    bounds: NotifyBounds = {},
  ): Promise<void> {
    const { transport, topics, logger } = this.#context;
    // One publish per topic, each failure logged on its own so the other topics still
    // get theirs (oslo does the same). The driver routes to `<topic>.<priority>`.
    for (const topic of topics) {
      try {
        await transport._sendNotification(this.#target(topic), ctxt, message, {
          version: this.#version,
          retry,
          signal: bounds.signal,
          timeoutMs: bounds.timeoutMs,
        });
      } catch (err) {
        // The caller's own abort is theirs to handle: it is not a failure to log.
        if (bounds.signal?.aborted === true) throw err;
        logger.error(
          'Could not send notification to %s. event_type=%s message_id=%s: %s',
          topic,
          message.event_type,
          message.message_id,
          err,
        );
      }
    }
  }
}

// oslo_utils.strutils._SANITIZE_KEYS: a key containing one of these (case-insensitively)
// has its value masked by the log driver.
const SANITIZE_KEYS = [
  'adminpass',
  'admin_pass',
  'password',
  'admin_password',
  'auth_token',
  'new_pass',
  'auth_password',
  'secret_uuid',
  'secret',
  'sys_pswd',
  'token',
  'configdrive',
  'chappassword',
  'encrypted_key',
  'private_key',
  'fernetkey',
  'sslkey',
  'passphrase',
  'cephclusterfsid',
  'octaviaheartbeatkey',
  'rabbitcookie',
  'cephmanilaclientkey',
  'pacemakerremoteauthkey',
  'designaterndckey',
  'cephadminkey',
  'heatauthencryptionkey',
  'cephclientkey',
  'keystonecredential',
  'barbicansimplecryptokek',
  'cephrgwkey',
  'swifthashsuffix',
  'migrationsshkey',
  'cephmdskey',
  'cephmonkey',
  'chapsecret',
];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * oslo's `mask_dict_password`, by key: values under secret-looking keys become `***`,
 * in nested objects and in objects inside lists too. (oslo also scans string values for
 * `password=...`-style text; that part is not reproduced.)
 *
 * @internal
 */
export function maskDictPassword(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskDictPassword);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isPlainObject(item)) {
      out[key] = maskDictPassword(item);
      continue;
    }
    const lower = key.toLowerCase();
    out[key] = SANITIZE_KEYS.some((s) => lower.includes(s)) ? '***' : maskDictPassword(item);
  }
  return out;
}

/** Writes each notification's JSON to the transport's logger at the priority's level. */
class LogDriver implements NotifyDriver {
  readonly name = 'log' as const;
  readonly #logger: Logger;
  readonly #warned = new Set<string>();

  constructor(context: NotifyDriverContext) {
    this.#logger = context.logger;
  }

  async notify(
    _ctxt: RequestContext,
    message: NotificationMessage,
    priority: string,
  ): Promise<void> {
    const level = priority.toLowerCase();
    // The event type stands in for oslo's logger name, `oslo.messaging.notification.<event_type>`.
    const format = 'oslo.messaging.notification.%s %s';
    const text = (): string => pyDumps(maskDictPassword(message));
    const logger = this.#logger;
    switch (level) {
      case 'debug':
        return logger.debug(format, message.event_type, text());
      case 'info':
        return logger.info(format, message.event_type, text());
      case 'warn':
        return logger.warn(format, message.event_type, text());
      // A Logger's highest level stands in for Python's CRITICAL.
      case 'error':
      case 'critical':
        return logger.error(format, message.event_type, text());
      default:
        // Python's logging has no `audit` or `sample` level, so oslo drops those with a
        // warning.
        if (!this.#warned.has(level)) {
          this.#warned.add(level);
          logger.warn(
            'Unable to log message as notify cannot find a logger with the priority specified %s',
            level,
          );
        }
    }
  }
}

class NoOpDriver implements NotifyDriver {
  readonly name = 'noop' as const;
  async notify(): Promise<void> {}
}

class TestDriver implements NotifyDriver {
  readonly name = 'test' as const;
  readonly #sink: TestNotificationSink;

  constructor(context: NotifyDriverContext) {
    this.#sink = context.testSink;
  }

  async notify(
    ctxt: RequestContext,
    message: NotificationMessage,
    priority: string,
    retry: number,
  ): Promise<void> {
    this.#sink.record({ ctxt, message, priority, retry });
  }
}

/**
 * A notify driver by name.
 *
 * @throws ConfigurationError for an unknown name (oslo only warns and sends nothing
 *   through it, which hides typos)
 * @internal
 */
export function createNotifyDriver(name: string, context: NotifyDriverContext): NotifyDriver {
  switch (name) {
    case 'messagingv2':
      return new MessagingDriver(context, 2);
    case 'messaging':
      return new MessagingDriver(context, 1);
    case 'log':
      return new LogDriver(context);
    case 'noop':
      return new NoOpDriver();
    case 'test':
      return new TestDriver(context);
    case 'routing':
      return new RoutingDriver(context, (sub) => createNotifyDriver(sub, context));
    default:
      throw new ConfigurationError(
        `Unknown notification driver "${name}"; use one of ${NOTIFY_DRIVERS.join(', ')}`,
        { option: 'oslo_messaging_notifications.driver', value: name },
      );
  }
}
