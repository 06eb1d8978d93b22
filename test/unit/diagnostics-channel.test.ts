import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { test } from 'node:test';

import {
  DIAGNOSTICS_CHANNELS,
  getNotificationListener,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Notifier,
  Target,
} from '../../src/index.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';

type Message = Record<string, unknown>;

function record(t: test.TestContext): Record<keyof typeof DIAGNOSTICS_CHANNELS, Message[]> {
  const seen = {
    send: [],
    sendEnd: [],
    deliver: [],
    processEnd: [],
    status: [],
    rejected: [],
  } as Record<keyof typeof DIAGNOSTICS_CHANNELS, Message[]>;
  for (const [key, name] of Object.entries(DIAGNOSTICS_CHANNELS)) {
    const fn = (message: unknown) => seen[key as keyof typeof seen].push(message as Message);
    diagnostics.subscribe(name, fn);
    t.after(() => diagnostics.unsubscribe(name, fn));
  }
  return seen;
}

test('diagnostics_channel - a call publishes send, deliver, processEnd (with the error) and sendEnd', async (t) => {
  const seen = record(t);
  const transport = getRpcTransport(uniqueFakeUrl(), {
    logger: new RecordingLogger(),
    tracing: false,
  });
  const server = getRpcServer(transport, { topic: 'diag', server: 's1' }, [
    { echo: (_c: unknown, a: unknown) => a, boom: () => Promise.reject(new RangeError('no')) },
  ]);
  t.after(async () => {
    await server.close();
    await transport.cleanup();
  });
  await server.start();
  const client = getRpcClient(transport, { topic: 'diag' });
  await client.call({ u: 1 }, 'echo', { x: 1 });
  await assert.rejects(client.call({}, 'boom'));

  const sends = seen.send.filter((m) => m['transport'] === transport);
  assert.deepEqual(
    sends.map((m) => [m['kind'], m['destination'], m['method']]),
    [
      ['call', 'diag', 'echo'],
      ['reply', '(temporary)', undefined],
      ['call', 'diag', 'boom'],
      ['reply', '(temporary)', undefined],
    ],
  );
  const ends = seen.sendEnd.filter((m) => m['transport'] === transport && m['kind'] === 'call');
  assert.equal(ends.length, 2);
  assert.equal(ends[0]!['error'], undefined);
  assert.equal((ends[1]!['error'] as Error).name, 'RemoteError');
  assert.equal(typeof ends[0]!['durationMs'], 'number');
  const processed = seen.processEnd.filter((m) => m['transport'] === transport);
  assert.deepEqual(
    processed.map((m) => [m['kind'], (m['error'] as Error | undefined)?.name]),
    [
      ['rpc', undefined],
      ['rpc', 'RangeError'],
    ],
  );
  assert.equal(seen.deliver.filter((m) => m['transport'] === transport).length, 2);
  assert.ok(seen.status.some((m) => m['transport'] === transport && m['status'] === 'connected'));
});

test('diagnostics_channel - a notification and its requeue', async (t) => {
  const seen = record(t);
  const transport = getRpcTransport(uniqueFakeUrl(), {
    logger: new RecordingLogger(),
    tracing: false,
  });
  let calls = 0;
  const listener = getNotificationListener(
    transport,
    [new Target({ topic: 'diagn' })],
    [{ info: () => ((calls += 1) === 1 ? 'requeue' : 'handled') }],
    { allowRequeue: true },
  );
  t.after(async () => {
    await listener.close();
    await transport.cleanup();
  });
  await listener.start();
  await new Notifier(transport, { driver: 'messagingv2', topics: ['diagn'] }).info({}, 'e.t', {});
  for (let i = 0; i < 100 && calls < 2; i += 1) await new Promise((r) => setTimeout(r, 10));
  const sent = seen.send.filter((m) => m['transport'] === transport);
  assert.deepEqual(
    sent.map((m) => [m['kind'], m['destination'], m['method']]),
    [['notify', 'diagn.info', 'e.t']],
  );
  for (let i = 0; i < 100 && seen.processEnd.length < 2; i += 1) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(
    seen.processEnd.filter((m) => m['transport'] === transport).map((m) => m['requeued']),
    [true, false],
  );
});
