/**
 * Bounds on waiting in the rabbit connection, without a broker (connection-wait.ts): the
 * retry budget (oslo's `retry`, spec §4.6), the cheap abort signal, and the abort/timeout
 * guard of one operation. Assertions are about outcomes, never about how long something took.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Cancellation,
  OpGuard,
  RetryBudget,
  type AbortLike,
} from '../../src/drivers/rabbit/connection-wait.js';
import { MessagingTimeout } from '../../src/errors.js';

// [retry, spends that succeed before the budget is exhausted]; §4.6: -1/None forever, 0 never, N times.
const BUDGETS: [number | undefined, number, number][] = [
  [0, 0, 0],
  [1, 1, 1],
  [3, 3, 3],
];

for (const [retry, spends, shown] of BUDGETS) {
  void test(`rabbit retry budget - retry=${retry} allows exactly ${spends} retries`, () => {
    const budget = new RetryBudget(retry);
    assert.equal(budget.retry, shown);
    for (let i = 0; i < spends; i++) assert.equal(budget.spend(), true, `retry ${i + 1}`);
    assert.equal(budget.spend(), false);
    assert.equal(budget.left, 0);
  });
}

void test('rabbit retry budget - retry undefined, -1 or any negative number retries forever', () => {
  for (const retry of [undefined, -1, -5]) {
    const budget = new RetryBudget(retry);
    assert.equal(budget.retry, Infinity);
    for (let i = 0; i < 1000; i++) assert.equal(budget.spend(), true);
  }
});

void test('rabbit cancellation - abort sets the reason and calls each listener once; later aborts change nothing', () => {
  const c = new Cancellation();
  const calls: string[] = [];
  const removed = (): void => void calls.push('removed');
  c.addEventListener('abort', () => calls.push('first'));
  c.addEventListener('abort', removed);
  c.addEventListener('abort', () => calls.push('second'));
  c.removeEventListener('abort', removed);
  assert.equal(c.aborted, false);
  const reason = new Error('stop');
  c.abort(reason);
  c.abort(new Error('again'));
  assert.deepEqual(calls, ['first', 'second']);
  assert.equal(c.aborted, true);
  assert.equal(c.reason, reason);
  c.addEventListener('abort', () => calls.push('late'));
  assert.deepEqual(calls, ['first', 'second']);
});

void test('rabbit op guard - an already aborted signal throws its reason at once', () => {
  const c = new Cancellation();
  const reason = new Error('cancelled before');
  c.abort(reason);
  assert.throws(
    () => new OpGuard(c, 1000, 'publish'),
    (err: unknown) => err === reason,
  );
});

void test('rabbit op guard - with neither signal nor timeout, race is the operation itself', async () => {
  const guard = new OpGuard(undefined, undefined, 'publish');
  const op = Promise.resolve('done');
  assert.equal(guard.race(op), op);
  assert.equal(await guard.race(op), 'done');
  guard.dispose();
});

void test('rabbit op guard - aborting during the operation rejects with the signal’s reason', async () => {
  for (const signal of [new Cancellation(), new AbortController()]) {
    const guard = new OpGuard('signal' in signal ? signal.signal : signal, undefined, 'declare');
    const pending = guard.race(new Promise<never>(() => undefined));
    const reason = new Error('caller gave up');
    signal.abort(reason);
    await assert.rejects(pending, (err: unknown) => err === reason);
    guard.dispose();
  }
});

void test('rabbit op guard - the timeout rejects with MessagingTimeout naming the operation and the limit', async () => {
  const guard = new OpGuard(undefined, 1, 'publish to nova');
  await assert.rejects(guard.race(new Promise<never>(() => undefined)), (err: unknown) => {
    assert.ok(err instanceof MessagingTimeout);
    assert.equal(err.message, 'publish to nova timed out after 1 ms');
    return true;
  });
  guard.dispose();
});

void test('rabbit op guard - the operation’s own outcome wins when it settles first', async () => {
  const guard = new OpGuard(new Cancellation(), 60_000, 'consume');
  assert.equal(await guard.race(Promise.resolve(7)), 7);
  const failure = new Error('refused');
  await assert.rejects(guard.race(Promise.reject(failure)), (err: unknown) => err === failure);
  guard.dispose();
});

void test('rabbit op guard - dispose removes the abort listener it added and stops the timer', async () => {
  const listeners = new Set<() => void>();
  const signal: AbortLike = {
    aborted: false,
    reason: undefined,
    addEventListener: (_type, listener) => void listeners.add(listener),
    removeEventListener: (_type, listener) => void listeners.delete(listener),
  };
  const guard = new OpGuard(signal, 1, 'bind');
  assert.equal(listeners.size, 1);
  guard.dispose();
  assert.equal(listeners.size, 0);
  // The 1 ms timer was cleared: an operation that finishes later still wins.
  const later = new Promise<string>((resolve) => setTimeout(() => resolve('finished'), 20));
  assert.equal(await guard.race(later), 'finished');
});

void test('rabbit op guard - after it fired, every race waiting and every later race reject with its reason', async () => {
  const c = new Cancellation();
  const guard = new OpGuard(c, undefined, 'publish');
  const first = guard.race(new Promise<never>(() => undefined));
  const second = guard.race(new Promise<never>(() => undefined));
  const reason = new Error('stop');
  c.abort(reason);
  await assert.rejects(first, (err: unknown) => err === reason);
  await assert.rejects(second, (err: unknown) => err === reason);
  // A later operation that fails on its own is not left as an unhandled rejection.
  await assert.rejects(
    guard.race(Promise.reject(new Error('too late'))),
    (err: unknown) => err === reason,
  );
  guard.dispose();
});
