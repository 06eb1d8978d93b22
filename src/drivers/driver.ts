/**
 * The driver contract: what every transport driver (fake, rabbit) must guarantee.
 * Private to the library; servers, clients and notifiers are written against it,
 * and one shared test suite (test/contract/) runs against every driver.
 *
 * @module
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Target } from '../target.js';
import type { TransportURL } from '../transport-url.js';
import type { RemoteExceptionRegistry } from '../wire/remote-error.js';

/** A request context as it travels: a JSON object. */
export type Context = Record<string, unknown>;

/** The body of an RPC request, before the driver adds its underscore keys. */
export interface RpcRequest {
  method: string;
  /** Keyword arguments (oslo sends no positional ones). */
  args: Record<string, unknown>;
  namespace?: string | undefined;
  version?: string | undefined;
}

/** How {@link Driver.send} sends one RPC request. */
export interface SendOptions {
  /** `true` for `call()`: wait for the reply and resolve with its result. */
  waitForReply: boolean;
  /**
   * Overall call timeout in ms (calls only). Also sent as the AMQP `expiration`.
   * The driver rejects with `MessagingTimeout` when it passes.
   */
  timeoutMs?: number | undefined;
  /**
   * Call-monitor timeout in ms (calls only): sent as `_timeout` (whole seconds); the
   * server sends heartbeats every half of it, and the call fails with
   * `MessagingTimeout` when none arrives for this long.
   */
  callMonitorTimeoutMs?: number | undefined;
  /** Connection retries: `undefined` or -1 forever, 0 none, N at most N. */
  retry?: number | undefined;
  /** Publish mandatory: an unroutable request rejects with `MessageUndeliverable`. */
  atLeastOnce?: boolean | undefined;
  /** Aborting rejects the call with the signal's reason; a reply arriving later is dropped. */
  signal?: AbortSignal | undefined;
}

/** The body of a notification (spec §5.2), before `_unique_id` and `_context_*` keys. */
export interface NotificationMessage {
  message_id: string;
  /** `null` when the notifier has no publisher id (Python sends JSON null). */
  publisher_id: string | null;
  event_type: string;
  /** Upper case in the body (`INFO`); the routing key uses lower case. */
  priority: string;
  payload: unknown;
  timestamp: string;
}

/** An RPC reply: either a result or a serialised failure (oslo's failure JSON string). */
export type RpcReply =
  { result: unknown; failure?: undefined } | { result?: undefined; failure: string };

/** Options for a listener. */
export interface ListenOptions {
  /**
   * The most messages the driver may have delivered to the server and not yet
   * settled (acknowledged, requeued or rejected). The server sets it from its
   * executor's capacity; a driver with a configured prefetch uses the smaller.
   * This bounds what the process buffers.
   */
  maxUnsettled: number;
  /**
   * Notification listeners only: consume a private temporary queue (exclusive,
   * auto-delete, gone when the listener is cleaned up) bound with the same routing
   * keys, so that the listener sees a copy of every notification and takes nothing
   * from other consumers. Used by the command-line tool's `listen`. Ignored with a pool.
   */
  tap?: boolean | undefined;
}

/**
 * A message received by a listener.
 *
 * Settling: exactly one of `acknowledge`, `requeue`, `reject` takes effect; later
 * calls are no-ops. Settling never rejects: a message whose channel died (the broker
 * already gave it back to the queue) settles as a no-op, logged at debug level.
 */
export interface IncomingMessage {
  /** The restored request context, including oslo's `client_timeout` key. */
  readonly ctxt: Context;
  /** The message without underscore and `_context_*` keys. */
  readonly message: Record<string, unknown>;
  /** Done with it: remove it from the queue. */
  acknowledge(): Promise<void>;
  /** Give it back to the queue for redelivery (only where {@link Driver.supportsRequeue}). */
  requeue(): Promise<void>;
  /** Drop it without redelivery (malformed or refused messages). */
  reject(): Promise<void>;
}

