import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DuplicateCache, DUPLICATE_CACHE_SIZE } from '../../src/drivers/common/duplicates.js';
import { callMonitorTimeoutFromWire } from '../../src/drivers/common/reply-waiter.js';
import { formatLogRecord } from '../../src/log.js';
import { MAX_WIRE_DURATION_MS, preview } from '../../src/wire/bounds.js';

const monitorCases: [string, unknown, number | undefined][] = [
  ['null (no heartbeats)', null, undefined],
  ['2 seconds', 2, 2000],
  ['a float, truncated as int() does', 7.9, 7000],
  ['a numeric string', ' 30 ', 30_000],
  ['1 second (half of it is below one second)', 1, undefined],
  ['a negative value', -60, undefined],
  ['NaN', NaN, undefined],
  ['Infinity', Infinity, undefined],
  ['an object', { a: 1 }, undefined],
  ['1e20 seconds, clamped to a day', 1e20, MAX_WIRE_DURATION_MS],
  ['a huge Python int (bigint), clamped', 10n ** 30n, MAX_WIRE_DURATION_MS],
  ['a huge numeric string, clamped', '9'.repeat(40), MAX_WIRE_DURATION_MS],
];
for (const [name, value, expected] of monitorCases) {
  test(`_timeout from the wire - ${name}`, () => {
    assert.equal(callMonitorTimeoutFromWire(value), expected);
  });
}

test('_timeout from the wire - the clamp keeps timers within what Node can hold', () => {
  assert.ok(MAX_WIRE_DURATION_MS / 2 < 2 ** 31 - 1);
});

test('preview - a huge string is cut, with its size', () => {
  const text = preview('m'.repeat(5_000_000));
  assert.ok(text.length < 300, `${text.length}`);
  assert.match(text, /\.\.\. \(5000000 chars\)$/);
  assert.equal(preview('short'), 'short');
});

test('preview - a huge object is cut without being written out', () => {
  const payload = {
    items: Array.from({ length: 1_000_000 }, (_, i) => ({ i, s: 'x'.repeat(100) })),
  };
  const text = preview(payload);
  assert.ok(text.length < 300, `${text.length}`);
  assert.match(text, /\(truncated\)$/);
});

test('default logger format - a line stays bounded whatever the arguments', () => {
  const line = formatLogRecord('Received message with id %s and method: %s', [
    'a'.repeat(10_000_000),
    'b'.repeat(10_000_000),
  ]);
  assert.ok(line.length < 5000, `${line.length}`);
  assert.ok(!line.includes('\n'));
});

test('default logger format - an Error argument is one line, not an inspected stack', () => {
  const line = formatLogRecord('Can not connect: %s', [new TypeError('boom\nsecond line')]);
  assert.equal(line, 'Can not connect: TypeError: boom | second line');
});

test('DuplicateCache - holds the measured number of ids, evicting the oldest', () => {
  const cache = new DuplicateCache();
  for (let i = 0; i <= DUPLICATE_CACHE_SIZE; i++) cache.add(`id${i}`);
  assert.equal(cache.size, DUPLICATE_CACHE_SIZE);
  assert.equal(cache.has('id0'), false);
  assert.equal(cache.has('id1'), true);
  assert.equal(cache.has(`id${DUPLICATE_CACHE_SIZE}`), true);
  assert.equal(cache.has(undefined), false);
  assert.throws(() => new DuplicateCache(0), RangeError);
});

test('DuplicateCache - over many wraps it keeps exactly the last ids; a repeated id is no new entry', () => {
  const cache = new DuplicateCache(3);
  for (const id of ['a', 'b', 'c', 'd', 'e']) cache.add(id);
  assert.deepEqual(
    ['a', 'b', 'c', 'd', 'e'].filter((id) => cache.has(id)),
    ['c', 'd', 'e'],
  );
  cache.add('d'); // already held: evicts nothing
  assert.equal(cache.has('c'), true);
  for (let i = 0; i < 10_000; i++) cache.add(`n${i}`);
  assert.equal(cache.size, 3);
  assert.deepEqual(
    ['n9996', 'n9997', 'n9998', 'n9999'].map((id) => cache.has(id)),
    [false, true, true, true],
  );
});
