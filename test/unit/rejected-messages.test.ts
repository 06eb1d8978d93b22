/**
 * Malformed messages that a driver rejects are surfaced by the transport: the
 * `rejected` event, `transport.rejectedMessages`, the `rejected` diagnostics channel
 * and the `oslo_messaging_messages_rejected` OpenTelemetry counter (fake://; RabbitMQ in
 * test/functional/rabbit-bad-input.test.ts).
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { test } from 'node:test';

import { fakeVirtualHost } from '../../src/drivers/fake/broker.js';
import {
  DIAGNOSTICS_CHANNELS,
  getNotificationListener,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Target,
} from '../../src/index.js';
import { fakeVirtualHostOf, uniqueFakeUrl } from '../../src/testing/index.js';
import type { TransportEventMap } from '../../src/transport-status.js';
import { encodeEnvelope } from '../../src/wire/envelope.js';
import { installTestMetrics } from '../contract/metrics-contract.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';

const m = installTestMetrics();

type Rejected = TransportEventMap['rejected'][0];

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i += 1) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), 'condition reached');
}

test('rejected messages - counted, emitted, published and metered for RPC servers and notification listeners', async (t) => {
  const transport = getRpcTransport(uniqueFakeUrl(), {
    logger: new RecordingLogger(),
    tracing: false,
  });
  const events: Rejected[] = [];
  transport.on('rejected', (e) => void events.push(e));
  const published: Record<string, unknown>[] = [];
  const onChannel = (msg: unknown): void => void published.push(msg as Record<string, unknown>);
  diagnostics.subscribe(DIAGNOSTICS_CHANNELS.rejected, onChannel);
  const handled: string[] = [];
  const server = getRpcServer(transport, { topic: 'rej', server: 's1' }, [
    { echo: (_c: unknown, a: { v: string }) => void handled.push(a.v) },
  ]);
  const listener = getNotificationListener(
    transport,
    [new Target({ topic: 'rejn' })],
    [{ info: (_c: unknown, _p: unknown, eventType: string) => void handled.push(eventType) }],
  );
  t.after(async () => {
    diagnostics.unsubscribe(DIAGNOSTICS_CHANNELS.rejected, onChannel);
    await server.close();
    await listener.close();
    await transport.cleanup();
  });
  await server.start();
  await listener.start();
  assert.equal(transport.rejectedMessages, 0);

  const vhost = fakeVirtualHost(fakeVirtualHostOf(transport));
  vhost.publish('openstack', 'rej.s1', 'not json');
  vhost.publish('openstack', 'rej', '{"oslo.version": "2.9", "oslo.message": "{}"}');
  vhost.publish('openstack', 'rejn.info', '[1, 2]');
  // Good messages still go through, and are not counted.
  await getRpcClient(transport, { topic: 'rej' }).cast({}, 'echo', { v: 'good' });
  vhost.publish(
    'openstack',
    'rejn.info',
    encodeEnvelope({ priority: 'INFO', event_type: 'ok.event', payload: {}, publisher_id: 'p' }),
  );
  await until(() => handled.length === 2 && events.length === 3);

  assert.equal(transport.rejectedMessages, 3);
  assert.deepEqual(
    events.map((e) => [e.kind, e.exchange, e.routingKey, e.connection]),
    [
      ['rpc', 'openstack', 'rej.s1', 'fake'],
      ['rpc', 'openstack', 'rej', 'fake'],
      ['notification', 'openstack', 'rejn.info', 'fake'],
    ],
  );
  assert.ok(events.every((e) => e.reason instanceof Error));
  assert.equal(events[1]!.reason.name, 'UnsupportedRpcEnvelopeVersion');
  assert.deepEqual(
    published.filter((p) => p['transport'] === transport).map((p) => p['routingKey']),
    ['rej.s1', 'rej', 'rejn.info'],
  );
  const points = await m.points('oslo_messaging_messages_rejected');
  const mine = points.filter((p) => p.attributes['transport'] === String(transport.url));
  assert.deepEqual(mine.map((p) => [p.attributes['kind'], p.value]).sort(), [
    ['notification', 1],
    ['rpc', 2],
  ]);
  // The status is untouched by rejections.
  assert.equal(transport.status, 'connected');
});

test('rejected messages - an undecodable reply on the caller side is counted as kind "reply"', async (t) => {
  const transport = getRpcTransport(uniqueFakeUrl(), {
    logger: new RecordingLogger(),
    tracing: false,
  });
  const events: Rejected[] = [];
  transport.on('rejected', (e) => void events.push(e));
  const server = getRpcServer(transport, { topic: 'rejr', server: 's1' }, [
    { echo: (_c: unknown, a: unknown) => a },
  ]);
  t.after(async () => {
    await server.close();
    await transport.cleanup();
  });
  await server.start();
  const vhost = fakeVirtualHost(fakeVirtualHostOf(transport));
  await getRpcClient(transport, { topic: 'rejr' }).call({}, 'echo', { a: 1 });
  const replyQueue = vhost.queueNames().find((q) => q.startsWith('reply_'));
  assert.ok(replyQueue, 'the caller has a reply queue');
  vhost.publish('', replyQueue, 'garbage');
  await until(() => events.length === 1);
  assert.equal(events[0]!.kind, 'reply');
  assert.equal(events[0]!.routingKey, replyQueue);
  assert.equal(transport.rejectedMessages, 1);
});
