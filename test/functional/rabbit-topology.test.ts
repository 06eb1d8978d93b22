/**
 * What the rabbit driver declares on the real broker, inspected with rabbitmqctl after
 * an RPC server, a plain and a pooled notification listener, a call and a notification
 * nobody listens to: every exchange, queue, argument, binding and consumer as oslo
 * declares it (spec §4.1, §5.3, §7), for the default options and each variant that
 * changes declarations. Then the fanout queue is gone after a clean stop.
 *
 * Each test uses its own control exchange, topics and pool (`omtr_*`), and deletes
 * everything it declared afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test, type TestContext } from 'node:test';

import { ConfigurationError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { getNotificationListener } from '../../src/notify/listener.js';
import { getRpcClient } from '../../src/rpc/client.js';
import { getRpcServer } from '../../src/rpc/server.js';
import { Target } from '../../src/target.js';
import { getRpcTransport, type Transport } from '../../src/transport.js';
import {
  TRANSPORT_URL,
  deleteAll,
  deleteByExchange,
  eventually,
  listBindings,
  listConsumers,
  listExchanges,
  listQueues,
  rabbitDriver,
  testLogger,
  uniqueName,
  type BrokerQueue,
} from './rabbit-test-helpers.js';

interface Expected {
  /** Control exchange, topic, server and notification queues. */
  durable: boolean;
  autoDelete: boolean;
  /** Arguments of topic, server, notification and pool queues. */
  sharedArgs: Record<string, unknown>;
  sharedType: 'classic' | 'quorum';
  /** Arguments of fanout and reply queues (always classic, non-durable). */
  transientArgs: Record<string, unknown>;
  /** `basic.qos` prefetch of the listeners' consumers (maxUnsettled: 2 x 64 workers). */
  prefetch: number;
  consumerArgs: unknown[];
}

const DEFAULT: Expected = {
  durable: false,
  autoDelete: false,
  sharedArgs: {},
  sharedType: 'classic',
  transientArgs: { 'x-expires': 1_800_000 },
  prefetch: 128,
  consumerArgs: [],
};

const VARIANTS: { name: string; query: string; expected: Expected }[] = [
  { name: 'default options', query: '', expected: DEFAULT },
  {
    name: 'amqp_durable_queues and rabbit_qos_prefetch_count',
    query: 'amqp_durable_queues=true&rabbit_qos_prefetch_count=10',
    expected: { ...DEFAULT, durable: true, prefetch: 10 },
  },
  {
    name: 'amqp_auto_delete',
    query: 'amqp_auto_delete=true',
    expected: { ...DEFAULT, autoDelete: true },
  },
  {
    name: 'rabbit_ha_queues and rabbit_transient_queues_ttl',
    query: 'rabbit_ha_queues=true&rabbit_transient_queues_ttl=600',
    expected: {
      ...DEFAULT,
      sharedArgs: { 'x-ha-policy': 'all' },
      transientArgs: { 'x-ha-policy': 'all', 'x-expires': 600_000 },
    },
  },
  {
    name: 'rabbit_quorum_queue with delivery limit and memory limits',
    query:
      'rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=5' +
      '&rabbit_quroum_max_memory_length=100&rabbit_quroum_max_memory_bytes=1048576',
    expected: {
      ...DEFAULT,
      durable: true,
      sharedType: 'quorum',
      sharedArgs: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': 5,
        'x-max-in-memory-length': 100,
        'x-max-in-memory-bytes': 1_048_576,
      },
    },
  },
  {
    name: 'enable_cancel_on_failover',
    query: 'enable_cancel_on_failover=true',
    expected: { ...DEFAULT, consumerArgs: [['x-cancel-on-ha-failover', 'bool', true]] },
  },
];

