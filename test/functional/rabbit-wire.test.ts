/**
 * What the rabbit driver puts on the wire, captured on the real broker: requests, casts,
 * fanouts, notifications (v1 and v2), replies and heartbeats, plain and gzip-compressed.
 *
 * Capture: a raw amqplib queue bound with `#` to a test-only control exchange (and to
 * the fanout exchange), or, for replies, a raw reply queue named in a hand-made request.
 * (A `#` binding makes everything routable, so mandatory/NO_ROUTE is tested elsewhere.)
 *
 * Byte equality: every captured body is parsed by Python (`/usr/bin/python3`, key order
 * kept) and serialised again exactly as oslo.messaging does (`serialize_msg` and kombu's
 * JSON encoder, or `jsonutils.dumps` for a bare v1 notification); the bytes must match.
 * Key order is checked against spec §3.3, properties against spec §3.1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deflateSync, inflateSync } from 'node:zlib';

import type { ConsumeMessage } from 'amqplib';

import type { NotificationMessage } from '../../src/wire/messages.js';
import { pyDumps } from '../../src/wire/pyjson.js';
import { getRpcServer } from '../../src/rpc/server.js';
import { Target } from '../../src/target.js';
import { getRpcTransport, type Transport } from '../../src/transport.js';
import {
  TRANSPORT_URL,
  deleteAll,
  deleteByExchange,
  rabbitDriver,
  rawChannel,
  testLogger,
  uniqueName,
} from './rabbit-test-helpers.js';

const runFile = promisify(execFile);

// Reads [[body_text, kind], ...] on stdin; kind "envelope" re-serialises the inner dict
// as oslo does for RPC and messagingv2 (serialize_msg, then kombu's json), "bare" as the
// messaging (v1) notifier does (kombu's json of the dict itself).
const PY_RESERIALIZE = `
import json, sys
from kombu.utils.json import dumps
from oslo_messaging._drivers import common
out = []
for body, kind in json.load(sys.stdin):
    outer = json.loads(body)
    if kind == 'envelope':
        inner = json.loads(outer['oslo.message'])
        out.append(dumps(common.serialize_msg(inner)))
    else:
        out.append(dumps(outer))
print(json.dumps(out))
`;
import { driverOf, type DriverView } from '../helpers/driver-view.js';

async function pythonReserialize(items: [string, 'envelope' | 'bare'][]): Promise<string[]> {
  const child = runFile('/usr/bin/python3', ['-c', PY_RESERIALIZE], { timeout: 30_000 });
  child.child.stdin?.end(JSON.stringify(items));
  const { stdout } = await child;
  return JSON.parse(stdout) as string[];
}

/** The inner message of an envelope body (keys in wire order). */
function inner(body: string): Record<string, unknown> {
  const outer = JSON.parse(body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(outer), ['oslo.version', 'oslo.message'], 'envelope keys in order');
  assert.equal(outer['oslo.version'], '2.0');
  assert.equal(typeof outer['oslo.message'], 'string', 'oslo.message is a JSON string');
  return JSON.parse(outer['oslo.message'] as string) as Record<string, unknown>;
}

function assertProperties(
  msg: ConsumeMessage,
  expiration: string | undefined,
  headers: object = {},
): void {
  const p = msg.properties;
  assert.equal(p.contentType, 'application/json');
  assert.equal(p.contentEncoding, 'utf-8');
  assert.deepEqual(p.headers, headers, 'headers table present');
  assert.equal(p.deliveryMode, 2);
  assert.equal(p.priority, 0);
  assert.equal(p.expiration, expiration);
  for (const key of [
    'replyTo',
    'correlationId',
    'messageId',
    'timestamp',
    'type',
    'userId',
    'appId',
  ] as const) {
    assert.equal(p[key], undefined, `no ${key}`);
  }
}

const HEX32 = /^[0-9a-f]{32}$/;
const CONTEXT = { user_id: 'u-1', project_id: 'p-1', roles: ['admin', 'member'], is_admin: true };
const ARGS = { a: 1, b: 'café ☃', c: [1, 2, 3], d: null, e: { x: 1.5, y: true } };

