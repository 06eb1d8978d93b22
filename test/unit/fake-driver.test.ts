import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { IncomingMessage, RpcIncomingMessage } from '../../src/drivers/driver.js';
import { fakeVirtualHost } from '../../src/drivers/fake/broker.js';
import { encodeEnvelope } from '../../src/wire/envelope.js';
import { MessageDeliveryFailure } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { Target } from '../../src/target.js';
import { getRpcClient } from '../../src/rpc/client.js';
import { getRpcServer } from '../../src/rpc/server.js';
import {
  createFakeNotificationTransport,
  createFakeTransport,
  fakeQueueDepth,
  fakeQueueNames,
  fakeVirtualHostOf,
  resetFakeBroker,
  testConfig,
} from '../../src/testing/index.js';
import { NotificationTransport, getTransport } from '../../src/transport.js';
import { runDriverContract } from '../contract/driver-contract.js';
import { driverOf, type DriverView } from '../helpers/driver-view.js';

runDriverContract('fake', () => `fake:///contract-${randomUUID()}`);

// ------------------------------------------------------------------------- fake-specific

const vhostOf = (url: string): string => new URL(url).pathname.slice(1);

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (message: string, ...args: unknown[]) =>
      void lines.push(`${level}: ${message} ${args.map(String).join(' ')}`);
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

async function fakeDriver(
  t: TestContext,
  url: string,
  logger: Logger = silentLogger,
): Promise<DriverView> {
  const transport = getTransport({}, { url, logger });
  t.after(() => transport.cleanup());
  return driverOf(transport);
}

async function collect<M extends IncomingMessage>(
  listen: Promise<{ start(cb: (m: M) => void): Promise<void> }>,
  onMessage: (m: M) => void = () => undefined,
): Promise<M[]> {
  const inbox: M[] = [];
  await (
    await listen
  ).start((m) => {
    inbox.push(m);
    onMessage(m);
  });
  return inbox;
}

async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

const topic = (): string => `fake_${randomUUID().slice(0, 8)}`;

test('fake driver - two fake:// transports in one process share a broker', async (t) => {
  const server = await fakeDriver(t, 'fake://');
  const client = await fakeDriver(t, 'fake://');
  const name = topic();
  const listener = await server.listen(new Target({ topic: name, server: 's' }), {
    maxUnsettled: 4,
  });
  t.after(() => listener.cleanup());
  await listener.start((m) => {
    void m.acknowledge().then(() => m.reply({ result: 'hello' }));
  });
  const result = await client.send(
    new Target({ topic: name }),
    {},
    { method: 'hi', args: {} },
    {
      waitForReply: true,
      timeoutMs: 2000,
    },
  );
  assert.equal(result, 'hello');
});

test('fake driver - fake:// and fake:/// are the same virtual host; fake:///other is separate', async (t) => {
  const name = topic();
  const plain = await fakeDriver(t, 'fake://');
  const slash = await fakeDriver(t, 'fake:///');
  const other = await fakeDriver(t, `fake:///other-${randomUUID()}`);
  const onPlain = await collect(
    plain.listenForNotifications(
      [{ target: new Target({ topic: name }), priority: 'info' }],
      undefined,
      { maxUnsettled: 8 },
    ),
  );
  const onOther = await collect(
    other.listenForNotifications(
      [{ target: new Target({ topic: name }), priority: 'info' }],
      undefined,
      { maxUnsettled: 8 },
    ),
  );
  await slash.sendNotification(
    new Target({ topic: name }),
    {},
    {
      message_id: randomUUID(),
      publisher_id: 'p',
      event_type: 'e',
      priority: 'INFO',
      payload: 1,
      timestamp: '2026-01-01 00:00:00',
    },
    2,
    undefined,
  );
  await until(() => onPlain.length === 1);
  await sleep(30);
  assert.equal(onOther.length, 0);
});