function assertQueue(
  queues: BrokerQueue[],
  name: string,
  flags: { durable: boolean; autoDelete: boolean; args: Record<string, unknown>; type?: string },
): BrokerQueue {
  const queue = queues.find((q) => q.name === name);
  assert.ok(queue, `queue ${name} exists`);
  assert.equal(queue.durable, flags.durable, `${name} durable`);
  assert.equal(queue.auto_delete, flags.autoDelete, `${name} auto_delete`);
  // rabbitmqctl shows '' for quorum queues, which can't be exclusive.
  assert.notEqual(queue.exclusive, true, `${name} exclusive`);
  assert.deepEqual(queue.arguments, flags.args, `${name} arguments`);
  if (flags.type !== undefined) assert.equal(queue.type, flags.type, `${name} type`);
  return queue;
}

async function setUp(t: TestContext, query: string) {
  const exchange = uniqueName('topo');
  const topic = uniqueName('topo_rpc');
  const notifTopic = uniqueName('topo_n');
  const lonelyTopic = uniqueName('topo_lonely');
  const pool = uniqueName('topo_pool');
  const url = query === '' ? TRANSPORT_URL : `${TRANSPORT_URL}?${query}`;
  const transports: Transport[] = [];
  const transport = (): Transport => {
    const tr = getRpcTransport(
      { DEFAULT: { control_exchange: exchange } },
      { url, logger: testLogger },
    );
    transports.push(tr);
    return tr;
  };
  const serverTransport = transport();
  const clientTransport = transport();
  t.after(async () => {
    const replyQueue = (await rabbitDriver(clientTransport)).replyQueueName;
    for (const tr of transports) await tr.cleanup();
    await deleteByExchange(exchange, [`${topic}_fanout_`]);
    await deleteAll(replyQueue === undefined ? [] : [replyQueue], [`${topic}_fanout`]);
  });

  const rpcServer = getRpcServer(serverTransport, { topic, server: 's1' }, [
    { echo: (_ctxt: unknown, args: Record<string, unknown>) => args },
  ]);
  const endpoint = { info: () => undefined, error: () => undefined };
  const plain = getNotificationListener(
    serverTransport,
    [new Target({ topic: notifTopic })],
    [endpoint],
  );
  const pooled = getNotificationListener(
    serverTransport,
    [new Target({ topic: notifTopic })],
    [endpoint],
    {
      pool,
    },
  );
  const servers = [rpcServer, plain, pooled];
  t.after(async () => {
    for (const server of servers) await server.close();
  });
  await Promise.all(servers.map((s) => s.start()));

  const client = getRpcClient(clientTransport, { topic });
  assert.deepEqual(await client.call({}, 'echo', { x: 1 }), { x: 1 });

  // The notifier declares and binds <topic>.<priority> itself, listener or not.
  const driver = driverOf(clientTransport);
  await driver.sendNotification(
    new Target({ topic: lonelyTopic }),
    {},
    {
      message_id: '7c6b2d0e-5d0b-4b7e-9a8e-2f8f3c1d9e10',
      publisher_id: 'omtr.host',
      event_type: 'omtr.event',
      priority: 'ERROR',
      payload: {},
      timestamp: '2026-11-29 05:04:52.838860',
    },
    2,
    undefined,
  );
  const rpcDriver = await rabbitDriver(serverTransport);
  return { exchange, topic, notifTopic, lonelyTopic, pool, rpcServer, rpcDriver, clientTransport };
}