interface Capture {
  exchange: string;
  topic: string;
  transport(query?: string): Transport;
  driver(query?: string): Promise<DriverView>;
  /** The next captured message (in arrival order). */
  next(timeoutMs?: number): Promise<ConsumeMessage>;
  publishRaw(
    exchange: string,
    routingKey: string,
    body: Buffer,
    headers?: Record<string, unknown>,
  ): Promise<void>;
  /** A raw queue of our own (exclusive), to receive replies on. */
  rawReplyQueue(): Promise<{ name: string; next(timeoutMs?: number): Promise<ConsumeMessage> }>;
}

async function capture(t: TestContext): Promise<Capture> {
  const exchange = uniqueName('wire');
  const topic = uniqueName('wire_t');
  const raw = await rawChannel();
  const transports: Transport[] = [];
  t.after(async () => {
    const replies = await Promise.all(
      transports.map(async (tr) => (await rabbitDriver(tr)).replyQueueName),
    );
    for (const tr of transports) await tr.cleanup();
    await raw.close();
    await deleteByExchange(exchange, [`${topic}_fanout_`]);
    await deleteAll(
      replies.filter((q): q is string => q !== undefined),
      [`${topic}_fanout`],
    );
  });
  // Same flags as the driver's defaults, so the declarations are equivalent.
  await raw.channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await raw.channel.assertExchange(`${topic}_fanout`, 'fanout', {
    durable: false,
    autoDelete: true,
  });
  const tap = await raw.channel.assertQueue('', { exclusive: true, autoDelete: true });
  await raw.channel.bindQueue(tap.queue, exchange, '#');
  await raw.channel.bindQueue(tap.queue, `${topic}_fanout`, '');
  const queueOf = async (queue: string) => {
    const inbox: ConsumeMessage[] = [];
    const waiters: (() => void)[] = [];
    await raw.channel.consume(
      queue,
      (msg) => {
        if (msg === null) return;
        inbox.push(msg);
        waiters.splice(0).forEach((w) => w());
      },
      { noAck: true },
    );
    return async (timeoutMs = 10_000): Promise<ConsumeMessage> => {
      const deadline = Date.now() + timeoutMs;
      while (inbox.length === 0) {
        if (Date.now() > deadline)
          throw new Error(`nothing captured on ${queue} in ${timeoutMs} ms`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(50)]);
      }
      return inbox.shift()!;
    };
  };
  const next = await queueOf(tap.queue);
  const transport = (query = ''): Transport => {
    const url = query === '' ? TRANSPORT_URL : `${TRANSPORT_URL}?${query}`;
    const tr = getRpcTransport(
      { DEFAULT: { control_exchange: exchange } },
      { url, logger: testLogger },
    );
    transports.push(tr);
    return tr;
  };
  return {
    exchange,
    topic,
    transport,
    driver: async (query) => driverOf(transport(query)),
    next,
    async publishRaw(ex, key, body, headers = {}) {
      raw.channel.publish(ex, key, body, {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers,
        deliveryMode: 2,
        priority: 0,
      });
      await raw.channel.waitForConfirms();
    },
    async rawReplyQueue() {
      const q = await raw.channel.assertQueue(uniqueName('wire_reply'), {
        exclusive: true,
        autoDelete: true,
      });
      return { name: q.queue, next: await queueOf(q.queue) };
    },
  };
}

function notification(priority: string): NotificationMessage {
  return {
    message_id: 'bb69211e-633d-4530-820f-3d3b315fd53b',
    publisher_id: 'owire.host1',
    event_type: 'owire.instance.create.end',
    priority,
    payload: { state: 'active', id: 1, when: '2024-05-06T07:08:09.123456', name: 'café' },
    timestamp: '2026-11-29 05:04:52.838860',
  };
}

