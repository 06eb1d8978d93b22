/**
 * What a Node server peer records per message: a count, the first and last arrival, and
 * optionally RSS samples. Kept as light as the Python peer's, so that the servers do the
 * same work per message in every implementation.
 */
import { epochMs, usage, type ServerResult } from './protocol.js';

export class Counter {
  received = 0;
  firstAt = 0;
  lastAt = 0;
  #cpu = process.cpuUsage();
  #sampleEvery = 0;
  #samples: NonNullable<ServerResult['samples']> = [];
  #waiter: { count: number; resolve: () => void } | undefined;

  reset(): void {
    this.received = 0;
    this.firstAt = 0;
    this.lastAt = 0;
    this.#samples = [];
    this.#cpu = process.cpuUsage();
  }

  record(): void {
    const now = epochMs();
    if (this.received === 0) this.firstAt = now;
    this.lastAt = now;
    this.received += 1;
    if (this.#sampleEvery > 0 && this.received % this.#sampleEvery === 0) this.#sample();
    if (this.#waiter !== undefined && this.received >= this.#waiter.count) {
      this.#waiter.resolve();
      this.#waiter = undefined;
    }
  }

  /** Resolves with the result once `count` messages arrived, or when `timeoutMs` passed. */
  async expect(count: number, timeoutMs: number, sampleEvery = 0): Promise<ServerResult> {
    this.#sampleEvery = sampleEvery;
    if (sampleEvery > 0 && this.#samples.length === 0) this.#sample();
    if (this.received < count) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiter = undefined;
          resolve();
        }, timeoutMs);
        this.#waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    }
    return {
      ...usage(this.#cpu),
      received: this.received,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      ...(sampleEvery > 0 ? { samples: this.#samples } : {}),
    };
  }

  /**
   * RSS as it is; heap used after a full collection when the process runs with
   * `--expose-gc` (what is retained, without the noise of when the last GC ran).
   */
  #sample(): void {
    const rss = process.memoryUsage.rss();
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const mem = process.memoryUsage();
    this.#samples.push({
      received: this.received,
      rssKb: Math.round(rss / 1024),
      heapKb: Math.round(mem.heapUsed / 1024),
      heapTotalKb: Math.round(mem.heapTotal / 1024),
      externalKb: Math.round(mem.external / 1024),
    });
  }
}
