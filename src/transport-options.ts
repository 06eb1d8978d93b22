/**
 * The options of transports, and what the façade's internal send methods take.
 *
 * @module
 */
import type { DriverDescriptor } from './drivers/driver.js';
import type { Logger } from './log.js';
import type { PinoLikeLogger } from './observability/structured-log.js';
import type { TransportURL } from './transport-url.js';
import type { RemoteExceptionRegistry } from './wire/remote-error.js';

/** Options for {@link getTransport} and its RPC and notification variants. */
export interface TransportOptions {
  /**
   * The transport URL. Overrides `[DEFAULT] transport_url` (or, for a notification
   * transport, `[oslo_messaging_notifications] transport_url`).
   */
  url?: string | TransportURL | undefined;
  /**
   * Modules whose remote errors an RPC client may rebuild as local classes (oslo's
   * `allowed_remote_exmods`). Errors from any other module arrive as `RemoteError`.
   * @default []
   */
  allowedRemoteExmods?: readonly string[] | undefined;
  /**
   * The local error classes, by module and class name, that remote failures from
   * an allowed module are rebuilt as. Nothing outside this registry is ever built.
   * @default {}
   */
  remoteExceptions?: RemoteExceptionRegistry | undefined;
  /**
   * Where this transport and its servers log: a {@link Logger}, or a pino-compatible
   * logger (recognised by its `child()` and `bindings()`), which then receives each record
   * as fields first (`{ err, method, ... }`, errors always as `err`) and the message.
   * @default warnings and errors to stderr, one readable line each
   */
  logger?: Logger | PinoLikeLogger | undefined;
  /**
   * Trace sends and handling with OpenTelemetry, when the application has
   * `@opentelemetry/api` installed (an optional peer dependency): spans follow the
   * messaging and RPC semantic conventions, and W3C trace context travels in the
   * request context under `_trace_context`, as Python's instrumentation carries it.
   * Without a registered tracer provider the spans are the API's no-op ones.
   * `false` adds no tracing hook at all.
   * @default true
   */
  tracing?: boolean | undefined;
  /**
   * Record metrics through the OpenTelemetry metrics API, when `@opentelemetry/api` is
   * installed and a meter provider is registered: oslo.metrics' instruments under its
   * names and labels, and transport gauges (connection, reconnects, calls in flight,
   * pending publishes, unsettled deliveries, requeues). `false` adds no metrics hook.
   * (oslo.metrics datagrams are configured apart, by `[oslo_messaging_metrics]`.)
   * @default true
   */
  metrics?: boolean | undefined;
  /** @internal A driver that is not in the registry (tests of the generic layers). */
  driver?: DriverDescriptor | undefined;
}

/** What a server registers with its transport, to be stopped by `cleanup()`. */
export interface TransportServer {
  /** Stop consuming (the transport is closing); must not reject. */
  onTransportClosed(): Promise<void>;
}

/** @internal How the façade sends one RPC request. Durations in ms. */
export interface TransportSendOptions {
  /** Set for `call()`: wait for the reply. */
  readonly call?: { readonly callMonitorTimeoutMs: number | undefined } | undefined;
  /** @default `[DEFAULT] rpc_response_timeout` */
  readonly timeoutMs?: number | undefined;
  /** @default -1 (forever, within the timeout) */
  readonly retry?: number | undefined;
  readonly atLeastOnce?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** @internal How the façade publishes one notification. */
export interface TransportNotifyOptions {
  readonly version: 1 | 2;
  readonly retry: number;
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}