test('rabbit wire - call: envelope, key order, expiration, properties, byte-identical to Python', async (t) => {
  const env = await capture(t);
  const client = await env.driver();
  await assert.rejects(
    client.send(
      new Target({ topic: env.topic }),
      CONTEXT,
      { method: 'echo', args: ARGS },
      {
        waitForReply: true,
        timeoutMs: 2000,
      },
    ),
    /Timed out/,
  );
  const msg = await env.next();
  assert.equal(msg.fields.exchange, env.exchange);
  assert.equal(msg.fields.routingKey, env.topic);
  assertProperties(msg, '2000');
  const body = msg.content.toString('utf8');
  assert.match(body, /^[\x20-\x7e]*$/, 'ASCII only');
  assert.ok(
    body.includes('caf\\\\u00e9 \\\\u2603'),
    'ensure_ascii escapes, escaped again by the envelope',
  );
  const m = inner(body);
  assert.deepEqual(Object.keys(m), [
    'method',
    'args',
    '_msg_id',
    '_reply_q',
    '_timeout',
    '_unique_id',
    '_context_user_id',
    '_context_project_id',
    '_context_roles',
    '_context_is_admin',
  ]);
  assert.equal(m['method'], 'echo');
  assert.deepEqual(m['args'], ARGS);
  assert.match(m['_msg_id'] as string, HEX32);
  assert.equal(
    m['_reply_q'],
    (await rabbitDriver(env.transport())).replyQueueName ?? m['_reply_q'],
  );
  assert.match(m['_reply_q'] as string, /^reply_[0-9a-f]{32}$/);
  assert.equal(m['_timeout'], null, '_timeout is the call-monitor timeout, null without one');
  assert.match(m['_unique_id'] as string, HEX32);
  assert.notEqual(m['_unique_id'], m['_msg_id']);
  // Byte for byte what oslo writes for this dict, and what our own encoder gives.
  const [python] = await pythonReserialize([[body, 'envelope']]);
  assert.equal(body, python);
  assert.equal(body, pyDumps({ 'oslo.version': '2.0', 'oslo.message': pyDumps(m) }));
});

test('rabbit wire - call with a call-monitor timeout sends _timeout in whole seconds; a server-directed call uses T.S', async (t) => {
  const env = await capture(t);
  const client = await env.driver();
  await assert.rejects(
    client.send(
      new Target({ topic: env.topic, server: 'host7' }),
      {},
      { method: 'm', args: {} },
      {
        waitForReply: true,
        timeoutMs: 1500,
        callMonitorTimeoutMs: 4000,
      },
    ),
  );
  const msg = await env.next();
  assert.equal(msg.fields.routingKey, `${env.topic}.host7`);
  assertProperties(msg, '1500');
  assert.equal(inner(msg.content.toString())['_timeout'], 4);
});

test('rabbit wire - cast with namespace and version, and a fanout cast: no reply keys, no expiration', async (t) => {
  const env = await capture(t);
  const client = await env.driver();
  await client.send(
    new Target({ topic: env.topic }),
    { user_id: 'u-1' },
    { method: 'nsmethod', args: { x: 21 }, namespace: 'owire_ns', version: '1.2' },
    { waitForReply: false },
  );
  const cast = await env.next();
  assert.equal(cast.fields.routingKey, env.topic);
  assertProperties(cast, undefined);
  const c = inner(cast.content.toString());
  assert.deepEqual(Object.keys(c), [
    'method',
    'args',
    'namespace',
    'version',
    '_unique_id',
    '_context_user_id',
  ]);
  assert.deepEqual(c, {
    ...c,
    method: 'nsmethod',
    args: { x: 21 },
    namespace: 'owire_ns',
    version: '1.2',
  });

  // Fanout: exchange <topic>_fanout even with Target.exchange set, routing key "".
  await client.send(
    new Target({ topic: env.topic, fanout: true, exchange: 'ignored' }),
    {},
    { method: 'fan', args: {} },
    { waitForReply: false },
  );
  const fanout = await env.next();
  assert.equal(fanout.fields.exchange, `${env.topic}_fanout`);
  assert.equal(fanout.fields.routingKey, '');
  assertProperties(fanout, undefined);
  assert.deepEqual(Object.keys(inner(fanout.content.toString())), ['method', 'args', '_unique_id']);

  const bodies = [cast, fanout].map((m) => m.content.toString());
  const python = await pythonReserialize(bodies.map((b) => [b, 'envelope']));
  assert.deepEqual(bodies, python);
});

