/**
 * The transport façade on the in-memory driver and on a third, minimal driver made here:
 * capabilities instead of driver names, the closed state, servers stopped by cleanup,
 * status events, hooks that carry headers, and the bounds of every wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { DriverDescriptor } from '../../src/drivers/driver.js';
import {
  ConfigurationError,
  getBatchNotificationListener,
  getNotificationListener,
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  MessageDeliveryFailure,
  MessagingException,
  Notifier,
  silentLogger,
  Target,
  TaskTimeout,
  TransportClosed,
  type TransportStatus,
} from '../../src/index.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';
import { deferred } from '../../src/util/async.js';

/**
 * A third driver, as a new driver would be added: its own descriptor with the in-memory
 * driver's code, but it can neither requeue, nor do RPC, nor take batches.
 */
const notificationsOnly: DriverDescriptor<undefined> = {
  schemes: ['fake'],
  optionGroups: [],
  settings: () => undefined,
  capabilities: () => ({
    rpc: false,
    requeue: false,
    batch: false,
    maxPrefetch: undefined,
    headers: false,
  }),
  load: async () => (await import('../../src/drivers/fake/fake-driver.js')).createFakeDriver,
};

function limitedTransport(): ReturnType<typeof getNotificationTransport> {
  return getNotificationTransport(uniqueFakeUrl(), {
    logger: silentLogger,
    driver: notificationsOnly as DriverDescriptor,
  });
}

test('transport - the generic layers ask capabilities: a driver without requeue refuses allowRequeue', async (t) => {
  const transport = limitedTransport();
  t.after(() => transport.cleanup());
  assert.equal(transport.capabilities.requeue, false);
  assert.equal(transport.supportsRequeue, false);
  assert.throws(
    () =>
      getNotificationListener(transport, [new Target({ topic: 't' })], [{ info() {} }], {
        allowRequeue: true,
      }),
    (err: unknown) => err instanceof MessagingException && /allowRequeue/.test(err.message),
  );
  // Without requeue the listener works on that driver.
  const got = deferred<unknown>();
  const listener = getNotificationListener(
    transport,
    [new Target({ topic: 't' })],
    [{ info: (_c: unknown, _p: unknown, _e: unknown, payload: unknown) => got.resolve(payload) }],
  );
  await listener.start();
  t.after(() => listener.close());
  await new Notifier(transport, { driver: 'messagingv2', topics: ['t'] }).info({}, 'e', 42);
  assert.equal(await got.promise, 42);
});

test('transport - a driver without RPC or batches refuses them with typed errors', async (t) => {
  const transport = limitedTransport();
  t.after(() => transport.cleanup());
  assert.throws(
    () => getBatchNotificationListener(transport, [new Target({ topic: 't' })], [{}]),
    (err: unknown) => err instanceof MessagingException && /Batch listeners/.test(err.message),
  );
  const client = getRpcClient(transport, { topic: 't' });
  await assert.rejects(client.call({}, 'm'), ConfigurationError);
  await assert.rejects(client.cast({}, 'm'), ConfigurationError);
  const server = getRpcServer(transport, { topic: 't', server: 's' }, [{}]);
  await assert.rejects(server.start(), ConfigurationError);
  assert.equal(server.state, 'new');
});

test('transport - after cleanup every operation rejects with TransportClosed, a MessageDeliveryFailure', async () => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  const client = getRpcClient(transport, { topic: 't' });
  await transport.cleanup();
  assert.equal(transport.closed, true);
  assert.equal(transport.status, 'closed');
  for (const attempt of [
    client.call({}, 'm'),
    client.cast({}, 'm'),
    new Notifier(transport, { driver: 'messagingv2' }).info({}, 'e', 1).then(() => {
      throw new TransportClosed();
    }),
    getRpcServer(transport, { topic: 't', server: 's' }, [{}]).start(),
  ]) {
    await assert.rejects(attempt, (err: unknown) => {
      assert.ok(err instanceof TransportClosed);
      assert.ok(err instanceof MessageDeliveryFailure);
      assert.equal(err.message, 'The transport is closed: it was cleaned up');
      return true;
    });
  }
});

