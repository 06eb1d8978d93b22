/**
 * MessageHandlingServer: the lifecycle shared by RPC servers and notification
 * listeners.
 *
 * @module
 */
import type { DriverListener, IncomingMessage } from './drivers/driver.js';
import { TaskTimeout } from './errors.js';
import { createExecutor, type ExecutorName, type TaskExecutor } from './executor.js';
import type { Logger } from './log.js';
import { bounded, deferred } from './util/async.js';
import type { Transport } from './transport.js';

/** Options shared by every server. */
export interface ServerOptions {
  /**
   * How handlers run: `blocking` one at a time in arrival order; `threading` or
   * `eventlet` concurrently, at most `executor_thread_pool_size` at once.
   * @default 'threading'
   */
  executor?: ExecutorName | undefined;
}

/** A server's state. */
export type ServerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * A server that consumes messages from a transport and runs a handler for each.
 *
 * The lifecycle is memoised and ordered: `start()` twice starts once; `stop()` waits
 * for a start in progress and stops consuming; `wait()` waits for `stop()`, lets
 * in-flight handlers finish, then releases the listener; `close()` is `stop()` then
 * `wait()`. The server may be started again after `stop()`: that start first waits
 * for the previous run (as `wait()` does), then starts once.
 */
export abstract class MessageHandlingServer {
  /** The transport this server consumes from. */
  readonly transport: Transport;
  /** The executor name. */
  readonly executorName: ExecutorName;
  protected readonly logger: Logger;
  /** The current run, from `start()` until its `wait()` has finished. */
  #run: Run | undefined;
  /** A `start()` made while the previous run was stopping: it begins after that run's `wait()`. */
  #restart: Promise<void> | undefined;
  #state: ServerState = 'new';

  protected constructor(transport: Transport, options: ServerOptions) {
    this.transport = transport;
    this.logger = transport.logger;
    this.executorName = options.executor ?? 'threading';
    // Validate now so a bad name fails at construction, not at start().
    createExecutor(this.executorName, 1);
  }

  /** The current state. */
  get state(): ServerState {
    return this.#state;
  }

  /** @internal Create the driver listener through the transport (declares and consumes happen in its `start`). */
  protected abstract createListener(maxUnsettled: number): Promise<DriverListener>;

  /** @internal Handle one delivered message; must settle it and must not reject. */
  protected abstract processMessage(message: IncomingMessage): Promise<void>;

  /** @internal How many unsettled messages the driver may hand over, given the executor's size. */
  protected maxUnsettled(concurrency: number): number {
    return Math.max(concurrency * 2, 16);
  }

  /**
   * @internal Called for each delivered message, in order. The default submits it to the
   * executor; the batch listener overrides it to collect batches.
   */
  protected onMessage(message: IncomingMessage): void {
    this.submit(() => this.processMessage(message));
  }

  /** @internal Submit work to the executor. Errors are logged, never thrown. */
  protected submit(task: () => Promise<void>): void {
    const executor = this.#run?.executor;
    if (executor === undefined) return;
    executor.submit(async () => {
      try {
        await task();
      } catch (err) {
        this.logger.error('Unhandled error while processing a message', { err });
      }
    });
  }

  /** @internal Called in `stop()` after the listener stopped, before in-flight work is awaited. */
  protected onStopped(): void {}

