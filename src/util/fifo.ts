/**
 * A set of items kept in the order they were added, for a pipeline whose items mostly
 * leave in that order (publishes waiting for their broker confirms): add at the tail,
 * remove anywhere in O(1), iterate oldest first.
 *
 * Why not a `Set`: with one add and one delete per message, the items a `Set` had held
 * stayed reachable after their removal until a full collection, so each message's objects
 * were promoted out of the young generation (measured at 64 publishes in flight: about
 * 7x the promoted bytes of this array-backed queue; likely the hash tables V8 rebuilds
 * as deleted entries pile up, left behind in the old generation still pointing at them).
 *
 * @internal
 * @module
 */

/** What an item carries for the queue: whether it is still in. */
export interface FifoItem {
  /** Set by {@link FifoSet}; read-only for everyone else. */
  inFifo: boolean;
}

/** See the module comment. */
export class FifoSet<T extends FifoItem> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #size = 0;

  /** How many items are in. */
  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    if (item.inFifo) return;
    item.inFifo = true;
    this.#items.push(item);
    this.#size += 1;
  }

  /** Removes `item`; the slots of the oldest removed items are released at once. */
  delete(item: T): void {
    if (!item.inFifo) return;
    item.inFifo = false;
    this.#size -= 1;
    const items = this.#items;
    let head = this.#head;
    while (head < items.length && items[head]?.inFifo !== true) items[head++] = undefined;
    if (head === items.length) {
      // Empty: start over (the common case between bursts).
      this.#items = [];
      this.#head = 0;
    } else if (head >= 1024 && head * 2 >= items.length) {
      // Mostly released slots in front: move the rest down, in O(rest).
      this.#items = items.slice(head);
      this.#head = 0;
    } else {
      this.#head = head;
    }
  }

  /** The items still in, oldest first. */
  *[Symbol.iterator](): Generator<T, void, undefined> {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const item = items[i];
      if (item?.inFifo === true) yield item;
    }
  }
}
