/**
 * The connect / recover loop of a {@link RabbitConnection} and the operations waiting on
 * it: attempts with oslo's back-off, retry budgets charged per failed attempt, and no
 * timer left once nothing needs the connection. Used only by `connection.ts`.
 *
 * @module
 */
import { backoffDelayMs, type BackoffSettings, type RabbitHost } from './connection-failover.js';
import type { RetryBudget } from './connection-wait.js';

/** What the loop asks of its connection. */
export interface RecoveryHooks<S> {
  /** The usable channel, if there is one. */
  ready(): S | undefined;
  /** Whether something besides waiting operations needs the connection (consumers, a topology). */
  needed(): boolean;
  closing(): boolean;
  /** The host the next attempt goes to. */
  nextHost(): RabbitHost;
  /** One attempt: connection, channel, topology, consumers. */
  attempt(): Promise<S>;
  /** Makes `slot` the usable channel (unless it died meanwhile: then returns false). */
  install(slot: S): boolean;
  /** An attempt failed; the next one is in `delayMs`. */
  failed(error: Error, host: RabbitHost, delayMs: number): void;
  /** The error for an operation whose budget ran out. */
  exhausted(budget: RetryBudget, host: RabbitHost, cause: Error): Error;
  /** The loop starts (`true`) or stops for lack of need (`false`). */
  running(active: boolean): void;
}

interface Waiter<S> {
  readonly budget: RetryBudget;
  resolve(slot: S): void;
  reject(err: Error): void;
}

const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Budget rule: an operation's `retry` counts failed attempts it saw. The attempt in
 * flight when it starts waiting is its first try; if it starts waiting during the pause
 * after a failed attempt, that failure was its first try (so `retry: 0` fails at once
 * rather than waiting out the pause).
 */
export class RecoveryLoop<S> {
  readonly #hooks: RecoveryHooks<S>;
  readonly #backoff: BackoffSettings;
  readonly #waiters = new Set<Waiter<S>>();
  #loop: Promise<void> | undefined;
  #attemptInFlight = false;
  #lastFailure: { error: Error; host: RabbitHost } | undefined;
  #failedAttempts = 0;
  #nextAttemptAt = 0;
  #sleeper: { wake: () => void } | undefined;

  constructor(hooks: RecoveryHooks<S>, backoff: BackoffSettings) {
    this.#hooks = hooks;
    this.#backoff = backoff;
  }

  /**
   * Waits for a usable channel within `budget`; starts the loop if needed. `cancel()`
   * withdraws the wait (call it when the caller gave up, e.g. on abort).
   */
  waitForSlot(budget: RetryBudget): { promise: Promise<S>; cancel: () => void } {
    const noop = (): void => undefined;
    const ready = this.#hooks.ready();
    if (ready !== undefined) return { promise: Promise.resolve(ready), cancel: noop };
    const failure = this.#lastFailure;
    if (failure !== undefined && !this.#attemptInFlight && !budget.spend()) {
      const err = this.#hooks.exhausted(budget, failure.host, failure.error);
      return { promise: Promise.reject(err), cancel: noop };
    }
    let waiter!: Waiter<S>;
    const promise = new Promise<S>((resolve, reject) => {
      waiter = {
        budget,
        resolve: (slot) => {
          this.#waiters.delete(waiter);
          resolve(slot);
        },
        reject: (err) => {
          this.#waiters.delete(waiter);
          reject(err);
        },
      };
    });
    this.#waiters.add(waiter);
    this.kick();
    const cancel = (): void => {
      if (this.#waiters.delete(waiter)) this.demandChanged();
    };
    return { promise, cancel };
  }

  /** An operation stopped waiting (abort, timeout) or a consumer went away. */
  demandChanged(): void {
    // Cut the pause short so that the loop notices nobody needs it any more.
    if (!this.#wanted()) this.#sleeper?.wake();
  }

  /** The usable channel was lost: reconnect after `delayMs` (kombu_reconnect_delay). */
  lost(delayMs: number): void {
    this.#failedAttempts = 0;
    this.#lastFailure = undefined;
    this.#nextAttemptAt = Date.now() + delayMs;
    this.kick();
  }

  /** Starts the loop if something needs the connection and it isn't running. */
  kick(): void {
    if (this.#loop !== undefined || !this.#wanted() || this.#hooks.ready() !== undefined) return;
    this.#hooks.running(true);
    this.#loop = this.#run().finally(() => {
      this.#loop = undefined;
    });
  }

  /** Rejects every waiter with `err`, stops pausing and waits (at most `timeoutMs`) for the loop to end. */
  async close(err: Error, timeoutMs: number): Promise<void> {
    for (const waiter of [...this.#waiters]) waiter.reject(err);
    this.#sleeper?.wake();
    const loop = this.#loop;
    if (loop === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([loop, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  #wanted(): boolean {
    return !this.#hooks.closing() && (this.#waiters.size > 0 || this.#hooks.needed());
  }

  async #run(): Promise<void> {
    // Let amqplib finish emitting the events of a loss first (channels, then connection).
    await yieldToEvents();
    while (this.#hooks.ready() === undefined && this.#wanted()) {
      const pause = this.#nextAttemptAt - Date.now();
      if (pause > 0) {
        await this.#sleep(pause);
        continue;
      }
      const host = this.#hooks.nextHost();
      this.#attemptInFlight = true;
      this.#lastFailure = undefined;
      try {
        const slot = await this.#hooks.attempt();
        this.#attemptInFlight = false;
        if (this.#hooks.install(slot)) {
          this.#failedAttempts = 0;
          for (const waiter of [...this.#waiters]) waiter.resolve(slot);
        }
      } catch (err) {
        this.#attemptInFlight = false;
        if (this.#hooks.closing()) break;
        this.#failed(err instanceof Error ? err : new Error(String(err)), host);
      }
    }
    if (!this.#hooks.closing() && this.#hooks.ready() === undefined) {
      // Nobody needs it now: the next operation starts afresh.
      this.#lastFailure = undefined;
      this.#nextAttemptAt = 0;
      this.#hooks.running(false);
    }
  }

  #failed(error: Error, host: RabbitHost): void {
    this.#failedAttempts += 1;
    const delay = backoffDelayMs(this.#failedAttempts, this.#backoff);
    this.#nextAttemptAt = Date.now() + delay;
    this.#lastFailure = { error, host };
    this.#hooks.failed(error, host, delay);
    for (const waiter of [...this.#waiters]) {
      if (!waiter.budget.spend()) waiter.reject(this.#hooks.exhausted(waiter.budget, host, error));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleeper = { wake };
    });
  }
}
