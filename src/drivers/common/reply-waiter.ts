/**
 * The client side of RPC calls, independent of the broker: correlates replies with
 * pending calls by `_msg_id` and applies oslo's reply rules (spec §4.4). A driver
 * registers a call with {@link ReplyWaiter.waitFor} before it publishes the request,
 * and hands every decoded message from its reply queue to {@link ReplyWaiter.deliver}.
 *
 * @module
 */
import { MessagingTimeout } from '../../errors.js';
import type { DriverContext } from '../driver.js';
import { clampWireDuration, preview, wireSeconds } from '../../wire/bounds.js';
import { deserializeRemoteError } from '../../wire/remote-error.js';

/** What a {@link ReplyWaiter} needs from its driver. */
export type ReplyWaiterContext = Pick<
  DriverContext,
  'logger' | 'allowedRemoteExmods' | 'remoteExceptions'
>;

/** How long, and how, {@link ReplyWaiter.waitFor} waits for one call's reply. */
export interface ReplyWaitOptions {
  /**
   * The overall call timeout in ms. Heartbeats never extend it: when it passes the call
   * rejects with `MessagingTimeout`, whatever arrived before.
   */
  timeoutMs: number;
  /**
   * The call-monitor timeout in ms: the call rejects with `MessagingTimeout` when no
   * heartbeat (or final reply) arrives for this long. Each heartbeat restarts it.
   * `undefined` disables the call monitor.
   */
  callMonitorTimeoutMs?: number | undefined;
  /** Aborting rejects the call with the signal's reason; a later reply is dropped. */
  signal?: AbortSignal | undefined;
}

// setTimeout fires at once for delays above this (a 32-bit signed int of ms, ~24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

interface PendingCall {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly timer: NodeJS.Timeout;
  monitor: NodeJS.Timeout | undefined;
  readonly callMonitorTimeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  /** The last non-null result seen (oslo's "answer so far"). */
  answer: unknown;
}

/**
 * Python truthiness, as oslo's reply loop tests `failure` and `ending`: `null`,
 * `false`, `0`, `''`, `[]` and `{}` are false.
 */
function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function durationError(name: string, value: number | undefined): RangeError | undefined {
  if (value === undefined || (Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS)) {
    return undefined;
  }
  return new RangeError(`${name} must be a number of ms from 0 to ${MAX_TIMER_MS}, got ${value}`);
}

/**
 * Correlates RPC replies with the calls waiting for them.
 *
 * Rules, as oslo's `ReplyWaiter.wait` applies them (spec §4.4):
 * - a message with a non-null `failure` rejects the call with the rebuilt remote error
 *   (`RemoteError` unless the module is allowed and registered);
 * - otherwise a non-null `result` becomes the answer so far;
 * - a null `result` with `ending` false is a heartbeat: it restarts the call-monitor
 *   timer only, never the overall timeout;
 * - the first message with `ending` true resolves the call with the answer so far;
 *   a missing `ending` counts as false.
 *
 * Every way a wait ends (reply, failure, timeout, call monitor, abort, cancel) clears its
 * timers and its abort listener. Replies are not checked for duplicate `_unique_id`s:
 * oslo's waiter does not record them either, and waiting stops at the first ending.
 */
export class ReplyWaiter {
  readonly #context: ReplyWaiterContext;
  readonly #pending = new Map<string, PendingCall>();

  constructor(context: ReplyWaiterContext) {
    this.#context = context;
  }

  /** How many calls are waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** Whether a call with this `_msg_id` is waiting. */
  has(msgId: string): boolean {
    return this.#pending.has(msgId);
  }

