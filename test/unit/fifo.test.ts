import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FifoSet, type FifoItem } from '../../src/util/fifo.js';

interface Item extends FifoItem {
  readonly n: number;
}
const item = (n: number): Item => ({ n, inFifo: false });
const ns = (set: FifoSet<Item>): number[] => [...set].map((i) => i.n);

test('FifoSet keeps insertion order and removes from anywhere', () => {
  const set = new FifoSet<Item>();
  const items = [1, 2, 3, 4, 5].map(item);
  for (const i of items) set.add(i);
  assert.deepEqual(ns(set), [1, 2, 3, 4, 5]);
  set.delete(items[2]!);
  set.delete(items[0]!);
  assert.deepEqual(ns(set), [2, 4, 5]);
  assert.equal(set.size, 3);
  set.add(items[0]!); // back in, at the tail
  assert.deepEqual(ns(set), [2, 4, 5, 1]);
  set.delete(items[2]!); // twice: no effect
  assert.equal(set.size, 4);
});

test('FifoSet adding an item twice keeps one', () => {
  const set = new FifoSet<Item>();
  const a = item(1);
  set.add(a);
  set.add(a);
  assert.equal(set.size, 1);
  assert.deepEqual(ns(set), [1]);
});

test('FifoSet stays correct over many items leaving in order and out of order', () => {
  const set = new FifoSet<Item>();
  const live = new Map<number, Item>();
  let next = 0;
  // A pipeline of about 64 in flight, where one in seven leaves late.
  for (let round = 0; round < 20_000; round++) {
    const i = item(next++);
    set.add(i);
    live.set(i.n, i);
    if (live.size > 64) {
      const oldest = live.keys().next().value!;
      const victim = oldest % 7 === 0 && live.size < 80 ? undefined : live.get(oldest)!;
      if (victim !== undefined) {
        set.delete(victim);
        live.delete(victim.n);
      }
    }
  }
  assert.deepEqual(ns(set), [...live.keys()]);
  assert.equal(set.size, live.size);
  for (const i of live.values()) set.delete(i);
  assert.equal(set.size, 0);
  assert.deepEqual(ns(set), []);
});