for (const { name, query, expected } of VARIANTS) {
  test(`rabbit topology - ${name}: every exchange, queue, binding and consumer as oslo declares it`, async (t) => {
    const env = await setUp(t, query);
    const { exchange, topic, notifTopic, lonelyTopic, pool } = env;
    const replyQueue = (await rabbitDriver(env.clientTransport)).replyQueueName;
    assert.ok(replyQueue !== undefined && /^reply_[0-9a-f]{32}$/.test(replyQueue), 'reply_<hex32>');

    const [queues, exchanges, bindings, consumers] = await Promise.all([
      listQueues(),
      listExchanges(),
      listBindings(),
      listConsumers(),
    ]);

    // Control exchange: topic, D, A. Fanout exchange: always <topic>_fanout, non-durable, auto-delete.
    assert.deepEqual(
      exchanges.find((x) => x.name === exchange),
      {
        name: exchange,
        type: 'topic',
        durable: expected.durable,
        auto_delete: expected.autoDelete,
      },
    );
    assert.deepEqual(
      exchanges.find((x) => x.name === `${topic}_fanout`),
      { name: `${topic}_fanout`, type: 'fanout', durable: false, auto_delete: true },
    );

    const shared = {
      durable: expected.durable,
      autoDelete: expected.autoDelete,
      args: expected.sharedArgs,
      type: expected.sharedType,
    };
    const transient = {
      durable: false,
      autoDelete: false,
      args: expected.transientArgs,
      type: 'classic',
    };
    assertQueue(queues, topic, shared);
    assertQueue(queues, `${topic}.s1`, shared);
    const fanoutQueues = queues.filter((q) => q.name.startsWith(`${topic}_fanout_`));
    assert.equal(fanoutQueues.length, 1, 'one fanout queue per server');
    const fanoutQueue = fanoutQueues[0]!.name;
    assert.match(fanoutQueue, new RegExp(`^${topic}_fanout_[0-9a-f]{32}$`));
    assertQueue(queues, fanoutQueue, transient);
    assertQueue(queues, replyQueue, transient);
    // The listener implements info and error: one queue per priority, plus the pool.
    assertQueue(queues, `${notifTopic}.info`, shared);
    assertQueue(queues, `${notifTopic}.error`, shared);
    assert.equal(
      queues.some((q) => q.name === `${notifTopic}.warn`),
      false,
      'only implemented priorities',
    );
    assertQueue(queues, pool, shared);
    const lonely = assertQueue(queues, `${lonelyTopic}.error`, shared);
    if (expected.sharedType === 'classic')
      assert.equal(lonely.messages, 1, 'kept for a listener to come');

    const bindingsOf = (queue: string) =>
      bindings
        .filter((b) => b.destination_name === queue && b.source_name !== '')
        .map((b) => `${b.source_name} ${b.routing_key}`)
        .sort();
    assert.deepEqual(bindingsOf(topic), [`${exchange} ${topic}`]);
    assert.deepEqual(bindingsOf(`${topic}.s1`), [`${exchange} ${topic}.s1`]);
    assert.deepEqual(bindingsOf(fanoutQueue), [`${topic}_fanout ${topic}`]);
    assert.deepEqual(
      bindingsOf(replyQueue),
      [],
      'no explicit binding: the default exchange routes it',
    );
    assert.deepEqual(bindingsOf(`${notifTopic}.info`), [`${exchange} ${notifTopic}.info`]);
    assert.deepEqual(bindingsOf(pool), [
      `${exchange} ${notifTopic}.error`,
      `${exchange} ${notifTopic}.info`,
    ]);
    assert.deepEqual(bindingsOf(`${lonelyTopic}.error`), [`${exchange} ${lonelyTopic}.error`]);

    // One consumer per queue (the pool too, though bound twice); acks required.
    const consumersOf = (queue: string) => consumers.filter((c) => c.queue_name === queue);
    for (const queue of [
      topic,
      `${topic}.s1`,
      fanoutQueue,
      `${notifTopic}.info`,
      `${notifTopic}.error`,
      pool,
    ]) {
      const list = consumersOf(queue);
      assert.equal(list.length, 1, `one consumer on ${queue}`);
      assert.equal(list[0]!.ack_required, true);
      assert.equal(list[0]!.prefetch_count, expected.prefetch, `prefetch on ${queue}`);
      assert.deepEqual(list[0]!.arguments, expected.consumerArgs, `consumer arguments on ${queue}`);
    }
    const reply = consumersOf(replyQueue);
    assert.equal(reply.length, 1);
    // The reply connection sends basic.qos only when a prefetch is configured (oslo).
    assert.equal(reply[0]!.prefetch_count, query.includes('prefetch') ? 10 : 0);

    // A clean stop deletes the server's fanout queue (and so its auto-delete exchange);
    // the topic and server queues stay, unless they are auto-delete.
    await env.rpcServer.close();
    await eventually(
      async () => !(await listQueues()).some((q) => q.name === fanoutQueue),
      5000,
      'the fanout queue to be deleted',
    );
    const after = await listQueues();
    for (const queue of [topic, `${topic}.s1`]) {
      if (expected.autoDelete) {
        assert.equal(
          after.some((q) => q.name === queue),
          false,
          `${queue} went with its consumer`,
        );
      } else {
        assert.ok(
          after.some((q) => q.name === queue),
          `${queue} stays`,
        );
      }
    }
    assert.equal(
      (await listExchanges()).some((x) => x.name === `${topic}_fanout`),
      false,
      'the auto-delete fanout exchange went with its last queue',
    );
  });
}

