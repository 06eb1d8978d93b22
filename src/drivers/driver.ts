/**
 * The driver contract: what every transport driver (fake, rabbit) must guarantee.
 *
 * Private to the library. Only the {@link Transport} façade calls a driver: it has
 * already checked the target (a topic; no call to a fanout), resolved every default
 * (exchange, call timeout) and the closed state before a method here is called, and
 * it runs the hooks that read and write {@link MessageHeaders}. One shared test suite
 * (test/contract/) runs against every driver.
 *
 * @module
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Target } from '../target.js';
import type { OptionSpec } from '../config/types.js';
import type { TransportURL } from '../transport-url.js';
import type {
  RequestContext,
  NotificationMessage,
  RpcReply,
  RpcRequest,
} from '../wire/messages.js';
import type { RemoteExceptionRegistry } from '../wire/remote-error.js';

/**
 * Application headers of a message (AMQP `headers` on RabbitMQ). oslo sends an empty
 * table; the transport's hooks may add entries (tracing), and a listener hands over
 * what arrived. Values are strings so that every driver can carry them.
 */
export type MessageHeaders = Readonly<Record<string, string>>;

/**
 * What a driver can do. The generic layers ask these and never test a driver's name.
 */
export interface DriverCapabilities {
  /** RPC: `send` (cast, call with a reply) and `listen`. */
  readonly rpc: boolean;
  /** A listener's `requeue()` gives the message back for redelivery (`allowRequeue`). */
  readonly requeue: boolean;
  /** Notification listeners may take batches (`getBatchNotificationListener`). */
  readonly batch: boolean;
  /**
   * The most unsettled messages one consumer is ever given (RabbitMQ's
   * `rabbit_qos_prefetch_count`), or `undefined` for no limit. A batch listener caps
   * its batch size at this, or its batches could never fill.
   */
  readonly maxPrefetch: number | undefined;
  /** Message headers travel with messages to listeners. */
  readonly headers: boolean;
}

/**
 * What happened on one of a driver's connections, as reported to the transport: a
 * change of its state, or (`rejected`) a message it dropped there as malformed. A driver
 * with no connection (in memory) reports `connected` once, when it is created.
 */
export type ConnectionEvent =
  | MessageRejectedEvent
  | { readonly type: 'connected'; readonly connection: string; readonly host?: string }
  | { readonly type: 'disconnected'; readonly connection: string; readonly reason: Error }
  | {
      readonly type: 'reconnecting';
      readonly connection: string;
      readonly reason: Error;
      readonly retryInMs: number;
    }
  | { readonly type: 'blocked'; readonly connection: string; readonly reason: string }
  | { readonly type: 'unblocked'; readonly connection: string }
  | { readonly type: 'closed'; readonly connection: string };

/**
 * A delivered message that the driver rejected without requeue because it is malformed
 * (not JSON, a bad oslo envelope, not an oslo message, an unsupported envelope version,
 * a body over the size limit), on a listener or on the reply queue (`kind: 'reply'`).
 * Reported once per message, only in the rejection branch (nothing per good message).
 */
export interface MessageRejectedEvent {
  readonly type: 'rejected';
  readonly connection: string;
  readonly kind: 'rpc' | 'notification' | 'reply';
  /** The exchange and routing key it was published with. */
  readonly exchange: string;
  readonly routingKey: string;
  /** Why it was rejected (`MalformedMessage`, `UnsupportedRpcEnvelopeVersion`, ...). */
  readonly reason: Error;
}

