/**
 * Malformed messages from the wire, published with raw amqplib into queues our RPC server
 * and notification listener consume: each is logged and rejected without requeue, never
 * dispatched, and the server keeps serving.
 *
 * Proof of "rejected, not acked, not requeued": a test-only policy gives the queues a
 * dead-letter exchange, and only `basic.reject(requeue=false)` dead-letters a message
 * (with `x-death` reason `rejected`). Afterwards the queues are empty.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { format } from 'node:util';
import { deflateSync } from 'node:zlib';

import type { ConsumeMessage } from 'amqplib';

import { pyDumps } from '../../src/wire/pyjson.js';
import { MAX_INCOMING_MESSAGE_BYTES } from '../../src/drivers/rabbit/options.js';
import type { Logger } from '../../src/log.js';
import { getNotificationListener } from '../../src/notify/listener.js';
import { getRpcClient } from '../../src/rpc/client.js';
import { getRpcServer } from '../../src/rpc/server.js';
import { Target } from '../../src/target.js';
import { getRpcTransport, type Transport } from '../../src/transport.js';
import type { TransportEventMap } from '../../src/transport-status.js';
import {
  TRANSPORT_URL,
  deleteAll,
  deleteByExchange,
  eventually,
  listQueues,
  rabbitDriver,
  rabbitmqctl,
  rawChannel,
  uniqueName,
} from './rabbit-test-helpers.js';

/** A logger that keeps error lines (and prints everything with OMTR_LOG=1). */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const echo = process.env['OMTR_LOG'] === '1';
  return {
    errors,
    debug: (m, ...a) => echo && console.error(`DEBUG ${format(m, ...a)}`),
    info: (m, ...a) => echo && console.error(`INFO ${format(m, ...a)}`),
    warn: (m, ...a) => echo && console.error(`WARN ${format(m, ...a)}`),
    error: (m, ...a) => {
      errors.push(format(m, ...a));
      if (echo) console.error(`ERROR ${format(m, ...a)}`);
    },
  };
}

const envelope = (msg: Record<string, unknown>, version = '2.0'): string =>
  pyDumps({ 'oslo.version': version, 'oslo.message': pyDumps(msg) });

interface Env {
  exchange: string;
  topic: string;
  logger: Logger & { errors: string[] };
  transport: Transport;
  raw: Awaited<ReturnType<typeof rawChannel>>;
  /** Messages dead-lettered from the test's queues, in arrival order. */
  deadLettered: ConsumeMessage[];
  replies: ConsumeMessage[];
  replyQueue: string;
  /** What the transport emitted as `rejected`. */
  rejected: TransportEventMap['rejected'][0][];
  publish(
    routingKey: string,
    body: Buffer | string,
    options?: { contentType?: string; headers?: Record<string, unknown> },
  ): Promise<void>;
}

async function setUp(t: TestContext): Promise<Env> {
  const hex = uniqueName('bad').slice('omtr_bad_'.length);
  const exchange = `omtr_bad_x_${hex}`;
  const topic = `omtr_bad_t_${hex}`;
  const dlx = `omtr_bad_dlx_${hex}`;
  const policy = `omtr_bad_policy_${hex}`;
  const logger = recordingLogger();
  const raw = await rawChannel();
  const transport = getRpcTransport(
    { DEFAULT: { control_exchange: exchange } },
    { url: TRANSPORT_URL, logger },
  );
  const rejected: TransportEventMap['rejected'][0][] = [];
  transport.on('rejected', (event) => void rejected.push(event));
  t.after(async () => {
    const replyQueue = (await rabbitDriver(transport)).replyQueueName;
    await transport.cleanup();
    await raw.close();
    await rabbitmqctl('clear_policy', policy).catch(() => undefined);
    await deleteByExchange(exchange, [`${topic}_fanout_`]);
    await deleteAll(replyQueue === undefined ? [] : [replyQueue], [dlx, `${topic}_fanout`]);
  });
  // Only this test's queues get the dead-letter exchange.
  await rabbitmqctl(
    'set_policy',
    '--apply-to',
    'queues',
    policy,
    `^${topic}`,
    JSON.stringify({ 'dead-letter-exchange': dlx }),
  );
  await raw.channel.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true });
  const dead = await raw.channel.assertQueue('', { exclusive: true, autoDelete: true });
  await raw.channel.bindQueue(dead.queue, dlx, '');
  const deadLettered: ConsumeMessage[] = [];
  await raw.channel.consume(dead.queue, (m) => void (m && deadLettered.push(m)), { noAck: true });
  const replyQ = await raw.channel.assertQueue('', { exclusive: true, autoDelete: true });
  const replies: ConsumeMessage[] = [];
  await raw.channel.consume(replyQ.queue, (m) => void (m && replies.push(m)), { noAck: true });
  return {
    exchange,
    topic,
    logger,
    transport,
    raw,
    deadLettered,
    replies,
    replyQueue: replyQ.queue,
    rejected,
    async publish(routingKey, body, options = {}) {
      raw.channel.publish(
        exchange,
        routingKey,
        typeof body === 'string' ? Buffer.from(body) : body,
        {
          contentType: options.contentType ?? 'application/json',
          contentEncoding: 'utf-8',
          headers: options.headers ?? {},
          deliveryMode: 2,
        },
      );
      await raw.channel.waitForConfirms();
    },
  };
}

