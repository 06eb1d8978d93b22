import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  ReplyWaiter,
  callMonitorTimeoutFromWire,
  type ReplyWaiterContext,
} from '../../src/drivers/common/reply-waiter.js';
import { MessagingTimeout, RemoteError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';

interface LogLine {
  level: keyof Logger;
  message: string;
  args: unknown[];
}

function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof Logger) =>
    (message: string, ...args: unknown[]) =>
      void lines.push({ level, message, args });
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

function makeWaiter(overrides: Partial<ReplyWaiterContext> = {}): {
  waiter: ReplyWaiter;
  lines: LogLine[];
} {
  const { logger, lines } = recordingLogger();
  const waiter = new ReplyWaiter({
    logger,
    allowedRemoteExmods: [],
    remoteExceptions: {},
    ...overrides,
  });
  return { waiter, lines };
}

function reply(msgId: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { ...fields, _msg_id: msgId, _unique_id: 'f'.repeat(32) };
}

function timeoutCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

const FAILURE = JSON.stringify({
  class: 'ValueError',
  module: 'owire_exc',
  message: "('bad value', 42)",
  tb: ['Traceback (most recent call last):\n', "ValueError: ('bad value', 42)\n"],
  args: ['bad value', 42],
  kwargs: {},
});

test('ReplyWaiter - the first reply with ending true resolves with its result', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
  waiter.deliver(reply('m1', { result: { answer: 42 }, failure: null, ending: true }));
  assert.deepEqual(await pending, { answer: 42 });
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - an old-style two-part reply resolves with the earlier non-null result', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
  waiter.deliver(reply('m1', { result: 'pong', failure: null, ending: false }));
  waiter.deliver(reply('m1', { result: null, failure: null, ending: true }));
  assert.equal(await pending, 'pong');
});

test('ReplyWaiter - a null final result resolves with null', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
  waiter.deliver(reply('m1', { result: null, failure: null, ending: true }));
  assert.equal(await pending, null);
});

test('ReplyWaiter - falsy results (0, false, empty string) are answers, not heartbeats', async () => {
  for (const value of [0, false, '']) {
    const { waiter } = makeWaiter();
    const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
    waiter.deliver(reply('m1', { result: value, failure: null, ending: true }));
    assert.equal(await pending, value);
  }
});

test('ReplyWaiter - a failure rejects with RemoteError when the module is not allowed', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
  waiter.deliver(reply('m1', { result: null, failure: FAILURE, ending: true }));
  await assert.rejects(pending, (err: unknown) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.excType, 'ValueError');
    assert.equal(err.value, "('bad value', 42)");
    return true;
  });
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - a failure rejects at once, even without ending', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
  waiter.deliver(reply('m1', { result: null, failure: FAILURE }));
  await assert.rejects(pending, RemoteError);
});

test('ReplyWaiter - a reply without ending counts as not final: the call times out', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 50 });
  waiter.deliver(reply('m1', { result: 'almost', failure: null }));
  await assert.rejects(pending, MessagingTimeout);
});

test("ReplyWaiter - the overall timeout rejects with oslo's MessagingTimeout message", async () => {
  const { waiter } = makeWaiter();
  await assert.rejects(waiter.waitFor('abc123', { timeoutMs: 20 }), {
    name: 'MessagingTimeout',
    message: 'Timed out waiting for a reply to message ID abc123',
  });
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - heartbeats keep a call alive past the call-monitor timeout', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000, callMonitorTimeoutMs: 80 });
  // Heartbeats for well over the call-monitor timeout, then the result.
  for (let i = 0; i < 12; i++) {
    await sleep(20);
    waiter.deliver(reply('m1', { result: null, failure: null, ending: false }));
  }
  waiter.deliver(reply('m1', { result: 'done', failure: null, ending: true }));
  assert.equal(await pending, 'done');
});

test('ReplyWaiter - without heartbeats the call monitor rejects with MessagingTimeout', async () => {
  const { waiter } = makeWaiter();
  await assert.rejects(
    waiter.waitFor('m1', { timeoutMs: 5000, callMonitorTimeoutMs: 30 }),
    (err: unknown) => {
      assert.ok(err instanceof MessagingTimeout);
      assert.match(err.message, /^Timed out waiting for a reply to message ID m1/);
      assert.match(err.message, /heartbeat/);
      return true;
    },
  );
});

test('ReplyWaiter - heartbeats never extend the overall timeout', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 120, callMonitorTimeoutMs: 80 });
  let settled = false;
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  const beats = (async () => {
    while (!settled) {
      waiter.deliver(reply('m1', { result: null, failure: null, ending: false }));
      await sleep(15);
    }
  })();
  await assert.rejects(pending, {
    name: 'MessagingTimeout',
    message: 'Timed out waiting for a reply to message ID m1',
  });
  await beats;
});

test('ReplyWaiter - a non-null result with ending false does not restart the call monitor', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000, callMonitorTimeoutMs: 60 });
  const feed = (async () => {
    for (let i = 0; i < 10; i++) {
      await sleep(15);
      waiter.deliver(reply('m1', { result: 'partial', failure: null, ending: false }));
    }
  })();
  await assert.rejects(pending, /heartbeat/);
  await feed;
});