test('fake driver - a server sees exactly what JSON carries (dates, maps, undefined)', async (t) => {
  const url = `fake:///json-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  const inbox = await collect(
    driver.listen(new Target({ topic: name, server: 's' }), { maxUnsettled: 4 }),
  );
  await driver.send(
    new Target({ topic: name }),
    { when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)) },
    {
      method: 'm',
      args: {
        when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)),
        map: new Map([['a', 1]]),
        set: new Set([1, 2]),
        skipped: undefined,
        list: [undefined, 1],
      },
    },
    { waitForReply: false },
  );
  await until(() => inbox.length === 1);
  const [message] = inbox;
  assert.deepEqual(message?.message['args'], {
    when: '2024-05-06T07:08:09.123000',
    map: { a: 1 },
    set: [1, 2],
    list: [null, 1],
  });
  assert.deepEqual(message?.ctxt, { when: '2024-05-06T07:08:09.123000', client_timeout: null });
});

test('fake driver - requests are queued as oslo 2.0 envelopes, byte for byte as on RabbitMQ', async (t) => {
  const url = `fake:///bytes-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  // A stopped server leaves its topic queue behind, as on RabbitMQ.
  const listener = await driver.listen(new Target({ topic: name, server: 's' }), {
    maxUnsettled: 1,
  });
  await listener.start(() => undefined);
  await listener.stop();
  await listener.cleanup();
  await driver.send(
    new Target({ topic: name }),
    { user_id: 'u' },
    { method: 'm', args: { name: 'café' } },
    {
      waitForReply: false,
    },
  );
  const queue = fakeVirtualHost(vhostOf(url)).queue(name);
  assert.equal(queue?.messageCount, 1);
  const vhost = fakeVirtualHost(vhostOf(url));
  assert.ok(vhost.queue(name) !== undefined, 'the topic queue outlives its server');
  assert.equal(
    vhost.queueNames().filter((q) => q.startsWith(`${name}_fanout_`)).length,
    0,
    'the fanout queue was deleted',
  );
});

test('fake driver - notifications v1 are bare JSON, v2 are enveloped', async (t) => {
  const url = `fake:///notif-bytes-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  const base = {
    publisher_id: 'p',
    event_type: 'e',
    priority: 'INFO',
    payload: { x: 'é' },
    timestamp: '2026-01-01 00:00:00',
  };
  await driver.sendNotification(
    new Target({ topic: name }),
    { user_id: 'u' },
    { message_id: 'm1', ...base },
    1,
    undefined,
  );
  await driver.sendNotification(
    new Target({ topic: name }),
    { user_id: 'u' },
    { message_id: 'm2', ...base },
    2,
    undefined,
  );
  const queue = fakeVirtualHost(vhostOf(url)).queue(`${name}.info`);
  assert.equal(queue?.messageCount, 2);
  const bodies: string[] = [];
  const consumer = queue.consume(
    new (await import('../../src/drivers/fake/broker.js')).CreditPool(8),
    (d) => {
      bodies.push(d.message.body);
      d.ack();
    },
  );
  await until(() => bodies.length === 2);
  consumer.close();
  assert.match(
    bodies[0]!,
    /^\{"message_id": "m1", "publisher_id": "p", .*"_unique_id": "[0-9a-f]{32}", "_context_user_id": "u"\}$/,
  );
  assert.ok(bodies[0]!.includes('"payload": {"x": "\\u00e9"}'));
  assert.match(
    bodies[1]!,
    /^\{"oslo.version": "2.0", "oslo.message": "\{\\"message_id\\": \\"m2\\"/,
  );
});

test('fake driver - an undecodable message is logged and rejected, never delivered', async (t) => {
  const url = `fake:///bad-${randomUUID()}`;
  const { logger, lines } = recordingLogger();
  const driver = await fakeDriver(t, url, logger);
  const name = topic();
  const inbox = await collect(
    driver.listenForNotifications(
      [{ target: new Target({ topic: name }), priority: 'info' }],
      undefined,
      { maxUnsettled: 8 },
    ),
    (m) => void m.acknowledge(),
  );
  const vhost = fakeVirtualHost(vhostOf(url));
  vhost.publish('openstack', `${name}.info`, 'not json');
  vhost.publish('openstack', `${name}.info`, '{"oslo.version": "2.1", "oslo.message": "{}"}');
  vhost.publish('openstack', `${name}.info`, encodeEnvelope({ priority: 'INFO', payload: 'good' }));
  await until(() => inbox.length === 1);
  await sleep(20);
  assert.equal(inbox.length, 1);
  assert.equal(inbox[0]?.message['payload'], 'good');
  assert.equal(vhost.queue(`${name}.info`)?.messageCount, 0, 'bad messages are not requeued');
  assert.equal(lines.filter((l) => l.startsWith('error: Failed to process message')).length, 2);
});