  /**
   * Register a call and wait for its reply. Registration is synchronous, so call this
   * before publishing the request: a reply can't then arrive before its waiter.
   *
   * Resolves with the result; rejects with the rebuilt remote error, with
   * `MessagingTimeout` (overall timeout, or heartbeats stopped), with the signal's
   * reason, or with the error given to {@link cancel} / {@link cancelAll}. Rejects with
   * `RangeError` for a bad duration and `Error` for a `msgId` already waiting.
   */
  waitFor(msgId: string, options: ReplyWaitOptions): Promise<unknown> {
    const { timeoutMs, callMonitorTimeoutMs, signal } = options;
    const invalid =
      durationError('timeoutMs', timeoutMs) ??
      durationError('callMonitorTimeoutMs', callMonitorTimeoutMs);
    if (invalid !== undefined) return Promise.reject(invalid);
    if (this.#pending.has(msgId)) {
      return Promise.reject(new Error(`a call with message ID ${msgId} is already waiting`));
    }
    if (signal?.aborted === true) {
      return Promise.reject(signal.reason as Error);
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#finish(msgId, (call) =>
          call.reject(new MessagingTimeout(`Timed out waiting for a reply to message ID ${msgId}`)),
        );
      }, timeoutMs);
      const onAbort =
        signal === undefined
          ? undefined
          : () => this.#finish(msgId, (call) => call.reject(signal.reason));
      const call: PendingCall = {
        resolve,
        reject,
        timer,
        monitor: undefined,
        callMonitorTimeoutMs,
        signal,
        onAbort,
        answer: null,
      };
      this.#pending.set(msgId, call);
      this.#startMonitor(msgId, call);
      if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Hand over one decoded reply message (the inner dict: `result`, `failure`, `ending`,
   * `_msg_id`, `_unique_id`). A reply for an unknown or finished `_msg_id` (the caller
   * timed out or gave up) is logged at debug level and dropped. Never throws.
   */
  deliver(reply: Readonly<Record<string, unknown>>): void {
    const msgId = reply['_msg_id'];
    if (typeof msgId !== 'string') {
      this.#context.logger.debug('Dropping a reply without a _msg_id: %s', preview(reply));
      return;
    }
    const call = this.#pending.get(msgId);
    if (call === undefined) {
      this.#context.logger.info('No calling threads waiting for msg_id : %s', preview(msgId));
      return;
    }
    const failure = reply['failure'];
    if (pyTruthy(failure)) {
      let error: unknown;
      try {
        error = deserializeRemoteError(failure as string, {
          allowedRemoteExmods: this.#context.allowedRemoteExmods,
          remoteExceptions: this.#context.remoteExceptions,
        });
      } catch (err) {
        error = err;
      }
      this.#finish(msgId, (c) => c.reject(error));
      return;
    }
    const result = reply['result'] ?? null;
    const ending = pyTruthy(reply['ending']);
    if (result !== null) {
      call.answer = result;
    } else if (!ending) {
      this.#context.logger.debug('Call monitor heartbeat received for msg_id %s', msgId);
      this.#startMonitor(msgId, call);
    }
    if (ending) {
      this.#context.logger.debug('received reply msg_id: %s', msgId);
      this.#finish(msgId, (c) => c.resolve(c.answer));
    }
  }

  /**
   * Stop waiting for one call, rejecting it with `reason` (e.g. the publish of its request
   * failed). Returns whether the call was waiting.
   */
  cancel(msgId: string, reason: unknown): boolean {
    return this.#finish(msgId, (call) => call.reject(reason));
  }

  /** Reject every waiting call with `error` (driver cleanup, lost reply queue). */
  cancelAll(error: unknown): void {
    for (const msgId of [...this.#pending.keys()]) this.cancel(msgId, error);
  }

  #startMonitor(msgId: string, call: PendingCall): void {
    const ms = call.callMonitorTimeoutMs;
    if (ms === undefined) return;
    if (call.monitor !== undefined) clearTimeout(call.monitor);
    call.monitor = setTimeout(() => {
      this.#finish(msgId, (c) =>
        c.reject(
          new MessagingTimeout(
            `Timed out waiting for a reply to message ID ${msgId}: ` +
              `no heartbeat from the server for ${ms} ms (call monitor)`,
          ),
        ),
      );
    }, ms);
  }

  #finish(msgId: string, settle: (call: PendingCall) => void): boolean {
    const call = this.#pending.get(msgId);
    if (call === undefined) return false;
    this.#pending.delete(msgId);
    clearTimeout(call.timer);
    if (call.monitor !== undefined) clearTimeout(call.monitor);
    if (call.onAbort !== undefined) call.signal?.removeEventListener('abort', call.onAbort);
    settle(call);
    return true;
  }
}

/**
 * The call-monitor timeout in ms that a request's `_timeout` asks for, as oslo's RPC
 * dispatcher reads it: `int(_timeout)` seconds, valid only when half of it is at least
 * one second (so at least 2). `null`, a missing key or an invalid value mean no
 * heartbeats: `undefined`. A value above a day is clamped to a day
 * (`MAX_WIRE_DURATION_MS`): heartbeats then come every 12 hours, instead of a timer that
 * overflows and fires at once, again and again.
 */
export function callMonitorTimeoutFromWire(value: unknown): number | undefined {
  const seconds = wireSeconds(value);
  if (seconds === undefined || seconds < 2) return undefined;
  return clampWireDuration(seconds).ms;
}
