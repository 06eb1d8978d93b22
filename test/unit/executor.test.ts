import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ExecutorLoadFailure } from '../../src/errors.js';
import { EXECUTORS, TaskExecutor, createExecutor } from '../../src/executor.js';

/** Runs `count` tasks of varying length and records order and concurrency. */
async function exercise(
  executor: TaskExecutor,
  count: number,
): Promise<{ started: number[]; finished: number[]; maxConcurrent: number }> {
  const started: number[] = [];
  const finished: number[] = [];
  let running = 0;
  let maxConcurrent = 0;
  for (let i = 0; i < count; i++) {
    executor.submit(async () => {
      started.push(i);
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      // Later tasks are shorter, so a concurrent executor finishes out of order.
      await sleep((count - i) % 4);
      running--;
      finished.push(i);
    });
  }
  await executor.onIdle();
  return { started, finished, maxConcurrent };
}

test('executor - blocking runs one task at a time, in submission order', async () => {
  const executor = createExecutor('blocking', 64);
  assert.equal(executor.concurrency, 1);
  const { started, finished, maxConcurrent } = await exercise(executor, 12);
  const order = [...Array(12).keys()];
  assert.deepEqual(started, order);
  assert.deepEqual(finished, order);
  assert.equal(maxConcurrent, 1);
});

for (const name of ['threading', 'eventlet'] as const) {
  test(`executor - ${name} runs at most executor_thread_pool_size tasks at once`, async () => {
    const executor = createExecutor(name, 3);
    assert.equal(executor.concurrency, 3);
    const { started, finished, maxConcurrent } = await exercise(executor, 20);
    assert.equal(maxConcurrent, 3);
    assert.deepEqual(started, [...Array(20).keys()], 'tasks start in submission order');
    assert.equal(finished.length, 20);
  });
}

test('executor - every known name loads; an unknown one is ExecutorLoadFailure', () => {
  for (const name of EXECUTORS) assert.ok(createExecutor(name, 2) instanceof TaskExecutor);
  assert.throws(() => createExecutor('gevent', 2), ExecutorLoadFailure);
});

test('executor - a concurrency below 1 or fractional is refused', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new TaskExecutor(bad), RangeError);
  }
});

test('executor - onIdle() resolves at once when idle, and after the last task otherwise', async () => {
  const executor = new TaskExecutor(2);
  await executor.onIdle();
  let done = 0;
  for (let i = 0; i < 5; i++) {
    executor.submit(async () => {
      await sleep(1);
      done++;
    });
  }
  assert.equal(executor.pending, 5);
  await Promise.all([executor.onIdle(), executor.onIdle()]);
  assert.equal(done, 5);
  assert.equal(executor.pending, 0);
});

test('executor - a task that rejects or throws synchronously does not stop the others', async () => {
  const executor = new TaskExecutor(1);
  const ran: string[] = [];
  executor.submit(async () => {
    ran.push('a');
    throw new Error('async failure');
  });
  executor.submit(() => {
    ran.push('b');
    throw new Error('sync failure');
  });
  executor.submit(async () => void ran.push('c'));
  await executor.onIdle();
  assert.deepEqual(ran, ['a', 'b', 'c']);
});

test('executor - tasks submitted by a running task are queued behind the limit', async () => {
  const executor = new TaskExecutor(2);
  let running = 0;
  let maxConcurrent = 0;
  const task = async (): Promise<void> => {
    running++;
    maxConcurrent = Math.max(maxConcurrent, running);
    await sleep(1);
    running--;
  };
  for (let i = 0; i < 3; i++) {
    executor.submit(async () => {
      executor.submit(task);
      await task();
    });
  }
  await executor.onIdle();
  assert.equal(maxConcurrent, 2);
});
