/**
 * Message rates per key over a sliding window of one-second buckets, for `top`.
 *
 * @module
 */

/** One row of a rate table. */
export interface RateRow {
  readonly key: string;
  /** Messages per second over the window. */
  readonly rate: number;
  /** Messages since the start. */
  readonly total: number;
}

/** Counts per key; `tick()` once a second moves the window on. */
export class RateTable {
  readonly #window: number;
  #buckets: Map<string, number>[] = [new Map<string, number>()];
  readonly #totals = new Map<string, number>();
  /** Seconds ticked so far, capped at the window (the divisor of young rates). */
  #filled = 0;

  /** @param windowSeconds - the sliding window, in seconds */
  constructor(windowSeconds: number) {
    this.#window = windowSeconds;
  }

  add(key: string): void {
    const current = this.#buckets[this.#buckets.length - 1];
    current?.set(key, (current.get(key) ?? 0) + 1);
    this.#totals.set(key, (this.#totals.get(key) ?? 0) + 1);
  }

  /** Close the current one-second bucket. */
  tick(): void {
    this.#filled = Math.min(this.#window, this.#filled + 1);
    this.#buckets.push(new Map<string, number>());
    if (this.#buckets.length > this.#window + 1) this.#buckets.shift();
  }

  /** Rows by rate, then total, then key; the open bucket is not counted in the rate. */
  rows(): RateRow[] {
    const closed = this.#buckets.slice(0, -1);
    const seconds = Math.max(1, this.#filled);
    const rows: RateRow[] = [];
    for (const [key, total] of this.#totals) {
      let n = 0;
      for (const b of closed) n += b.get(key) ?? 0;
      rows.push({ key, rate: n / seconds, total });
    }
    return rows.sort((a, b) => b.rate - a.rate || b.total - a.total || a.key.localeCompare(b.key));
  }

  /** All keys together. */
  sum(): { rate: number; total: number } {
    let rate = 0;
    let total = 0;
    for (const r of this.rows()) {
      rate += r.rate;
      total += r.total;
    }
    return { rate, total };
  }
}
