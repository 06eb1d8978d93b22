/**
 * Replies are acknowledged in batches (one `basic.ack` with `multiple` for up to
 * REPLY_ACK_BATCH replies or REPLY_ACK_DELAY_MS): what a caller can see of it on a real
 * broker. Every call is answered, the reply queue ends empty, a small prefetch does not
 * stall calls, and replies delivered again after the reply connection was lost are
 * dropped without answering anything twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  type RPCClient,
  Target,
} from '../../src/index.js';
import { REPLY_ACK_BATCH } from '../../src/drivers/rabbit/reply-queue.js';
import { FaultProxy } from '../cluster/fault-proxy.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';
import {
  deleteByExchange,
  eventually,
  listQueues,
  rabbitDriver,
  TRANSPORT_URL,
  uniqueName,
} from './rabbit-test-helpers.js';

async function setup(
  t: { after(fn: () => Promise<void>): void },
  rabbit: Record<string, unknown> = {},
  callerUrl = TRANSPORT_URL,
): Promise<{
  client: RPCClient;
  caller: ReturnType<typeof getRpcTransport>;
  logger: RecordingLogger;
}> {
  const exchange = uniqueName('racks');
  const topic = uniqueName('topic');
  const logger = new RecordingLogger();
  const conf = {
    DEFAULT: { control_exchange: exchange },
    oslo_messaging_rabbit: { rabbit_retry_interval: 1, rabbit_retry_backoff: 1, ...rabbit },
  };
  const serving = getRpcTransport(conf, { url: TRANSPORT_URL, logger });
  const caller = getRpcTransport(conf, { url: callerUrl, logger });
  const server = getRpcServer(serving, new Target({ topic, server: 's1' }), [
    { echo: (_ctxt: unknown, args: { n: number }) => args.n },
  ]);
  await server.start();
  t.after(async () => {
    const replyQueue = (await rabbitDriver(caller)).replyQueueName;
    await server.close();
    await caller.cleanup();
    await serving.cleanup();
    await deleteByExchange(exchange, replyQueue === undefined ? [] : [replyQueue]);
  });
  return {
    client: getRpcClient(caller, { topic }, { timeout: 20_000 }),
    caller,
    logger,
  };
}

/** The messages (ready and unacknowledged) of the caller's reply queue. */
async function replyQueueMessages(caller: ReturnType<typeof getRpcTransport>): Promise<number> {
  const name = (await rabbitDriver(caller)).replyQueueName;
  const queue = (await listQueues()).find((q) => q.name === name);
  assert.ok(queue !== undefined, `reply queue ${name} exists`);
  return queue.messages;
}

test('rabbit reply acks - sequential and concurrent calls are all answered, and the reply queue ends empty', async (t) => {
  const { client, caller } = await setup(t);
  for (let n = 0; n < 10; n++) assert.equal(await client.call({}, 'echo', { n }), n);
  const many = Array.from({ length: REPLY_ACK_BATCH * 3 + 5 }, (_, n) => n);
  assert.deepEqual(await Promise.all(many.map((n) => client.call({}, 'echo', { n }))), many);
  // Acknowledged by count, then by the flush delay for the remainder.
  await eventually(async () => (await replyQueueMessages(caller)) === 0, 10_000, 'no reply left');
});

test('rabbit reply acks - a prefetch smaller than the batch does not hold calls back', async (t) => {
  // With rabbit_qos_prefetch_count=2 the broker delivers at most two unacknowledged
  // replies: the batch shrinks to one, so every call is answered at once.
  const { client, caller } = await setup(t, { rabbit_qos_prefetch_count: 2 });
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, n) => client.call({}, 'echo', { n })),
  );
  assert.deepEqual(
    answers,
    Array.from({ length: 30 }, (_, n) => n),
  );
  for (let n = 0; n < 5; n++) assert.equal(await client.call({}, 'echo', { n }), n);
  await eventually(async () => (await replyQueueMessages(caller)) === 0, 10_000, 'no reply left');
});

test('rabbit reply acks - replies not yet acknowledged when the reply connection is lost come again and are dropped', async (t) => {
  // The caller goes through a proxy that can cut its connections at once, well within
  // the flush delay (rabbitmqctl would take longer than that).
  const proxy = await FaultProxy.start({ targetPort: 5672, name: 'reply-acks' });
  t.after(() => proxy.close());
  const { client, caller, logger } = await setup(
    t,
    {},
    `rabbit://guest:guest@127.0.0.1:${proxy.port}/`,
  );
  for (let n = 0; n < 5; n++) assert.equal(await client.call({}, 'echo', { n }), n);
  // Right away (the flush delay is REPLY_ACK_DELAY_MS): nothing more reaches the broker,
  // then the connections are cut; the five replies were not acknowledged, so the broker
  // gives them back.
  proxy.setAll('blackhole');
  for (const conn of proxy.connections()) conn.close();
  proxy.setAll('pass');
  // The connections come back; calls go on and are answered once each.
  for (let n = 5; n < 10; n++) assert.equal(await client.call({}, 'echo', { n }), n);
  await eventually(async () => (await replyQueueMessages(caller)) === 0, 10_000, 'no reply left');
  // Delivered again and dropped: their calls were answered already.
  const dropped = logger.at('info', 'No calling threads waiting for msg_id');
  assert.equal(dropped.length, 5, logger.lines.map((l) => l.text).join('\n'));
});
