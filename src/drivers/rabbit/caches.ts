/**
 * The small caches of oslo's AMQP driver: reply queues known to be gone (spec §4.3), and
 * (re-exported from ../common/duplicates.ts) recently seen `_unique_id`s.
 *
 * @module
 */

// The duplicate cache is shared by every driver: ../common/duplicates.ts.
export {
  DuplicateCache as UniqueIdCache,
  DUPLICATE_CACHE_SIZE as DUPLICATE_CHECK_SIZE,
} from '../common/duplicates.js';

/** Entries and lifetime of the obsolete reply queue cache (oslo: 200 entries, 60 s). */
export const OBSOLETE_REPLY_QUEUES_SIZE = 200;
export const OBSOLETE_REPLY_QUEUES_TTL_MS = 60_000;

/**
 * Reply queues a server gave up on after `kombu_missing_consumer_retry_timeout`:
 * later replies to them are dropped at once instead of holding a sender for the
 * whole retry period (the caller is gone).
 */
export class ObsoleteReplyQueues {
  readonly #entries = new Map<string, number>();
  readonly #size: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(
    size: number = OBSOLETE_REPLY_QUEUES_SIZE,
    ttlMs: number = OBSOLETE_REPLY_QUEUES_TTL_MS,
    now: () => number = Date.now,
  ) {
    this.#size = size;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  has(replyQueue: string): boolean {
    const expires = this.#entries.get(replyQueue);
    if (expires === undefined) return false;
    if (expires <= this.#now()) {
      this.#entries.delete(replyQueue);
      return false;
    }
    return true;
  }

  add(replyQueue: string): void {
    this.#entries.delete(replyQueue);
    this.#entries.set(replyQueue, this.#now() + this.#ttlMs);
    // Maps iterate in insertion order: the first key is the oldest.
    while (this.#entries.size > this.#size) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }
}
