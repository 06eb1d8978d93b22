/**
 * Duplicate detection by `_unique_id` (spec §4.8), the one cache every driver uses.
 *
 * Why duplicates arrive: a message the server already took can come again when the
 * broker redelivers it, which happens when the connection dies while the message is
 * unacknowledged. For a notification that is everything handled but not yet acked on the
 * broker (the ack was still being sent); for an RPC request, a request acked but whose ack
 * was lost with the connection. After the listener reconnects, the broker redelivers
 * those messages first, in a burst.
 *
 * The guarantee: a redelivered copy is dropped (acked, not dispatched) when its first
 * copy was recorded by the same listener (an RPC request when it is handed to the server,
 * a notification when it is acked) and fewer than {@link DUPLICATE_CACHE_SIZE} other
 * messages were recorded since. A redelivery burst holds at most the listener's unsettled
 * window (its prefetch; by default twice the executor's 64 handlers, so 128), and the
 * broker redelivers it before newer messages, so the whole burst fits in the cache.
 * Measured on RabbitMQ (test/functional/rabbit-duplicates.test.ts: 2000 notifications,
 * the listener's connection closed three times mid-stream): 14 redelivered copies were
 * dropped by the cache and none reached the endpoint twice; the cluster tests count the
 * same (docs/reliability.md). What can still reach an endpoint twice is a message whose
 * handler was running when the connection went (at most the executor's pool each time).
 * Not covered: a copy redelivered to another listener or process, and anything after a
 * restart.
 *
 * oslo keeps the last 16 ids; that misses most of a burst once more than 16 messages are
 * in flight.
 *
 * @module
 */

/**
 * How many `_unique_id`s a listener remembers: 4096 (about 400 KiB). Sized to hold many
 * times the largest redelivery burst of a listener with the default settings (128
 * unsettled messages); raise `rabbit_qos_prefetch_count` past about 1000 and a burst can
 * outgrow it.
 */
export const DUPLICATE_CACHE_SIZE = 4096;

/**
 * The most recently recorded `_unique_id`s of one listener, oldest evicted first.
 *
 * A set answers `has`; a ring of the same ids, in the order they were recorded, names
 * the one to evict in constant time (taking the first entry of a set whose front was
 * deleted over and over makes V8 step over the deleted slots each time).
 */
export class DuplicateCache {
  readonly #ids = new Set<string>();
  readonly #ring: (string | undefined)[];
  #next = 0;

  constructor(size: number = DUPLICATE_CACHE_SIZE) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be an integer >= 1');
    this.#ring = new Array<string | undefined>(size).fill(undefined);
  }

  /** How many ids are held. */
  get size(): number {
    return this.#ids.size;
  }

  /** Whether `id` was recorded (and not yet evicted). `undefined` never is. */
  has(id: string | undefined): boolean {
    return id !== undefined && this.#ids.has(id);
  }

  /** Record an id; the oldest falls out once the cache is full. */
  add(id: string | undefined): void {
    if (id === undefined || this.#ids.has(id)) return;
    const slot = this.#next;
    const oldest = this.#ring[slot];
    if (oldest !== undefined) this.#ids.delete(oldest);
    this.#ring[slot] = id;
    this.#ids.add(id);
    this.#next = slot + 1 === this.#ring.length ? 0 : slot + 1;
  }
}