  /**
   * Start consuming. Resolves once listening; rejects with `ServerListenError` (and the
   * server is back to `new`, so it may be started again). A second call while starting
   * or running returns the same promise. Called after `stop()`, it first waits for the
   * previous run to finish (`wait()`), as oslo requires, then starts once.
   *
   * @param options.signal - aborting rejects with the signal's reason and stops the
   *   start in progress (the server is then stopped, as after `stop()`)
   * @throws TransportClosed when the transport was cleaned up
   */
  start(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const signal = options.signal;
    if (signal === undefined) return this.#startOnce();
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const starting = this.#startOnce();
    const onAbort = (): void => {
      // Whatever the start does next, the caller gave up on it.
      starting.then(
        () => this.stop(),
        () => undefined,
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal.removeEventListener('abort', onAbort);
    starting.then(done, done);
    return bounded(starting, { signal });
  }

  #startOnce(): Promise<void> {
    if (this.#restart !== undefined) return this.#restart;
    const run = this.#run;
    if (run === undefined) return this.#startRun();
    if (run.stopping === undefined) return run.starting;
    const restart = this.wait().then(
      () => {
        this.#restart = undefined;
        return this.#run?.starting ?? this.#startRun();
      },
      (err: unknown) => {
        this.#restart = undefined;
        throw err;
      },
    );
    this.#restart = restart;
    return restart;
  }

  #startRun(): Promise<void> {
    try {
      return this.#begin().starting;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #begin(): Run {
    const poolSize = this.transport.conf.defaults().executor_thread_pool_size;
    const stopped = deferred();
    const run: Run = {
      executor: createExecutor(this.executorName, poolSize),
      listener: undefined,
      starting: Promise.resolve(),
      stopping: undefined,
      waiting: undefined,
      stopped: stopped.promise,
      resolveStopped: () => stopped.resolve(),
    };
    this.#run = run;
    this.#state = 'starting';
    run.starting = this.#start(run);
    return run;
  }

  async #start(run: Run): Promise<void> {
    try {
      this.transport._checkOpen();
      this.transport._register(this);
      const listener = await this.createListener(this.maxUnsettled(run.executor.concurrency));
      run.listener = listener;
      await listener.start((message) => this.onMessage(message));
      // cleanup() ran while the listener started: it stopped nothing, so stop now.
      this.transport._checkOpen();
      this.#state = 'running';
    } catch (err) {
      const listener = run.listener;
      run.listener = undefined;
      if (listener !== undefined) await listener.cleanup().catch(() => undefined);
      if (this.#run === run) {
        this.#run = undefined;
        this.#state = 'new';
        this.transport._unregister(this);
      }
      // Anyone waiting on this run is released: there is nothing left to wait for.
      run.resolveStopped();
      throw err;
    }
  }

  /**
   * Stop consuming new messages; in-flight handlers go on (see {@link MessageHandlingServer.wait}). Waits for
   * a start in progress first. Idempotent.
   */
  stop(): Promise<void> {
    // A restart is pending: stop the run it starts, so the last call wins.
    const restart = this.#restart;
    if (restart !== undefined)
      return restart.then(
        () => this.stop(),
        () => this.stop(),
      );
    const run = this.#run;
    if (run === undefined) return Promise.resolve();
    run.stopping ??= this.#stop(run);
    return run.stopping;
  }

  async #stop(run: Run): Promise<void> {
    try {
      await run.starting;
    } catch {
      return; // the start failed: nothing is consuming
    }
    this.#state = 'stopping';
    try {
      await run.listener?.stop();
    } catch (err) {
      this.logger.warn('Error while stopping the listener', { err });
    }
    this.onStopped();
    this.#state = 'stopped';
    run.resolveStopped();
  }

  /**
   * Wait for `stop()`, then for every in-flight handler, then release the listener
   * (an RPC server deletes its fanout queue, the connection closes). Called without
   * `stop()`, it waits until someone calls `stop()` (as oslo's does). Idempotent.
   *
   * @param options - a timeout in ms, or `{ timeout, signal }`: the returned promise
   *   rejects with `TaskTimeout` if handlers are still running then, or with the signal's
   *   reason when it aborts (the wait itself goes on; call `wait()` again to keep waiting)
   */
  wait(
    options?: number | { timeout?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<void> {
    const { timeout, signal } =
      typeof options === 'number' ? { timeout: options, signal: undefined } : (options ?? {});
    return bounded(this.#waitCurrent(), {
      signal,
      timeoutMs: timeout,
      onTimeout: () => new TaskTimeout(`Server did not finish within ${timeout} ms`),
    });
  }

  #waitCurrent(): Promise<void> {
    // A restart is pending: wait for the run it starts.
    const restart = this.#restart;
    if (restart !== undefined) {
      return restart.then(
        () => this.#waitCurrent(),
        () => this.#waitCurrent(),
      );
    }
    const run = this.#run;
    if (run === undefined) return Promise.resolve();
    run.waiting ??= this.#wait(run);
    return run.waiting;
  }

  async #wait(run: Run): Promise<void> {
    const slow = setTimeout(
      () =>
        this.logger.warn('wait() has waited 30 s for stop() and in-flight handlers: possible hang'),
      30_000,
    );
    slow.unref();
    try {
      await run.stopped;
      await run.executor.onIdle();
      await run.listener?.cleanup();
    } finally {
      clearTimeout(slow);
      run.listener = undefined;
      if (this.#run === run) {
        this.#run = undefined;
        this.#state = 'new';
        this.transport._unregister(this);
      }
    }
  }

  /**
   * @internal The transport is being cleaned up: stop consuming, so that nothing reports
   * `running` on a closed transport. In-flight handlers go on; `wait()` still waits for
   * them. Never rejects.
   */
  async onTransportClosed(): Promise<void> {
    try {
      await this.stop();
    } catch (err) {
      this.logger.warn('Error while stopping a server on transport cleanup', { err });
    }
  }

  /** Kept for oslo compatibility; does nothing. */
  reset(): void {}

  /** `stop()` then `wait()`. */
  async close(): Promise<void> {
    await this.stop();
    await this.wait();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One run of a server: from `start()` until its `wait()` has finished. */
interface Run {
  readonly executor: TaskExecutor;
  listener: DriverListener | undefined;
  starting: Promise<void>;
  stopping: Promise<void> | undefined;
  waiting: Promise<void> | undefined;
  /** Resolves once `stop()` has completed (or the start failed). */
  readonly stopped: Promise<void>;
  readonly resolveStopped: () => void;
}