test('rabbit bad input - malformed RPC requests are logged and rejected without requeue; the server keeps serving', async (t) => {
  const env = await setUp(t);
  let dispatched = 0;
  const server = getRpcServer(env.transport, { topic: env.topic, server: 's1' }, [
    {
      echo: (_ctxt: unknown, args: Record<string, unknown>) => {
        dispatched++;
        return args;
      },
    },
  ]);
  t.after(() => server.close());
  await server.start();

  // Each would get a reply if it were dispatched.
  const call = (extra: Record<string, unknown>, i: number): Record<string, unknown> => ({
    method: 'echo',
    args: { i },
    _msg_id: `${i}`.padStart(32, '0'),
    _reply_q: env.replyQueue,
    _timeout: null,
    _unique_id: `${i}`.padStart(32, 'f'),
    ...extra,
  });
  const withoutMethod = call({}, 3);
  delete withoutMethod['method'];
  const hugeBody = `{"oslo.version": "2.0", "oslo.message": "${'x'.repeat(MAX_INCOMING_MESSAGE_BYTES)}"}`;
  const bad: [
    string,
    Buffer | string,
    { contentType?: string; headers?: Record<string, unknown> }?,
  ][] = [
    ['not JSON', 'this is not json {'],
    ['envelope version 2.1', envelope(call({}, 1), '2.1')],
    ['envelope version 1.9', envelope(call({}, 2), '1.9')],
    ['no method', envelope(withoutMethod)],
    ['method not a string', envelope(call({ method: 42 }, 4))],
    ['args not an object', envelope(call({ args: [1, 2] }, 5))],
    ['args null', envelope(call({ args: null }, 6))],
    [
      'oslo.message not a string',
      `{"oslo.version": "2.0", "oslo.message": ${pyDumps(call({}, 7))}}`,
    ],
    ['a JSON array', '[1, 2, 3]'],
    ['a call without a reply queue', envelope(call({ _reply_q: undefined }, 8))],
    ['_msg_id not a string', envelope(call({ _msg_id: 12 }, 9))],
    ['content type text/plain', envelope(call({}, 10)), { contentType: 'text/plain' }],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    [
      'corrupt compressed body',
      Buffer.from('not zlib'),
      { headers: { compression: 'application/x-gzip' } },
    ],
    ['bz2 compression', Buffer.from('BZh9'), { headers: { compression: 'application/x-bz2' } }],
    ['over the size limit', hugeBody],
    [
      'a compression bomb',
      deflateSync(Buffer.alloc(MAX_INCOMING_MESSAGE_BYTES + 1, 0x20)),
      { headers: { compression: 'application/x-gzip' } },
    ],
  ];
  for (const [, body, options] of bad) await env.publish(`${env.topic}.s1`, body, options);

  await eventually(
    () => env.deadLettered.length === bad.length,
    20_000,
    `${bad.length} dead-lettered messages`,
  );
  for (const msg of env.deadLettered) {
    const death = (
      msg.properties.headers?.['x-death'] as { reason: string; queue: string }[] | undefined
    )?.[0];
    assert.equal(death?.reason, 'rejected', 'basic.reject(requeue=false)');
    assert.equal(death?.queue, `${env.topic}.s1`);
    assert.equal(msg.fields.redelivered, false);
  }
  assert.equal(
    env.logger.errors.filter((line) => line.includes('Failed to process message')).length,
    bad.length,
  );
  assert.equal(env.transport.rejectedMessages, bad.length, 'each counted once');
  assert.equal(env.rejected.length, bad.length, 'each emitted as "rejected"');
  assert.ok(
    env.rejected.every((e) => e.kind === 'rpc' && e.routingKey === `${env.topic}.s1`),
    JSON.stringify(env.rejected),
  );
  const queue = (await listQueues()).find((q) => q.name === `${env.topic}.s1`);
  assert.equal(queue?.messages, 0, 'nothing left, nothing requeued');

  // Still serving: a good call after all that.
  const client = getRpcClient(
    env.transport,
    { topic: env.topic, server: 's1' },
    { timeout: 10_000 },
  );
  assert.deepEqual(await client.call({}, 'echo', { ok: true }), { ok: true });
  await sleep(200);
  assert.equal(dispatched, 1, 'no malformed request was dispatched');
  assert.equal(env.replies.length, 0, 'no reply to any malformed request');
});

