/**
 * Small promise helpers shared by the library: a deferred, and bounds (a signal and a
 * timeout) around a promise that clean up their timer and listener on every path.
 *
 * @module
 */

/** A promise with its `resolve` and `reject` (Node 20 has no `Promise.withResolvers`). */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** A new {@link Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What {@link bounded} waits for at most. */
export interface Bounds {
  /** Aborting rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Rejects with `onTimeout()` after this many ms. */
  readonly timeoutMs?: number | undefined;
  readonly onTimeout?: (() => Error) | undefined;
}

/**
 * `promise`, or a rejection when the signal aborts or the timeout passes, whichever
 * comes first. The work behind `promise` goes on; only the wait ends. Without a
 * signal or timeout, `promise` itself.
 */
export function bounded<T>(promise: Promise<T>, bounds: Bounds): Promise<T> {
  const { signal, timeoutMs } = bounds;
  if (signal === undefined && timeoutMs === undefined) return promise;
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  const result = deferred<T>();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => settle(() => result.reject(signal?.reason));
  function settle(how: () => void): void {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    how();
  }
  if (timeoutMs !== undefined) {
    timer = setTimeout(
      () =>
        settle(() =>
          result.reject(bounds.onTimeout?.() ?? new Error(`Timed out after ${timeoutMs} ms`)),
        ),
      timeoutMs,
    );
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  promise.then(
    (value) => settle(() => result.resolve(value)),
    (err: unknown) => settle(() => result.reject(err)),
  );
  return result.promise;
}

/** Whether `value` is a promise or another thenable (what `await` would follow). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