test('fake driver - an RPC listener drops a duplicate _unique_id without dispatching it', async (t) => {
  const url = `fake:///dup-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  const inbox = await collect<RpcIncomingMessage>(
    driver.listen(new Target({ topic: name, server: 's' }), { maxUnsettled: 8 }),
    (m) => void m.acknowledge(),
  );
  const body = encodeEnvelope({ method: 'm', args: {}, _unique_id: 'a'.repeat(32) });
  const vhost = fakeVirtualHost(vhostOf(url));
  vhost.publish('openstack', name, body);
  vhost.publish('openstack', name, body);
  vhost.publish(
    'openstack',
    name,
    encodeEnvelope({ method: 'm', args: {}, _unique_id: 'b'.repeat(32) }),
  );
  await until(() => inbox.length === 2);
  await sleep(20);
  assert.equal(inbox.length, 2);
  assert.equal(vhost.queue(name)?.messageCount, 0);
});

test('fake driver - a notification listener records _unique_id at ack: a requeued one comes back, an acked repeat does not', async (t) => {
  const url = `fake:///dupn-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  let requeued = false;
  const inbox = await collect(
    driver.listenForNotifications(
      [{ target: new Target({ topic: name }), priority: 'info' }],
      undefined,
      { maxUnsettled: 8 },
    ),
    (m) => {
      if (!requeued) {
        requeued = true;
        void m.requeue();
      } else {
        void m.acknowledge();
      }
    },
  );
  const body = encodeEnvelope({ priority: 'INFO', payload: 1, _unique_id: 'c'.repeat(32) });
  const vhost = fakeVirtualHost(vhostOf(url));
  vhost.publish('openstack', `${name}.info`, body);
  await until(() => inbox.length === 2);
  vhost.publish('openstack', `${name}.info`, body);
  await sleep(30);
  assert.equal(inbox.length, 2);
  assert.equal(vhost.queue(`${name}.info`)?.messageCount, 0);
});

test('fake driver - delivery is never synchronous with send', async (t) => {
  const driver = await fakeDriver(t, `fake:///async-${randomUUID()}`);
  const name = topic();
  const inbox = await collect(
    driver.listen(new Target({ topic: name, server: 's' }), { maxUnsettled: 8 }),
  );
  await driver.send(
    new Target({ topic: name }),
    {},
    { method: 'm', args: {} },
    { waitForReply: false },
  );
  assert.equal(inbox.length, 0);
  await until(() => inbox.length === 1);
});

test('fake driver - competing consumers are served round-robin', async (t) => {
  const url = `fake:///rr-${randomUUID()}`;
  const a = await fakeDriver(t, url);
  const b = await fakeDriver(t, url);
  const name = topic();
  const ack = (m: RpcIncomingMessage): void => void m.acknowledge();
  const onA = await collect<RpcIncomingMessage>(
    a.listen(new Target({ topic: name, server: 'a' }), { maxUnsettled: 8 }),
    ack,
  );
  const onB = await collect<RpcIncomingMessage>(
    b.listen(new Target({ topic: name, server: 'b' }), { maxUnsettled: 8 }),
    ack,
  );
  for (let i = 0; i < 6; i++) {
    await a.send(
      new Target({ topic: name }),
      {},
      { method: 'm', args: { i } },
      { waitForReply: false },
    );
  }
  await until(() => onA.length + onB.length === 6);
  assert.equal(onA.length, 3);
  assert.equal(onB.length, 3);
});

test('fake driver - a call request expires with the call when no server takes it', async (t) => {
  const url = `fake:///expire-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  const vhost = fakeVirtualHost(vhostOf(url));
  vhost.declareExchange('openstack', 'topic');
  vhost.bindQueue(vhost.declareQueue(name), 'openstack', name);
  await driver
    .send(
      new Target({ topic: name }),
      {},
      { method: 'm', args: {} },
      { waitForReply: true, timeoutMs: 30 },
    )
    .catch(() => undefined);
  assert.equal(vhost.queue(name)?.messageCount, 0, 'expired requests are dropped');
});

test('fake driver - after cleanup() sends reject and no timer or immediate is left running', async (t) => {
  const url = `fake:///cleanup-${randomUUID()}`;
  const before = process
    .getActiveResourcesInfo()
    .filter((r) => r === 'Timeout' || r === 'Immediate').length;
  const transport = getTransport({}, { url, logger: silentLogger });
  const driver = driverOf(transport);
  const name = topic();
  const listener = await driver.listen(new Target({ topic: name, server: 's' }), {
    maxUnsettled: 2,
  });
  await listener.start(() => undefined);
  const pending = driver.send(
    new Target({ topic: name }),
    {},
    { method: 'm', args: {} },
    {
      waitForReply: true,
      timeoutMs: 60_000,
      callMonitorTimeoutMs: 30_000,
    },
  );
  await sleep(10);
  await transport.cleanup();
  await assert.rejects(pending, /cleaned up/);
  await assert.rejects(
    driver.send(
      new Target({ topic: name }),
      {},
      { method: 'm', args: {} },
      { waitForReply: false },
    ),
    MessageDeliveryFailure,
  );
  const after = process
    .getActiveResourcesInfo()
    .filter((r) => r === 'Timeout' || r === 'Immediate').length;
  assert.equal(after, before);
  const vhost = fakeVirtualHost(vhostOf(url));
  assert.deepEqual(
    vhost.queueNames().filter((q) => q.startsWith('reply_')),
    [],
    'the reply queue is gone',
  );
  t.diagnostic('ok');
});