/** A received RPC request. */
export interface RpcIncomingMessage extends IncomingMessage {
  /** Set for calls; casts get no reply. */
  readonly msgId: string | undefined;
  /** The call-monitor timeout in ms, when the caller asked for heartbeats and it is valid. */
  readonly callMonitorTimeoutMs: number | undefined;
  /**
   * Send the final reply (`ending: true`). Resolves once the broker accepted it.
   * A no-op for casts. Never rejects for a caller that went away: that is logged.
   * Rejects with `TypeError`, having sent nothing, when the result can't be encoded
   * as JSON; the server may then send a failure reply instead.
   */
  reply(reply: RpcReply): Promise<void>;
  /**
   * Send a keep-alive (`ending: false`, null result) for call-monitor. A no-op for
   * casts. Rejects with `MessageDeliveryFailure` when the caller's reply queue is gone,
   * so the server's watchdog can stop (as oslo's does).
   */
  heartbeat(): Promise<void>;
}

/** Called by a listener for each delivered message, in delivery order. */
export type MessageCallback<M extends IncomingMessage = IncomingMessage> = (message: M) => void;

/**
 * A listener: consumers on a driver for one server.
 *
 * Guarantees: `start` resolves once every queue is declared and consumed (or rejects
 * with `ServerListenError`); messages that can't be decoded are logged and rejected
 * by the driver without requeue, and never reach the callback; after `stop` resolves
 * no further message is delivered; after a lost connection the driver re-declares
 * and resumes consuming by itself.
 */
export interface DriverListener<M extends IncomingMessage = IncomingMessage> {
  start(onMessage: MessageCallback<M>): Promise<void>;
  /** Stop consuming. Delivered but unsettled messages may still be settled. */
  stop(): Promise<void>;
  /**
   * Release the listener: unsettled messages go back to the queue, an RPC server's
   * fanout queue is deleted, the connection is closed. Idempotent.
   */
  cleanup(): Promise<void>;
}

/** A target and priority pair a notification listener consumes. */
export interface NotificationBinding {
  target: Target;
  /** Lower-case priority: `info`, `warn`, ... */
  priority: string;
}

/**
 * A transport driver.
 *
 * Every method that waits has a bound: a timeout, a retry budget or a signal.
 */
export interface Driver {
  /** Whether `IncomingMessage.requeue` gives a message back for redelivery. */
  readonly supportsRequeue: boolean;

  /**
   * Send an RPC request. For a call, resolves with the reply's result, or rejects
   * with the rebuilt remote error, `RemoteError`, `MessagingTimeout` or the signal's
   * reason. For a cast, resolves once the broker accepted the message.
   * Rejects with `MessageDeliveryFailure` when the retry budget is used up and with
   * `MessageUndeliverable` for an unroutable `atLeastOnce` request.
   */
  send(target: Target, ctxt: Context, request: RpcRequest, options: SendOptions): Promise<unknown>;

  /**
   * Publish a notification to `<topic>.<priority>` on the target's exchange (or the
   * control exchange). `version` 2 wraps it in the oslo 2.0 envelope, 1 sends it bare.
   * Resolves once the broker confirmed it.
   */
  sendNotification(
    target: Target,
    ctxt: Context,
    message: NotificationMessage,
    version: 1 | 2,
    retry: number | undefined,
  ): Promise<void>;

  /** A listener for an RPC server on `target` (topic, topic.server and fanout). */
  listen(target: Target, options: ListenOptions): Promise<DriverListener<RpcIncomingMessage>>;

  /**
   * A listener for notifications. Without `pool`, consumes the shared
   * `<topic>.<priority>` queues; with `pool`, one queue named after the pool.
   */
  listenForNotifications(
    bindings: readonly NotificationBinding[],
    pool: string | undefined,
    options: ListenOptions,
  ): Promise<DriverListener>;

  /** Close every connection. Pending calls reject. Idempotent. */
  cleanup(): Promise<void>;
}

/** What a driver is constructed with. */
export interface DriverContext {
  readonly url: TransportURL;
  readonly conf: Config;
  readonly logger: Logger;
  /** Modules whose errors may be rebuilt from a remote failure. */
  readonly allowedRemoteExmods: readonly string[];
  /** Local error classes, by module and class name, that remote failures may become. */
  readonly remoteExceptions: RemoteExceptionRegistry;
}

/** A driver module's factory. */
export type DriverFactory = (context: DriverContext) => Driver;