test('transport - cleanup() stops running servers and listeners: none reports running', async () => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  const server = getRpcServer(transport, { topic: 't', server: 's' }, [{ m: () => 1 }]);
  const listener = getNotificationListener(
    transport,
    [new Target({ topic: 'n' })],
    [{ info() {} }],
  );
  await server.start();
  await listener.start();
  assert.equal(server.state, 'running');
  await transport.cleanup();
  assert.notEqual(server.state, 'running');
  assert.notEqual(listener.state, 'running');
  // wait() finishes: nothing is left to wait for.
  await server.wait(5000);
  await listener.wait(5000);
  assert.equal(server.state, 'new');
});

test('transport - a call waiting for its reply rejects with TransportClosed on cleanup', async () => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  const entered = deferred();
  const server = getRpcServer(transport, { topic: 't', server: 's' }, [
    {
      slow: async () => {
        entered.resolve();
        await sleep(60_000);
      },
    },
  ]);
  await server.start();
  const pending = getRpcClient(transport, { topic: 't' }).call({}, 'slow');
  await entered.promise;
  await transport.cleanup();
  await assert.rejects(pending, TransportClosed);
});

test('transport - status and events: idle, connected on first use, closed after cleanup', async () => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  const seen: TransportStatus[] = [];
  transport.on('status', (status) => seen.push(status));
  let closed = 0;
  transport.on('closed', () => closed++);
  assert.equal(transport.status, 'idle');
  await getRpcClient(transport, { topic: 't' }).cast({}, 'm');
  assert.equal(transport.status, 'connected');
  await transport.cleanup();
  await transport.cleanup();
  assert.deepEqual(seen, ['connected', 'closed']);
  assert.equal(closed, 1);
});

test('transport - hooks write headers on send and read them on delivery', async (t) => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  t.after(() => transport.cleanup());
  const outcomes: string[] = [];
  const delivered: string[] = [];
  transport._addHook({
    onSend: ({ kind, headers }) => {
      headers['x-test'] = `sent-by-${kind}`;
      return (error) => outcomes.push(`${kind}:${error === undefined ? 'ok' : 'failed'}`);
    },
    onDeliver: ({ kind, message }) => {
      delivered.push(`${kind}:${message.headers['x-test'] ?? 'none'}`);
      return undefined;
    },
  });
  const server = getRpcServer(transport, { topic: 't', server: 's' }, [{ m: () => 1 }]);
  await server.start();
  t.after(() => server.close());
  assert.equal(await getRpcClient(transport, { topic: 't' }).call({}, 'm'), 1);
  assert.deepEqual(outcomes, ['reply:ok', 'call:ok']);
  assert.deepEqual(delivered, ['rpc:sent-by-call']);
});

test('server - start() takes a signal: aborting rejects with its reason and leaves nothing running', async (t) => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  t.after(() => transport.cleanup());
  const server = getRpcServer(transport, { topic: 't', server: 's' }, [{}]);
  const aborted = AbortSignal.abort(new Error('not now'));
  await assert.rejects(server.start({ signal: aborted }), /not now/);
  assert.equal(server.state, 'new');
  const controller = new AbortController();
  const starting = server.start({ signal: controller.signal });
  controller.abort(new Error('changed my mind'));
  await assert.rejects(starting, /changed my mind/);
  await server.wait(5000);
  assert.notEqual(server.state, 'running');
});

test('server - wait() takes a timeout or a signal and stops waiting, not the server', async (t) => {
  const transport = getRpcTransport(uniqueFakeUrl(), { logger: silentLogger });
  t.after(() => transport.cleanup());
  const rpc = getRpcServer(transport, { topic: 't', server: 's' }, [{}]);
  await rpc.start();
  // Nobody called stop(): wait() waits, and its bounds end the wait.
  await assert.rejects(rpc.wait({ timeout: 20 }), TaskTimeout);
  await assert.rejects(rpc.wait({ signal: AbortSignal.abort(new Error('bored')) }), /bored/);
  assert.equal(rpc.state, 'running');
  await rpc.close();
});

test('notifier - sends take a signal: an aborted send rejects with the signal reason', async (t) => {
  const transport = getNotificationTransport(uniqueFakeUrl(), { logger: silentLogger });
  t.after(() => transport.cleanup());
  const notifier = new Notifier(transport, { driver: 'messagingv2' });
  await assert.rejects(
    notifier.info({}, 'e', 1, { signal: AbortSignal.abort(new Error('stop')) }),
    /stop/,
  );
  assert.throws(() => new Notifier(transport, { driver: 'messagingv2', timeout: -1 }), {
    name: 'ConfigurationError',
  });
  assert.equal(new Notifier(transport).timeout, 60_000, 'rpc_response_timeout by default');
});