/** How {@link TransportDriver.send} sends one RPC request. */
export interface SendRequest {
  /** Where it goes: has a topic; `fanout` only for casts; `exchange` is resolved. */
  readonly target: Target & { readonly topic: string; readonly exchange: string };
  readonly ctxt: RequestContext;
  readonly message: RpcRequest;
  /** Application headers to send with the request. */
  readonly headers: MessageHeaders;
  /** Connection retries: -1 forever, 0 none, N at most N. */
  readonly retry: number;
  /** Publish mandatory: an unroutable request rejects with `MessageUndeliverable`. */
  readonly atLeastOnce: boolean;
  /** Aborting rejects with the signal's reason; a reply arriving later is dropped. */
  readonly signal: AbortSignal | undefined;
  /**
   * The bound in ms: a call rejects with `MessagingTimeout` when no reply came by then
   * (also the request's `expiration` in the queue); a cast rejects with it when the
   * broker has not accepted the request by then (a broker away, a blocked connection).
   */
  readonly timeoutMs: number;
  /**
   * For `call()`: wait for the reply and resolve with its result. `undefined` for a
   * cast, which resolves once the broker accepted the request.
   */
  readonly reply:
    | {
        /**
         * Call-monitor timeout in ms: sent as `_timeout` in whole seconds; the call fails
         * with `MessagingTimeout` when no heartbeat arrives for this long.
         */
        readonly callMonitorTimeoutMs: number | undefined;
      }
    | undefined;
}

/** How {@link TransportDriver.sendNotification} publishes one notification. */
export interface NotificationRequest {
  /** `exchange` is resolved; the routing key is `<topic>.<priority>` (lower case). */
  readonly target: Target & { readonly topic: string; readonly exchange: string };
  readonly ctxt: RequestContext;
  readonly message: NotificationMessage;
  /** 2 wraps the body in the oslo 2.0 envelope (`messagingv2`), 1 sends it bare. */
  readonly version: 1 | 2;
  readonly headers: MessageHeaders;
  /** Connection retries: -1 forever, 0 none, N at most N. */
  readonly retry: number;
  /** Aborting rejects with the signal's reason. */
  readonly signal: AbortSignal | undefined;
  /** Rejects with `MessagingTimeout` when the broker has not confirmed it by then. */
  readonly timeoutMs: number | undefined;
}

/** Options shared by both kinds of listener. */
export interface ListenOptions {
  /**
   * The most messages the driver may have delivered to the server and not yet
   * settled (acknowledged, requeued or rejected). The server sets it from its
   * executor's capacity; a driver with a configured prefetch uses the smaller.
   * This bounds what the process buffers.
   */
  readonly maxUnsettled: number;
}

/** What an RPC server listens to: `topic`, `topic.server` and the topic's fanout. */
export interface RpcListenRequest extends ListenOptions {
  readonly target: Target & { readonly topic: string; readonly exchange: string };
}

/** A target (exchange resolved) and priority pair that a notification listener consumes. */
export interface NotificationBinding {
  readonly target: Target & { readonly topic: string; readonly exchange: string };
  /** Lower-case priority: `info`, `warn`, ... */
  readonly priority: string;
}

/** What a notification listener consumes. */
export interface NotificationListenRequest extends ListenOptions {
  readonly bindings: readonly NotificationBinding[];
  /** Without a pool, the shared `<topic>.<priority>` queues; with one, one queue of that name. */
  readonly pool: string | undefined;
  /**
   * Consume a private temporary queue (exclusive, auto-delete, gone when the listener
   * is cleaned up) bound with the same routing keys, so that the listener sees a copy
   * of every notification and takes nothing from other consumers. Used by the
   * command-line tool's `listen`. Ignored with a pool.
   */
  readonly tap: boolean;
}

/** Where a message was delivered from. */
export interface DeliveryInfo {
  readonly exchange: string;
  readonly routingKey: string;
  /** The broker delivered it before (a requeue, or a consumer that went away). */
  readonly redelivered: boolean;
}

/**
 * A message received by a listener.
 *
 * Settling: exactly one of `acknowledge`, `requeue`, `reject` takes effect; later
 * calls are no-ops. Settling never rejects: a message whose channel died (the broker
 * already gave it back to the queue) settles as a no-op, logged as a warning (as oslo
 * logs a failed acknowledgement).
 */
