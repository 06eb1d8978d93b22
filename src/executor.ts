/**
 * Executors: how a server runs its handlers.
 *
 * @module
 */
import { ExecutorLoadFailure } from './errors.js';

/**
 * `blocking` runs one handler at a time, in arrival order. `threading` and
 * `eventlet` (the same here: Node has one event loop) run handlers concurrently,
 * at most `executor_thread_pool_size` at once.
 */
export const EXECUTORS = ['blocking', 'threading', 'eventlet'] as const;

/** The name of an executor. */
export type ExecutorName = (typeof EXECUTORS)[number];

/**
 * Runs submitted tasks with bounded concurrency. The queue itself is bounded by the
 * driver: it delivers at most `maxUnsettled` messages that are not yet settled.
 *
 * @internal
 */
export class TaskExecutor {
  readonly concurrency: number;
  #running = 0;
  readonly #queue: (() => Promise<void>)[] = [];
  #idle: (() => void)[] = [];
  /** A task settled (either way): its slot goes to the next one. */
  readonly #done = (): void => {
    this.#running--;
    this.#next();
  };

  constructor(concurrency: number) {
    // Zero would queue every task forever; a fraction would be rounded by nobody.
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new RangeError(`executor concurrency must be a positive integer, got ${concurrency}`);
    }
    this.concurrency = concurrency;
  }

  /** Tasks running or waiting. */
  get pending(): number {
    return this.#running + this.#queue.length;
  }

  /** Queue a task. A task must not reject: the server catches and logs. */
  submit(task: () => Promise<void>): void {
    this.#queue.push(task);
    this.#next();
  }

  /** Resolves once every submitted task has finished. */
  onIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #next(): void {
    while (this.#running < this.concurrency) {
      const task = this.#queue.shift();
      if (task === undefined) break;
      this.#running++;
      // Tasks catch their own errors; the guard keeps a bug from becoming an
      // unhandled rejection that would kill the process.
      let running: Promise<void>;
      try {
        running = task();
      } catch {
        running = Promise.resolve();
      }
      running.then(this.#done, this.#done);
    }
    if (this.pending === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }
}

/** An executor for a server, by name. */
export function createExecutor(name: string, threadPoolSize: number): TaskExecutor {
  switch (name) {
    case 'blocking':
      return new TaskExecutor(1);
    case 'threading':
    case 'eventlet':
      return new TaskExecutor(threadPoolSize);
    default:
      throw new ExecutorLoadFailure(name, `unknown executor; use one of ${EXECUTORS.join(', ')}`);
  }
}