test('rabbit topology - an RPC server consumes in oslo order: tags 1, 2, 3 on topic, topic.server, fanout', async (t) => {
  const env = await setUp(t, '');
  const consumers = await listConsumers();
  const tags = consumers
    .filter((c) => c.queue_name.startsWith(env.topic))
    .map(
      (c) => `${c.queue_name.replace(/_fanout_[0-9a-f]{32}$/, '_fanout_<hex>')} ${c.consumer_tag}`,
    )
    .sort();
  assert.deepEqual(tags, [`${env.topic} 1`, `${env.topic}.s1 2`, `${env.topic}_fanout_<hex> 3`]);
});

// A Python oslo.messaging service (Debian's 14.0.3) on the same names and options: it
// starts an RPC server, a plain and a pooled notification listener, and notifies once.
const PYTHON_SERVICE = `
import json, sys
from oslo_config import cfg
import oslo_messaging as om
a = json.loads(sys.argv[1])
conf = cfg.ConfigOpts()
conf([])
om.set_transport_defaults(a['exchange'])
transport = om.get_rpc_transport(conf, url=a['url'])
class Ep:
    def echo(self, ctxt, **kw):
        return kw
class NEp:
    def info(self, *args): pass
    def error(self, *args): pass
ntr = om.get_notification_transport(conf, url=a['url'])
servers = [
    om.get_rpc_server(transport, om.Target(topic=a['topic'], server=a['server']), [Ep()], executor='threading'),
    om.get_notification_listener(ntr, [om.Target(topic=a['ntopic'])], [NEp()], executor='threading'),
    om.get_notification_listener(ntr, [om.Target(topic=a['ntopic'])], [NEp()], executor='threading', pool=a['pool']),
]
try:
    for s in servers:
        s.start()
    om.Notifier(ntr, publisher_id='py', driver='messagingv2', topics=[a['ntopic']]).info({}, 'py.event', {'n': 1})
    print('READY', flush=True)
except Exception as e:
    print('FAILED', type(e).__name__, e, flush=True)
    sys.exit(1)
sys.stdin.read()
for s in servers:
    s.stop()
    s.wait()
`;
import { driverOf } from '../helpers/driver-view.js';

