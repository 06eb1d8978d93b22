/**
 * MessageHandlingServer: the lifecycle shared by RPC servers and notification
 * listeners.
 *
 * @module
 */
import type { Driver, DriverListener, IncomingMessage } from './drivers/driver.js';
import { TaskTimeout } from './errors.js';
import { createExecutor, type ExecutorName, type TaskExecutor } from './executor.js';
import type { Logger } from './log.js';
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
 * `wait()`. After `wait()` the server may be started again.
 */
export abstract class MessageHandlingServer<M extends IncomingMessage = IncomingMessage> {
  /** The transport this server consumes from. */
  readonly transport: Transport;
  /** The executor name. */
  readonly executorName: ExecutorName;
  protected readonly logger: Logger;
  #executor: TaskExecutor | undefined;
  #listener: DriverListener<M> | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #waiting: Promise<void> | undefined;
  #stopRequested: { promise: Promise<void>; resolve: () => void } | undefined;
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

  /** Create the driver listener (declares and consumes happen in its `start`). */
  protected abstract createListener(driver: Driver, maxUnsettled: number): Promise<DriverListener<M>>;

  /** Handle one delivered message; must settle it and must not reject. */
  protected abstract processMessage(message: M): Promise<void>;

  /** How many unsettled messages the driver may hand over, given the executor's size. */
  protected maxUnsettled(concurrency: number): number {
    return Math.max(concurrency * 2, 16);
  }

  /**
   * Called for each delivered message, in order. The default submits it to the
   * executor; the batch listener overrides it to collect batches.
   */
  protected onMessage(message: M): void {
    this.submit(() => this.processMessage(message));
  }

  /** Submit work to the executor. Errors are logged, never thrown. */
  protected submit(task: () => Promise<void>): void {
    const executor = this.#executor;
    if (executor === undefined) return;
    executor.submit(async () => {
      try {
        await task();
      } catch (err) {
        this.logger.error('Unhandled error while processing a message: %s', err);
      }
    });
  }

  /** Called in `stop()` after the listener stopped, before in-flight work is awaited. */
  protected onStopped(): void {}

  /** Start consuming. Resolves once listening; rejects with `ServerListenError`. */
  start(): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') {
      return this.#starting ?? Promise.resolve();
    }
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      // oslo allows a restart only once the previous run has been waited for.
      const previous = this.wait();
      this.#starting = previous.then(() => this.#start());
      return this.#starting;
    }
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    this.#stopping = undefined;
    this.#waiting = undefined;
    let resolveStop!: () => void;
    const stopPromise = new Promise<void>((resolve) => (resolveStop = resolve));
    this.#stopRequested = { promise: stopPromise, resolve: resolveStop };
    const poolSize = this.transport.conf.defaults().executor_thread_pool_size;
    const executor = createExecutor(this.executorName, poolSize);
    this.#executor = executor;
    try {
      const driver = await this.transport._driver();
      const listener = await this.createListener(driver, this.maxUnsettled(executor.concurrency));
      this.#listener = listener;
      await listener.start((message) => this.onMessage(message));
      this.#state = 'running';
    } catch (err) {
      this.#state = 'new';
      const listener = this.#listener;
      this.#listener = undefined;
      this.#executor = undefined;
      this.#starting = undefined;
      if (listener !== undefined) await listener.cleanup().catch(() => undefined);
      throw err;
    }
  }

  /** Stop consuming new messages. In-flight handlers go on; see {@link wait}. */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#state === 'new') return Promise.resolve();
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    try {
      await this.#listener?.stop();
    } catch (err) {
      this.logger.warn('Error while stopping the listener: %s', err);
    }
    this.onStopped();
    this.#state = 'stopped';
    this.#stopRequested?.resolve();
  }

  /**
   * Wait for `stop()`, then for every in-flight handler, then release the listener
   * (an RPC server deletes its fanout queue, the connection closes).
   *
   * @param timeoutMs - reject with `TaskTimeout` if handlers are still running then
   */
  wait(timeoutMs?: number): Promise<void> {
    if (this.#state === 'new') return Promise.resolve();
    this.#waiting ??= this.#wait();
    if (timeoutMs === undefined) return this.#waiting;
    const waiting = this.#waiting;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TaskTimeout(`Server did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiting.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  async #wait(): Promise<void> {
    const slow = setTimeout(
      () => this.logger.warn('wait() has waited 30 s for stop() and in-flight handlers: possible hang'),
      30_000,
    );
    slow.unref();
    try {
      await this.#stopRequested?.promise;
      await this.#executor?.onIdle();
      await this.#listener?.cleanup();
    } finally {
      clearTimeout(slow);
      this.#listener = undefined;
      this.#executor = undefined;
      this.#starting = undefined;
      this.#state = 'new';
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