test('fake driver - a listener requeue puts the message back at the head', async (t) => {
  const url = `fake:///head-${randomUUID()}`;
  const driver = await fakeDriver(t, url);
  const name = topic();
  const order: unknown[] = [];
  let requeuedOnce = false;
  await collect(
    driver.listenForNotifications(
      [{ target: new Target({ topic: name }), priority: 'info' }],
      undefined,
      { maxUnsettled: 1 },
    ),
    (m) => {
      order.push(m.message['payload']);
      if (m.message['payload'] === 1 && !requeuedOnce) {
        requeuedOnce = true;
        void m.requeue();
      } else {
        void m.acknowledge();
      }
    },
  );
  for (const payload of [1, 2, 3]) {
    await driver.sendNotification(
      new Target({ topic: name }),
      {},
      {
        message_id: randomUUID(),
        publisher_id: 'p',
        event_type: 'e',
        priority: 'INFO',
        payload,
        timestamp: '2026-01-01 00:00:00',
      },
      2,
      undefined,
    );
  }
  await until(() => order.length === 4);
  assert.deepEqual(order, [1, 1, 2, 3]);
});

test('fake driver - maxUnsettled must be a positive integer', async (t) => {
  const driver = await fakeDriver(t, `fake:///credit-${randomUUID()}`);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(
      driver.listen(new Target({ topic: topic(), server: 's' }), { maxUnsettled: bad }),
      RangeError,
    );
  }
});

// ------------------------------------------------------------------ oslo-messaging/testing

test('testing - createFakeTransport gives each transport its own virtual host unless told to share', async (t) => {
  const a = createFakeTransport({ logger: silentLogger });
  const b = createFakeTransport({ logger: silentLogger });
  const c = createFakeNotificationTransport({
    logger: silentLogger,
    virtualHost: fakeVirtualHostOf(a),
  });
  t.after(async () => {
    await Promise.all([a.cleanup(), b.cleanup(), c.cleanup()]);
  });
  assert.equal(a.url.driverName, 'fake');
  assert.notEqual(fakeVirtualHostOf(a), fakeVirtualHostOf(b));
  assert.equal(fakeVirtualHostOf(c), fakeVirtualHostOf(a));
  assert.ok(c instanceof NotificationTransport);

  const name = topic();
  const sent = {
    message_id: randomUUID(),
    publisher_id: 'p',
    event_type: 'e',
    priority: 'INFO',
    payload: 1,
    timestamp: '2026-01-01 00:00:00',
  };
  await driverOf(c).sendNotification(new Target({ topic: name }), {}, sent, 2, undefined);
  assert.equal(fakeQueueDepth(a, `${name}.info`), 1, 'shared virtual host');
  assert.equal(fakeQueueDepth(b, `${name}.info`), 0, 'separate virtual host');
  assert.ok(fakeQueueNames(a).includes(`${name}.info`));
  resetFakeBroker(fakeVirtualHostOf(a));
  assert.deepEqual(fakeQueueNames(a), []);
  assert.throws(() => fakeVirtualHostOf(getTransport('rabbit://h/')), TypeError);
});

test('testing - testConfig is fake:// with oslo defaults, and applies overrides by group', () => {
  const conf = testConfig();
  assert.equal(conf.defaults().transport_url, 'fake://');
  assert.equal(conf.defaults().control_exchange, 'openstack');
  const nova = testConfig({ DEFAULT: { control_exchange: 'nova', rpc_response_timeout: '5' } });
  assert.equal(nova.defaults().control_exchange, 'nova');
  assert.equal(nova.defaults().rpc_response_timeout, 5);
  assert.equal(nova.defaults().transport_url, 'fake://');
});

test('testing - the control exchange from conf routes fake RPC as on RabbitMQ', async (t) => {
  const conf = testConfig({ DEFAULT: { control_exchange: 'nova' } });
  const transport = createFakeTransport({ conf, logger: silentLogger });
  t.after(() => transport.cleanup());
  const driver = driverOf(transport);
  const name = topic();
  const listener = await driver.listen(new Target({ topic: name, server: 's' }), {
    maxUnsettled: 4,
  });
  await listener.start(() => undefined);
  await listener.stop();
  assert.ok(fakeVirtualHost(fakeVirtualHostOf(transport)).hasExchange('nova'));
});

test('testing - an RPC server and client over createFakeTransport, through the public API', async (t) => {
  const transport = createFakeTransport({ logger: silentLogger });
  t.after(() => transport.cleanup());
  const name = topic();
  const server = getRpcServer(transport, new Target({ topic: name, server: 'h1' }), [
    {
      echo: (ctxt: Record<string, unknown>, args: { text: string }) => ({
        text: args.text,
        user: ctxt['user_id'],
      }),
    },
  ]);
  await server.start();
  t.after(() => server.close());
  const client = getRpcClient(transport, new Target({ topic: name }));
  const reply = await client.call({ user_id: 'u-1' }, 'echo', { text: 'hi' });
  assert.deepEqual(reply, { text: 'hi', user: 'u-1' });
});