test('rabbit wire - notifications v2 and v1: key order, routing key, upper-case priority, byte-identical to Python', async (t) => {
  const env = await capture(t);
  const driver = await env.driver();
  const target = new Target({ topic: `${env.topic}_n` });
  await driver.sendNotification(
    target,
    { user_id: 'u-1', roles: ['admin'] },
    notification('INFO'),
    2,
    undefined,
  );
  await driver.sendNotification(target, { user_id: 'u-1' }, notification('WARN'), 1, undefined);
  const v2 = await env.next();
  const v1 = await env.next();
  assert.equal(v2.fields.routingKey, `${env.topic}_n.info`);
  assert.equal(v1.fields.routingKey, `${env.topic}_n.warn`);
  for (const msg of [v2, v1]) assertProperties(msg, undefined);
  const keys = [
    'message_id',
    'publisher_id',
    'event_type',
    'priority',
    'payload',
    'timestamp',
    '_unique_id',
  ];
  const n2 = inner(v2.content.toString());
  assert.deepEqual(Object.keys(n2), [...keys, '_context_user_id', '_context_roles']);
  assert.equal(n2['priority'], 'INFO');
  assert.equal(n2['message_id'], 'bb69211e-633d-4530-820f-3d3b315fd53b');
  assert.match(n2['_unique_id'] as string, HEX32);
  // v1 (the `messaging` driver): the same dict, with no envelope.
  const n1 = JSON.parse(v1.content.toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(n1), [...keys, '_context_user_id']);
  assert.equal(n1['priority'], 'WARN');
  const bodies: [string, 'envelope' | 'bare'][] = [
    [v2.content.toString(), 'envelope'],
    [v1.content.toString(), 'bare'],
  ];
  assert.deepEqual(
    bodies.map(([b]) => b),
    await pythonReserialize(bodies),
  );
});

test('rabbit wire - replies and heartbeats go to the default exchange with result, failure, ending, _msg_id, _unique_id', async (t) => {
  const env = await capture(t);
  const serverTransport = env.transport();
  const server = getRpcServer(serverTransport, { topic: env.topic, server: 's1' }, [
    {
      echo: (_ctxt: unknown, args: Record<string, unknown>) => args,
      slow: async () => {
        await sleep(2300);
        return 'done';
      },
      nothing: () => undefined,
      boom: () => {
        throw new RangeError('bad value');
      },
    },
  ]);
  t.after(() => server.close());
  await server.start();
  const replies = await env.rawReplyQueue();
  // A request as a Python client writes it (compact JSON is accepted too).
  const request = (method: string, msgId: string, timeout: number | null): Buffer =>
    Buffer.from(
      pyDumps({
        'oslo.version': '2.0',
        'oslo.message': pyDumps({
          method,
          args: { x: 'é' },
          _msg_id: msgId,
          _reply_q: replies.name,
          _timeout: timeout,
          _unique_id: `${msgId.slice(0, 31)}u`,
          _context_user_id: 'u-1',
        }),
      }),
    );
  const ids = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32), 'd'.repeat(32)];
  await env.publishRaw(env.exchange, env.topic, request('echo', ids[0]!, null));
  await env.publishRaw(env.exchange, env.topic, request('nothing', ids[1]!, null));
  await env.publishRaw(env.exchange, env.topic, request('boom', ids[2]!, null));
  const seen: ConsumeMessage[] = [];
  for (let i = 0; i < 3; i++) seen.push(await replies.next());
  for (const msg of seen) {
    assert.equal(msg.fields.exchange, '', 'the default exchange');
    assert.equal(msg.fields.routingKey, replies.name);
    assertProperties(msg, undefined);
  }
  const byId = new Map(
    seen.map((m) => [inner(m.content.toString())['_msg_id'], inner(m.content.toString())]),
  );
  const echo = byId.get(ids[0])!;
  assert.deepEqual(Object.keys(echo), ['result', 'failure', 'ending', '_msg_id', '_unique_id']);
  assert.deepEqual(echo['result'], { x: 'é' });
  assert.equal(echo['failure'], null);
  assert.equal(echo['ending'], true);
  assert.match(echo['_unique_id'] as string, HEX32);
  assert.deepEqual(byId.get(ids[1]), {
    ...byId.get(ids[1]),
    result: null,
    failure: null,
    ending: true,
  });
  const boom = byId.get(ids[2])!;
  assert.equal(boom['result'], null);
  assert.equal(boom['ending'], true);
  assert.equal(typeof boom['failure'], 'string', 'the failure is a JSON string inside the reply');
  const failure = JSON.parse(boom['failure'] as string) as Record<string, unknown>;
  assert.deepEqual(Object.keys(failure), ['class', 'module', 'message', 'tb', 'args', 'kwargs']);
  assert.equal(failure['message'], 'bad value');

  // Call monitor: _timeout 2 means a heartbeat every second while the method runs.
  await env.publishRaw(env.exchange, `${env.topic}.s1`, request('slow', ids[3]!, 2));
  const beats: Record<string, unknown>[] = [];
  for (;;) {
    const m = inner((await replies.next(5000)).content.toString());
    if (m['ending'] === true) {
      assert.equal(m['result'], 'done');
      break;
    }
    beats.push(m);
  }
  assert.ok(beats.length >= 1 && beats.length <= 3, `heartbeats every second: ${beats.length}`);
  for (const beat of beats) {
    assert.deepEqual(Object.keys(beat), ['result', 'failure', 'ending', '_msg_id', '_unique_id']);
    assert.deepEqual(
      { ...beat, _unique_id: 'x' },
      {
        result: null,
        failure: null,
        ending: false,
        _msg_id: ids[3],
        _unique_id: 'x',
      },
    );
  }
  assert.equal(
    new Set(beats.map((b) => b['_unique_id'])).size,
    beats.length,
    'a fresh _unique_id each',
  );
  const bodies = seen.map((m): [string, 'envelope'] => [m.content.toString(), 'envelope']);
  assert.deepEqual(
    bodies.map(([b]) => b),
    await pythonReserialize(bodies),
  );
});

