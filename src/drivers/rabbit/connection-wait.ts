/**
 * Bounds on waiting: the retry budget (oslo's `retry`) and the abort signal / timeout
 * of one operation.
 *
 * @module
 */
import { MessagingTimeout } from '../../errors.js';

/**
 * How many more failed connection attempts (or lost channels) an operation accepts.
 * oslo's `retry`: `undefined` or negative retries forever, 0 never retries, N retries N
 * times.
 */
export class RetryBudget {
  /** The `retry` as given, for messages (`Infinity` when unbounded). */
  readonly retry: number;
  left: number;
  constructor(retry: number | undefined) {
    this.retry = retry === undefined || retry < 0 ? Infinity : retry;
    this.left = this.retry;
  }
  /** Uses one retry; false when none was left. */
  spend(): boolean {
    if (this.left <= 0) return false;
    this.left -= 1;
    return true;
  }
}

/**
 * What an operation needs of an abort signal: an `AbortSignal`, or a {@link Cancellation}
 * (no `DOMException`, no event objects; for the driver's per-call bookkeeping).
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A minimal abort signal: `abort()` sets `aborted` and `reason` and calls the listeners
 * (each once). Much cheaper than an `AbortController` when it is made for every message.
 */
export class Cancellation implements AbortLike {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }
}

/**
 * The abort signal and timeout of one operation. `race` rejects with the signal's reason
 * or with `MessagingTimeout`; `dispose` removes the listener and clears the timer, so
 * nothing outlives the operation.
 *
 * Made for every publish: with a signal or a timeout a race costs one promise and one
 * reaction (no promise of its own for the abort, and no `Promise.race`); without either,
 * nothing.
 */
export class OpGuard {
  readonly #guarded: boolean;
  /** Why the operation must stop, once the signal fired or the time ran out. */
  #failure: { readonly error: unknown } | undefined;
  /** The rejections of the races now waiting. */
  #waiting: ((error: unknown) => void)[] | undefined;
  #cleanup: (() => void) | undefined;

  constructor(signal: AbortLike | undefined, timeoutMs: number | undefined, what: string) {
    if (signal?.aborted === true) throw signal.reason;
    this.#guarded = signal !== undefined || timeoutMs !== undefined;
    if (!this.#guarded) return;
    let timer: NodeJS.Timeout | undefined;
    // The caller chose the reason (an AbortError by default): it is what they expect back.
    const onAbort = (): void => this.#fail(signal?.reason);
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => this.#fail(new MessagingTimeout(`${what} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) for (const reject of waiting) reject(error);
  }

  /** `promise`, or the abort/timeout, whichever settles first. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (!this.#guarded) return promise;
    const failure = this.#failure;
    if (failure !== undefined) {
      promise.catch(() => undefined); // nobody waits for it any more
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(failure.error);
    }
    return new Promise<T>((resolve, reject) => {
      const waiting = (this.#waiting ??= []);
      waiting.push(reject);
      const done = (): void => {
        const i = waiting.indexOf(reject);
        if (i >= 0) waiting.splice(i, 1);
      };
      promise.then(
        (value) => {
          done();
          resolve(value);
        },
        (err: unknown) => {
          done();
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(err);
        },
      );
    });
  }

  dispose(): void {
    this.#cleanup?.();
    this.#cleanup = undefined;
  }
}
