/**
 * Tests drive a transport's driver through the façade's internal methods, with the
 * positional calls the driver tests were written in. Everything goes through
 * `Transport._send` and friends, so these tests check what users get: target checks,
 * defaults and the closed state included.
 */
import type {
  DriverListener,
  IncomingMessage,
  RpcIncomingMessage,
  TransportDriver,
} from '../../src/drivers/driver.js';
import type { Target } from '../../src/target.js';
import type { Transport } from '../../src/transport.js';
import type { NotificationMessage, RequestContext, RpcRequest } from '../../src/wire/messages.js';

/** How a test sends one RPC request. */
export interface TestSendOptions {
  waitForReply: boolean;
  timeoutMs?: number | undefined;
  callMonitorTimeoutMs?: number | undefined;
  retry?: number | undefined;
  atLeastOnce?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** A transport's driver as the tests see it. */
export interface DriverView {
  readonly supportsRequeue: boolean;
  send(
    target: Target,
    ctxt: RequestContext,
    request: RpcRequest,
    options: TestSendOptions,
  ): Promise<unknown>;
  sendNotification(
    target: Target,
    ctxt: RequestContext,
    message: NotificationMessage,
    version: 1 | 2,
    retry: number | undefined,
  ): Promise<void>;
  listen(
    target: Target,
    options: { maxUnsettled: number },
  ): Promise<DriverListener<RpcIncomingMessage>>;
  listenForNotifications(
    bindings: readonly { target: Target; priority: string }[],
    pool: string | undefined,
    options: { maxUnsettled: number; tap?: boolean | undefined },
  ): Promise<DriverListener<IncomingMessage>>;
  cleanup(): Promise<void>;
}

/** The view of `transport`'s driver. */
export function driverOf(transport: Transport): DriverView {
  return {
    get supportsRequeue() {
      return transport.capabilities.requeue;
    },
    send: (target, ctxt, request, options) =>
      transport._send(target, ctxt, request, {
        call: options.waitForReply
          ? { callMonitorTimeoutMs: options.callMonitorTimeoutMs }
          : undefined,
        timeoutMs: options.timeoutMs,
        retry: options.retry,
        atLeastOnce: options.atLeastOnce,
        signal: options.signal,
      }),
    sendNotification: (target, ctxt, message, version, retry) =>
      transport._sendNotification(target, ctxt, message, { version, retry: retry ?? -1 }),
    listen: (target, options) => transport._listen(target, options.maxUnsettled),
    listenForNotifications: (bindings, pool, options) =>
      transport._listenForNotifications(bindings, {
        pool,
        tap: options.tap === true,
        maxUnsettled: options.maxUnsettled,
      }),
    cleanup: () => transport.cleanup(),
  };
}

/** The driver instance itself (driver-specific tests: connection names, reply queue). */
export function driverInstance(transport: Transport): Promise<TransportDriver> {
  return transport._loadDriver();
}
