/**
 * The transport façade on both drivers, RabbitMQ included: the closed state is the same
 * whichever driver is behind it, the status follows the real connections, and a
 * notification to a broker that is away ends within its timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Notifier,
  type Transport,
  TransportClosed,
  type TransportStatus,
} from '../../src/index.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';
import { deferred } from '../../src/util/async.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';
import {
  closeConnections,
  deleteByExchange,
  eventually,
  rabbitDriver,
  testLogger,
  TRANSPORT_URL,
  uniqueName,
} from './rabbit-test-helpers.js';

interface Flavour {
  name: string;
  transport(exchange: string): Transport;
}

const FLAVOURS: Flavour[] = [
  {
    name: 'fake',
    transport: (exchange) =>
      getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url: uniqueFakeUrl(), logger: testLogger },
      ),
  },
  {
    name: 'rabbit',
    transport: (exchange) =>
      getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url: TRANSPORT_URL, logger: testLogger },
      ),
  },
];

for (const flavour of FLAVOURS) {
  test(`transport façade (${flavour.name}) - cleanup rejects a waiting call, stops the server, and refuses what follows with TransportClosed`, async (t) => {
    const exchange = uniqueName('facade');
    const topic = uniqueName('topic');
    const transport = flavour.transport(exchange);
    t.after(async () => {
      await transport.cleanup();
      if (flavour.name === 'rabbit') await deleteByExchange(exchange, [`${topic}_fanout`]);
    });
    const entered = deferred();
    const server = getRpcServer(transport, { topic, server: 's1' }, [
      {
        slow: async () => {
          entered.resolve();
          await sleep(30_000);
        },
        quick: () => 'ok',
      },
    ]);
    await server.start();
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    assert.equal(await client.call({}, 'quick'), 'ok');
    assert.equal(transport.status, 'connected');

    const pending = client.call({}, 'slow');
    await entered.promise;
    await transport.cleanup();

    const outcomes: unknown[] = [];
    for (const attempt of [
      pending,
      client.call({}, 'quick'),
      client.cast({}, 'quick'),
      getRpcServer(transport, { topic, server: 's2' }, [{}]).start(),
    ]) {
      outcomes.push(
        await attempt.then(
          () => 'resolved',
          (err: unknown) => err,
        ),
      );
    }
    for (const outcome of outcomes) {
      assert.ok(outcome instanceof TransportClosed, `got ${String(outcome)}`);
      assert.equal(outcome.message, 'The transport is closed: it was cleaned up');
    }
    assert.notEqual(server.state, 'running');
    assert.equal(transport.status, 'closed');
  });
}

test('transport façade (rabbit) - status follows the connections: reconnecting when the broker drops them, connected again after', async (t) => {
  const exchange = uniqueName('facade');
  const topic = uniqueName('topic');
  const transport = getRpcTransport(
    {
      DEFAULT: { control_exchange: exchange },
      oslo_messaging_rabbit: { rabbit_retry_interval: 1, rabbit_retry_backoff: 1 },
    },
    { url: TRANSPORT_URL, logger: testLogger },
  );
  t.after(async () => {
    await transport.cleanup();
    await deleteByExchange(exchange, [`${topic}_fanout`]);
  });
  const statuses: TransportStatus[] = [];
  const disconnected: string[] = [];
  transport.on('status', (status) => statuses.push(status));
  transport.on('disconnected', ({ connection }) => disconnected.push(connection));
  const server = getRpcServer(transport, { topic, server: 's1' }, [{ ping: () => 'pong' }]);
  await server.start();
  t.after(() => server.close());
  const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
  assert.equal(await client.call({}, 'ping'), 'pong');
  assert.equal(transport.status, 'connected');

  const names = (await rabbitDriver(transport)).connectionNames();
  const all = [names.send, names.reply, ...names.listeners].filter(
    (n): n is string => n !== undefined,
  );
  const closed = await closeConnections(all, 'facade status test');
  assert.ok(closed >= 1, 'the broker closed our connections');
  await eventually(() => statuses.includes('reconnecting'), 10_000, 'status reconnecting');
  assert.ok(disconnected.length >= 1, 'a disconnected event names the connection');
  // Listeners reconnect by themselves; the send connection on the next call.
  assert.equal(await client.call({}, 'ping'), 'pong');
  await eventually(() => transport.status === 'connected', 15_000, 'status connected again');
  assert.equal(statuses.at(-1), 'connected');
});

test('notifier (rabbit) - a broker that is away: the send ends within its timeout, logged, and a signal aborts it', async (t) => {
  const logger = new RecordingLogger();
  // Nothing listens on port 1: every connection attempt fails, and retry -1 would
  // otherwise wait for ever.
  const transport = getNotificationTransport(
    { oslo_messaging_rabbit: { rabbit_retry_interval: 1, rabbit_retry_backoff: 1 } },
    { url: 'rabbit://guest:guest@127.0.0.1:1/', logger },
  );
  t.after(() => transport.cleanup());
  const notifier = new Notifier(transport, { driver: 'messagingv2', timeout: 500 });
  assert.equal(notifier.retry, -1);
  const started = Date.now();
  await notifier.info({}, 'compute.instance.create.end', { id: 1 });
  const took = Date.now() - started;
  assert.ok(took < 10_000, `resolved after ${took} ms`);
  assert.equal(logger.at('error', 'Could not send notification to notifications').length, 1);
  assert.match(logger.at('error', 'Could not send notification')[0]?.text ?? '', /timed out/);
  assert.equal(transport.status, 'reconnecting');

  const controller = new AbortController();
  const sending = new Notifier(transport, { driver: 'messagingv2', timeout: 60_000 }).info(
    {},
    'e',
    1,
    { signal: controller.signal },
  );
  await sleep(50);
  controller.abort(new Error('shutting down'));
  await assert.rejects(sending, /shutting down/);
});