/** Starts the Python service; resolves with its first line (READY or FAILED ...) and a stop function. */
async function pythonService(
  args: Record<string, string>,
): Promise<{ line: string; stop(): Promise<void> }> {
  const child = spawn('/usr/bin/python3', ['-c', PYTHON_SERVICE, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(`TIMEOUT ${stderr.slice(-500)}`), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out === '' ? `EXITED ${stderr.slice(-500)}` : out);
    });
  });
  return {
    line,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const INTEROP_VARIANTS = [
  '',
  'amqp_durable_queues=true',
  'amqp_auto_delete=true',
  'rabbit_ha_queues=true&rabbit_transient_queues_ttl=600',
  'rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=5&rabbit_quroum_max_memory_length=100',
];

for (const query of INTEROP_VARIANTS) {
  for (const pythonFirst of [true, false]) {
    const label = query === '' ? 'default options' : query;
    const order = pythonFirst ? 'after' : 'before';
    test(`rabbit topology - ${label}: our declarations match a Python oslo service started ${order} us (no 406)`, async (t) => {
      const exchange = uniqueName('topo_py');
      const names = {
        exchange,
        topic: uniqueName('topo_py_rpc'),
        server: 's1',
        ntopic: uniqueName('topo_py_n'),
        pool: uniqueName('topo_py_pool'),
      };
      const url = query === '' ? TRANSPORT_URL : `${TRANSPORT_URL}?${query}`;
      const transport = getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url, logger: testLogger },
      );
      const pythons: { stop(): Promise<void> }[] = [];
      const ours: { close(): Promise<void> }[] = [];
      t.after(async () => {
        for (const server of ours) await server.close();
        for (const python of pythons) await python.stop();
        const replyQueue = (await rabbitDriver(transport)).replyQueueName;
        await transport.cleanup();
        await deleteByExchange(exchange, [`${names.topic}_fanout_`]);
        await deleteAll(replyQueue === undefined ? [] : [replyQueue], [`${names.topic}_fanout`]);
      });
      const startPython = async (): Promise<void> => {
        const python = await pythonService({ ...names, url });
        pythons.push(python);
        assert.equal(python.line, 'READY', 'the Python service started');
      };
      const startOurs = async (): Promise<void> => {
        const endpoint = { info: () => undefined, error: () => undefined };
        const target = new Target({ topic: names.ntopic });
        const servers = [
          getRpcServer(transport, { topic: names.topic, server: names.server }, [
            { echo: (_ctxt: unknown, args: Record<string, unknown>) => args },
          ]),
          getNotificationListener(transport, [target], [endpoint]),
          getNotificationListener(transport, [target], [endpoint], { pool: names.pool }),
        ];
        ours.push(...servers);
        for (const server of servers) await server.start();
      };
      if (pythonFirst) await startPython();
      await startOurs();
      if (!pythonFirst) await startPython();
      // Both serve the same queues: the call is answered by one of them.
      const client = getRpcClient(
        transport,
        { topic: names.topic, server: names.server },
        { timeout: 10_000 },
      );
      assert.deepEqual(await client.call({}, 'echo', { x: 7 }), { x: 7 });
      // Our notifier declares <topic>.info as the Python notifier did.
      const driver = driverOf(transport);
      await driver.sendNotification(
        new Target({ topic: names.ntopic }),
        {},
        {
          message_id: '5e0c0f3a-8f61-4f0e-a4f4-b2a7f2a1c3d4',
          publisher_id: 'omtr.host',
          event_type: 'omtr.event',
          priority: 'INFO',
          payload: {},
          timestamp: '2026-11-29 05:04:52',
        },
        2,
        undefined,
      );
    });
  }
}

test('rabbit topology - rabbit_quorum_queue together with rabbit_ha_queues is a ConfigurationError', () => {
  assert.throws(
    () =>
      getRpcTransport(
        {},
        {
          url: `${TRANSPORT_URL}?rabbit_quorum_queue=true&rabbit_ha_queues=true`,
          logger: silentLogger,
        },
      ),
    ConfigurationError,
  );
});

test('rabbit topology - kombu_compression=bz2 is refused with a ConfigurationError when the transport is made', () => {
  assert.throws(
    () =>
      getRpcTransport({}, { url: `${TRANSPORT_URL}?kombu_compression=bz2`, logger: silentLogger }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigurationError, String(err));
      assert.match(err.message, /bz2/);
      return true;
    },
  );
});
