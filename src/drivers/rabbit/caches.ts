/**
 * The two small caches of oslo's AMQP driver: recently seen `_unique_id`s (duplicate
 * detection, spec §4.8) and reply queues known to be gone (spec §4.3).
 *
 * @module
 */

/** How many `_unique_id`s a listener remembers (oslo's `DUP_MSG_CHECK_SIZE`). */
export const DUPLICATE_CHECK_SIZE = 16;

/** The last {@link DUPLICATE_CHECK_SIZE} `_unique_id`s a listener recorded. */
export class UniqueIdCache {
  readonly #ids: string[] = [];
  readonly #size: number;

  constructor(size: number = DUPLICATE_CHECK_SIZE) {
    this.#size = size;
  }

  has(id: string | undefined): boolean {
    return id !== undefined && this.#ids.includes(id);
  }

  /** Record an id; the oldest falls out once the cache is full. */
  add(id: string | undefined): void {
    if (id === undefined || this.#ids.includes(id)) return;
    this.#ids.push(id);
    if (this.#ids.length > this.#size) this.#ids.shift();
  }
}

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