test("ReplyWaiter - abort rejects with the signal's reason and drops the call", async () => {
  const { waiter } = makeWaiter();
  const controller = new AbortController();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000, signal: controller.signal });
  const reason = new Error('user gave up');
  controller.abort(reason);
  await assert.rejects(pending, (err) => err === reason);
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - an already aborted signal rejects without registering', async () => {
  const { waiter } = makeWaiter();
  const reason = new Error('too late');
  await assert.rejects(
    waiter.waitFor('m1', { timeoutMs: 5000, signal: AbortSignal.abort(reason) }),
    (err) => err === reason,
  );
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - every way a wait ends clears its timers and abort listener', async () => {
  const { waiter } = makeWaiter();
  const baseline = timeoutCount();
  const endings: [string, (msgId: string, controller: AbortController) => void][] = [
    ['reply', (id) => waiter.deliver(reply(id, { result: 1, failure: null, ending: true }))],
    [
      'failure',
      (id) => waiter.deliver(reply(id, { result: null, failure: FAILURE, ending: true })),
    ],
    ['abort', (_id, controller) => controller.abort(new Error('stop'))],
    ['cancel', (id) => waiter.cancel(id, new Error('cancelled'))],
    ['cancelAll', () => waiter.cancelAll(new Error('closed'))],
  ];
  for (const [name, end] of endings) {
    const controller = new AbortController();
    const pending = waiter.waitFor(name, {
      timeoutMs: 60_000,
      callMonitorTimeoutMs: 30_000,
      signal: controller.signal,
    });
    assert.equal(timeoutCount(), baseline + 2, `${name}: both timers run while waiting`);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    end(name, controller);
    await pending.catch(() => undefined);
    assert.equal(timeoutCount(), baseline, `${name}: timers cleared`);
    assert.equal(
      getEventListeners(controller.signal, 'abort').length,
      0,
      `${name}: listener removed`,
    );
  }
  const controller = new AbortController();
  await waiter
    .waitFor('timeout', { timeoutMs: 10, callMonitorTimeoutMs: 30_000, signal: controller.signal })
    .catch(() => undefined);
  assert.equal(timeoutCount(), baseline, 'timeout: call-monitor timer cleared');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - a reply for an unknown or finished msg_id is logged at info (as oslo) and dropped', async () => {
  const { waiter, lines } = makeWaiter();
  waiter.deliver(reply('nobody', { result: 1, failure: null, ending: true }));
  await waiter.waitFor('late', { timeoutMs: 10 }).catch(() => undefined);
  waiter.deliver(reply('late', { result: 1, failure: null, ending: true }));
  const info = lines.filter((l) => l.level === 'info').flatMap((l) => l.args);
  assert.ok(info.includes('nobody'));
  assert.ok(info.includes('late'));
  assert.ok(lines.every((l) => l.level === 'info'));
});

test('ReplyWaiter - a reply without _msg_id is dropped', () => {
  const { waiter, lines } = makeWaiter();
  waiter.deliver({ result: 1, failure: null, ending: true });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.level, 'debug');
});

test('ReplyWaiter - replies go to their own call only', async () => {
  const { waiter } = makeWaiter();
  const a = waiter.waitFor('a', { timeoutMs: 5000 });
  const b = waiter.waitFor('b', { timeoutMs: 5000 });
  waiter.deliver(reply('b', { result: 'B', failure: null, ending: true }));
  waiter.deliver(reply('a', { result: 'A', failure: null, ending: true }));
  assert.deepEqual(await Promise.all([a, b]), ['A', 'B']);
});

test('ReplyWaiter - cancelAll rejects every waiting call with the given error', async () => {
  const { waiter } = makeWaiter();
  const error = new Error('transport closed');
  const calls = [1, 2, 3].map((i) => waiter.waitFor(`m${i}`, { timeoutMs: 5000 }));
  waiter.cancelAll(error);
  for (const call of calls) await assert.rejects(call, (err) => err === error);
  assert.equal(waiter.size, 0);
});

test('ReplyWaiter - cancel reports whether the call was waiting', async () => {
  const { waiter } = makeWaiter();
  const pending = waiter.waitFor('m1', { timeoutMs: 5000 });
  assert.equal(waiter.cancel('m1', new Error('publish failed')), true);
  assert.equal(waiter.cancel('m1', new Error('again')), false);
  await assert.rejects(pending, /publish failed/);
});

test('ReplyWaiter - rejects a second wait for the same msg_id and bad durations', async () => {
  const { waiter } = makeWaiter();
  const first = waiter.waitFor('m1', { timeoutMs: 5000 });
  await assert.rejects(waiter.waitFor('m1', { timeoutMs: 5000 }), /already waiting/);
  await assert.rejects(waiter.waitFor('m2', { timeoutMs: -1 }), RangeError);
  await assert.rejects(waiter.waitFor('m3', { timeoutMs: Number.NaN }), RangeError);
  await assert.rejects(
    waiter.waitFor('m4', { timeoutMs: 10, callMonitorTimeoutMs: Infinity }),
    RangeError,
  );
  waiter.cancelAll(new Error('done'));
  await first.catch(() => undefined);
  assert.equal(waiter.size, 0);
});

test("callMonitorTimeoutFromWire - reads _timeout as oslo's dispatcher does", () => {
  const cases: [unknown, number | undefined][] = [
    [null, undefined],
    [undefined, undefined],
    [2, 2000],
    [60, 60_000],
    [2.9, 2000],
    [1, undefined],
    [1.9, undefined],
    [0, undefined],
    [-4, undefined],
    ['30', 30_000],
    ['2.5', undefined],
    ['abc', undefined],
    [true, undefined],
  ];
  for (const [value, expected] of cases) {
    assert.equal(callMonitorTimeoutFromWire(value), expected, `_timeout ${String(value)}`);
  }
});