export interface IncomingMessage {
  /** The restored request context, including oslo's `client_timeout` key. */
  readonly ctxt: RequestContext;
  /** The message without underscore and `_context_*` keys. */
  readonly message: Record<string, unknown>;
  /** The application headers that arrived with it (`{}` when none). */
  readonly headers: MessageHeaders;
  /** Where it came from. */
  readonly delivery: DeliveryInfo;
  /** Done with it: remove it from the queue. */
  acknowledge(): Promise<void>;
  /** Give it back to the queue for redelivery (only with the `requeue` capability). */
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

/**
 * A transport driver. Every method that waits has a bound: a timeout, a retry budget
 * or a signal. Methods are called only while the transport is open, with targets the
 * transport has checked; after `cleanup()` none is called again.
 */
export interface TransportDriver {
  /** What this driver can do, for the options it was made with. */
  readonly capabilities: DriverCapabilities;

  /**
   * Send an RPC request. For a call (`reply` set), resolves with the reply's result, or
   * rejects with the rebuilt remote error, `RemoteError`, `MessagingTimeout` or the
   * signal's reason. For a cast, resolves once the broker accepted the message.
   * Rejects with `MessageDeliveryFailure` when the retry budget is used up, with
   * `MessageUndeliverable` for an unroutable `atLeastOnce` request, and with
   * `TypeError`, having sent nothing, for arguments that can't be encoded.
   */
  send(request: SendRequest): Promise<unknown>;

  /**
   * Publish a notification to `<topic>.<priority>` on the target's exchange. Resolves
   * once the broker confirmed it.
   */
  sendNotification(request: NotificationRequest): Promise<void>;

  /** A listener for an RPC server (only with the `rpc` capability). */
  listen(request: RpcListenRequest): DriverListener<RpcIncomingMessage>;

  /** A listener for notifications. */
  listenForNotifications(request: NotificationListenRequest): DriverListener;

  /**
   * Close every connection. Pending calls reject (the transport turns their error
   * into `TransportClosed`); listeners are released. Idempotent.
   */
  cleanup(): Promise<void>;
}

/** What a driver is constructed with. */
export interface DriverContext<S = unknown> {
  readonly url: TransportURL;
  readonly conf: Config;
  /** What the driver's descriptor resolved from `url` and `conf` when the transport was made. */
  readonly settings: S;
  /** What the descriptor says the driver can do under these settings. */
  readonly capabilities: DriverCapabilities;
  readonly logger: Logger;
  /** Modules whose errors may be rebuilt from a remote failure. */
  readonly allowedRemoteExmods: readonly string[];
  /** Local error classes, by module and class name, that remote failures may become. */
  readonly remoteExceptions: RemoteExceptionRegistry;
  /** Report a change of one of the driver's connections, or a rejected message. Never throws. */
  readonly onConnectionEvent: (event: ConnectionEvent) => void;
}

/**
 * A driver as the registry knows it, before its code is loaded: the URL schemes it
 * serves, its option group, and how it resolves its settings and capabilities. Lives
 * in the driver's folder (`descriptor.ts`), importing nothing heavy.
 */
export interface DriverDescriptor<S = unknown> {
  /** URL schemes, the first being the driver's name (`rabbit`, then the `kombu` alias). */
  readonly schemes: readonly string[];
  /** The driver's option groups, merged into the configuration's option table. */
  readonly optionGroups: readonly OptionGroupSpec[];
  /**
   * Resolve the driver's settings from the URL and configuration. Called when the
   * transport is made, so a bad option fails there, as in oslo.
   * @throws ConfigurationError
   */
  settings(url: TransportURL, conf: Config, logger: Logger): S;
  /** The driver's capabilities under these settings. */
  capabilities(settings: S): DriverCapabilities;
  /** Load the driver's code (lazily: importing the package loads no AMQP code). */
  load(): Promise<(context: DriverContext<S>) => TransportDriver>;
}

/** An option group a driver declares (see `src/config/options.ts` for the spec format). */
export interface OptionGroupSpec {
  readonly group: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
}
