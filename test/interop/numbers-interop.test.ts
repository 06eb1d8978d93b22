/**
 * Numbers between this library and Python oslo.messaging 14.0.3, both ways: ints beyond
 * 2^53, whole floats, NaN and infinities (the corpus of test/fixtures/python/numbers.py)
 * arrive with the same values and types, and are sent back unchanged, in RPC calls and in
 * notifications.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  getNotificationListener,
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  isReceivedFloat,
  Notifier,
  pyFloat,
  Target,
  type RPCTransport,
} from '../../src/index.js';
import { deferred } from '../../src/util/async.js';
import { InteropScope, type Peer, type PeerResult } from './helpers.js';

type Dict = Record<string, unknown>;
type Typed = ['int' | 'float', string];

// The corpus as Python described it (type and repr of every number), written by
// test/fixtures/python/numbers.py run with /usr/bin/python3.
const { corpus } = JSON.parse(
  readFileSync(new URL('../fixtures/python/numbers.json', import.meta.url), 'utf8'),
) as { corpus: Dict };

const isTyped = (v: unknown): v is Typed =>
  Array.isArray(v) && v.length === 2 && (v[0] === 'int' || v[0] === 'float');

/** The TypeScript value a Python value arrives as (the documented rule). */
function received(typed: unknown): unknown {
  if (isTyped(typed)) {
    const [kind, text] = typed;
    if (kind === 'float') {
      return text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : +text;
    }
    const big = BigInt(text);
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    return big <= max && big >= -max ? Number(big) : big;
  }
  if (Array.isArray(typed)) return typed.map(received);
  if (typed !== null && typeof typed === 'object') {
    return Object.fromEntries(Object.entries(typed).map(([k, v]) => [k, received(v)]));
  }
  return typed;
}

/** The TypeScript value to send for a Python value: whole floats wrapped in pyFloat(). */
function toSend(typed: unknown): unknown {
  if (isTyped(typed)) {
    const value = received(typed);
    return typed[0] === 'float' && Number.isInteger(value) ? pyFloat(value as number) : value;
  }
  if (Array.isArray(typed)) return typed.map(toSend);
  if (typed !== null && typeof typed === 'object') {
    return Object.fromEntries(Object.entries(typed).map(([k, v]) => [k, toSend(v)]));
  }
  return typed;
}

/** Every whole float of the corpus is marked as a float where it arrived. */
function assertFloatsMarked(typed: unknown, value: unknown, path = 'args'): void {
  if (typed === null || typeof typed !== 'object' || isTyped(typed)) return;
  const entries: [string | number, unknown][] = Array.isArray(typed)
    ? typed.map((t, i) => [i, t])
    : Object.entries(typed);
  for (const [key, item] of entries) {
    if (isTyped(item)) {
      const whole = item[0] === 'float' && Number.isInteger(Number(item[1]));
      assert.equal(isReceivedFloat(value as object, key), whole, `${path}.${key}`);
    } else {
      assertFloatsMarked(item, (value as Dict)[key as string], `${path}.${key}`);
    }
  }
}

describe('numbers interop: Python client -> TS server -> Python', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('numbers_in');
  scope.trackRpcTopic(topic, ['ts']);
  const seen: Dict[] = [];
  let client: Peer;

  before(async () => {
    const transport: RPCTransport = getRpcTransport(scope.conf());
    const server = getRpcServer(transport, { topic, server: 'ts' }, [
      {
        echo(_ctxt: unknown, args: Dict) {
          seen.push(args);
          return args;
        },
      },
    ]);
    await server.start();
    scope.defer(async () => {
      await server.close();
      await transport.cleanup();
    });
    client = await scope.peer('rpc-client', ['--topic', topic]);
  });

  test('big ints, whole floats, NaN and infinities arrive exactly and go back unchanged', async () => {
    const result: PeerResult = await client.request({
      op: 'call',
      method: 'echo',
      corpus: 'numbers',
    });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.deepStrictEqual(seen[0], received(corpus));
    assertFloatsMarked(corpus, seen[0]);
    // Python compared what came back with what it sent: same values, same int/float types.
    assert.equal(result['same_as_sent'], true);
  });
});

describe('numbers interop: TS client -> Python server -> TS', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('numbers_out');
  scope.trackRpcTopic(topic, ['py']);
  let server: Peer;
  let transport: RPCTransport;

  before(async () => {
    server = await scope.peer('rpc-server', ['--topic', topic, '--server', 'py', '--raw']);
    transport = getRpcTransport(scope.conf());
    scope.defer(() => transport.cleanup());
  });

  test('bigints, pyFloat, NaN and infinities reach Python as its ints and floats', async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    const reply = (await client.call({}, 'echo_numbers', toSend(corpus) as Dict)) as Dict;
    // Python found exactly its corpus: ints as ints (beyond 2^64 too), floats as floats.
    assert.equal(reply['same_as_corpus'], true);
    // Our request was byte for byte what Python's json.dumps writes for those values.
    const raw = await server.events.waitFor(
      (e) => e.event === 'raw' && String(e['body']).includes('echo_numbers'),
    );
    assert.equal(raw['python_format'], true);
    // And Python's reply arrives as the same values again.
    assert.deepStrictEqual(reply['args'], received(corpus));
    assertFloatsMarked(corpus, reply['args']);
  });
});

describe('numbers interop: Python notifier -> TS listener', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('numbers_notify_in');
  scope.trackNotificationTopic(topic);

  test('big ints, whole floats, NaN and infinities arrive in the payload exactly', async () => {
    const transport = getNotificationTransport(scope.conf());
    scope.defer(() => transport.cleanup());
    const got = deferred<Dict>();
    const listener = getNotificationListener(
      transport,
      [new Target({ topic })],
      [{ info: (_c: unknown, _p: unknown, _e: unknown, payload: Dict) => got.resolve(payload) }],
    );
    await listener.start();
    scope.defer(() => listener.close());
    const notifier = await scope.peer('notifier');
    const sent = await notifier.request({
      op: 'notify',
      topics: [topic],
      priority: 'info',
      event_type: 'interop.numbers',
      corpus: 'numbers',
    });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    const payload = await got.promise;
    assert.deepStrictEqual(payload, received(corpus));
    assertFloatsMarked(corpus, payload, 'payload');
  });
});

describe('numbers interop: TS notifier -> Python listener', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('numbers_notify_out');
  scope.trackNotificationTopic(topic);

  test('bigints, pyFloat, NaN and infinities reach Python as its ints and floats', async () => {
    const listener = await scope.peer('listener', ['--topics', topic]);
    const transport = getNotificationTransport(scope.conf());
    scope.defer(() => transport.cleanup());
    const notifier = new Notifier(transport, { driver: 'messagingv2', topics: [topic] });
    await notifier.info({}, 'interop.numbers', toSend(corpus));
    const seen = await listener.events.waitFor(
      (e) => e.event === 'notification' && e['event_type'] === 'interop.numbers',
    );
    // Python compared the payload with its own corpus: same values, same int/float types.
    assert.equal(seen['same_as_corpus'], true);
  });
});