test('rabbit wire - kombu_compression=gzip: zlib body Python decompresses, compression header, content type unchanged; a server reads and writes it', async (t) => {
  const env = await capture(t);
  const client = await env.driver('kombu_compression=gzip');
  await client.send(
    new Target({ topic: env.topic }),
    {},
    { method: 'echo', args: ARGS },
    { waitForReply: false },
  );
  const msg = await env.next();
  assertProperties(msg, undefined, { compression: 'application/x-gzip' });
  // kombu's "gzip" is zlib.compress: a zlib stream (78 9c), not a gzip file.
  assert.equal(msg.content.subarray(0, 2).toString('hex'), '789c');
  const plain = inflateSync(msg.content).toString('utf8');
  assert.deepEqual(inner(plain)['args'], ARGS);
  assert.equal(plain, (await pythonReserialize([[plain, 'envelope']]))[0]);
  // kombu's decoder (zlib.decompress) gets our exact body back. The compressed bytes
  // themselves differ from Python's: Node bundles another zlib build (Chromium's).
  const { stdout } = await runFile('/usr/bin/python3', [
    '-c',
    'import sys, zlib; from kombu.compression import decompress; ' +
      "sys.stdout.write(decompress(bytes.fromhex(sys.argv[1]), 'application/x-gzip').decode())",
    msg.content.toString('hex'),
  ]);
  assert.equal(stdout, plain);

  // An uncompressing server (no kombu_compression) reads a compressed request; a
  // compressing one replies compressed.
  const server = getRpcServer(
    env.transport('kombu_compression=gzip'),
    { topic: env.topic, server: 's1' },
    [{ echo: (_ctxt: unknown, args: Record<string, unknown>) => args }],
  );
  t.after(() => server.close());
  await server.start();
  const replies = await env.rawReplyQueue();
  const body = pyDumps({
    'oslo.version': '2.0',
    'oslo.message': pyDumps({
      method: 'echo',
      args: { z: 1 },
      _msg_id: 'e'.repeat(32),
      _reply_q: replies.name,
      _timeout: null,
      _unique_id: 'f'.repeat(32),
    }),
  });
  await env.publishRaw(env.exchange, `${env.topic}.s1`, deflateSync(Buffer.from(body)), {
    compression: 'application/x-gzip',
  });
  const reply = await replies.next();
  assertProperties(reply, undefined, { compression: 'application/x-gzip' });
  assert.deepEqual(inner(inflateSync(reply.content).toString())['result'], { z: 1 });
});
