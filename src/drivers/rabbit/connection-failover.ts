/**
 * Host order and reconnect back-off, as oslo configures kombu.
 *
 * @module
 */

/** One broker address. Missing credentials mean guest/guest. */
export interface RabbitHost {
  readonly hostname: string;
  readonly port: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** `kombu_failover_strategy`. */
export type FailoverStrategy = 'round-robin' | 'shuffle';

/**
 * Which host to try next. oslo shuffles the URL's host list once per connection object
 * when it has two or more hosts (to spread clients over a cluster), then kombu moves to
 * the next host after each failed attempt: in order for `round-robin`, at random for
 * `shuffle`. A working connection that is lost is first retried on the same host.
 */
export class HostCycle {
  readonly #hosts: readonly RabbitHost[];
  readonly #strategy: FailoverStrategy;
  readonly #random: () => number;
  #index = 0;

  constructor(
    hosts: readonly RabbitHost[],
    strategy: FailoverStrategy,
    randomizeOrder: boolean,
    random: () => number = Math.random,
  ) {
    const list = [...hosts];
    if (randomizeOrder && list.length > 1) {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
    }
    this.#hosts = list;
    this.#strategy = strategy;
    this.#random = random;
  }

  /** Every host, in the order they are tried. */
  get hosts(): readonly RabbitHost[] {
    return this.#hosts;
  }

  /** The host of the next attempt. */
  current(): RabbitHost {
    return this.#hosts[this.#index]!;
  }

  /** Moves on after a failed attempt. */
  advance(): void {
    const n = this.#hosts.length;
    if (n < 2) return;
    if (this.#strategy === 'round-robin') {
      this.#index = (this.#index + 1) % n;
    } else {
      // Any host but the one that just failed.
      this.#index = (this.#index + 1 + Math.floor(this.#random() * (n - 1))) % n;
    }
  }
}

/** The back-off settings (`rabbit_retry_interval`, `rabbit_retry_backoff`, `rabbit_interval_max`). */
export interface BackoffSettings {
  readonly retryIntervalMs: number;
  readonly retryBackoffMs: number;
  readonly intervalMaxMs: number;
}

/**
 * The pause after the `failedAttempts`-th consecutive failed attempt (1-based). kombu's
 * `retry_over_time` steps linearly: interval, interval + backoff, interval + 2 backoff,
 * ..., capped at the maximum (oslo's defaults: 1 s, 3 s, 5 s, ... 29 s, 30 s, 30 s).
 */
export function backoffDelayMs(failedAttempts: number, settings: BackoffSettings): number {
  const steps = Math.max(0, failedAttempts - 1);
  return Math.min(
    settings.retryIntervalMs + steps * settings.retryBackoffMs,
    settings.intervalMaxMs,
  );
}