test('rabbit bad input - a duplicate request (same _unique_id) is dispatched once', async (t) => {
  const env = await setUp(t);
  let dispatched = 0;
  const server = getRpcServer(env.transport, { topic: env.topic, server: 's1' }, [
    { echo: (_ctxt: unknown, args: Record<string, unknown>) => (dispatched++, args) },
  ]);
  t.after(() => server.close());
  await server.start();
  const body = envelope({
    method: 'echo',
    args: { n: 1 },
    _msg_id: 'a'.repeat(32),
    _reply_q: env.replyQueue,
    _timeout: null,
    _unique_id: 'b'.repeat(32),
  });
  await env.publish(env.topic, body);
  await env.publish(env.topic, body);
  await eventually(() => env.replies.length >= 1, 10_000, 'a reply');
  await sleep(500);
  assert.equal(dispatched, 1);
  assert.equal(env.replies.length, 1, 'one reply');
  assert.equal(env.deadLettered.length, 0, 'the copy was acked and dropped, not rejected');
});

test('rabbit bad input - malformed notifications are rejected without requeue; good ones still arrive', async (t) => {
  const env = await setUp(t);
  const received: unknown[] = [];
  const listener = getNotificationListener(
    env.transport,
    [new Target({ topic: env.topic })],
    [{ info: (_c: unknown, _p: unknown, eventType: string) => void received.push(eventType) }],
  );
  t.after(() => listener.close());
  await listener.start();
  const good = {
    message_id: '2562f52c-652d-4150-86eb-a6687c6ac561',
    publisher_id: 'omtr.host',
    event_type: 'omtr.good',
    priority: 'INFO',
    payload: { n: 1 },
    timestamp: '2026-11-29 05:04:52.968140',
    _unique_id: 'c'.repeat(32),
  };
  const without = (key: string): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...good, _unique_id: key.padEnd(32, '0').slice(0, 32) };
    delete copy[key];
    return copy;
  };
  const bad: (Buffer | string)[] = [
    'not json',
    envelope(without('priority')),
    envelope(without('event_type')),
    envelope({ ...good, priority: 7, _unique_id: 'd'.repeat(32) }),
    envelope({ ...good, publisher_id: ['x'], _unique_id: 'e'.repeat(32) }),
    envelope(good, '3.0'),
  ];
  for (const body of bad) await env.publish(`${env.topic}.info`, body);
  // v2 and v1 (bare) good notifications afterwards.
  await env.publish(`${env.topic}.info`, envelope(good));
  await env.publish(`${env.topic}.info`, pyDumps({ ...good, _unique_id: 'f'.repeat(32) }));
  await eventually(
    () => env.deadLettered.length === bad.length,
    10_000,
    `${bad.length} dead-lettered`,
  );
  await eventually(() => received.length === 2, 10_000, 'the two good notifications');
  assert.deepEqual(received, ['omtr.good', 'omtr.good']);
  for (const msg of env.deadLettered) {
    const death = (msg.properties.headers?.['x-death'] as { reason: string }[] | undefined)?.[0];
    assert.equal(death?.reason, 'rejected');
  }
  assert.equal(env.transport.rejectedMessages, bad.length, 'each counted once');
  assert.ok(
    env.rejected.every(
      (e) => e.kind === 'notification' && e.exchange === env.exchange && e.reason instanceof Error,
    ),
    JSON.stringify(env.rejected),
  );
  await sleep(300);
  const queue = (await listQueues()).find((q) => q.name === `${env.topic}.info`);
  assert.equal(queue?.messages, 0, 'nothing left, nothing requeued');
});
