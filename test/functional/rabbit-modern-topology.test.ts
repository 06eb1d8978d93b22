/**
 * RabbitMQ 4.x readiness, seen from the broker: under the modern options (quorum queues,
 * transient quorum queues, stream fanout, the queue manager) a full run of RPC (call,
 * cast, fanout), notifications and listeners (plain and pooled) leaves no non-durable
 * non-exclusive queue (RabbitMQ 4.3 refuses them by default) and nothing that relies on
 * mirroring (`x-ha-policy`; RabbitMQ 4.0 removed classic mirrored queues). RabbitMQ 4
 * itself cannot run here, so this reads `rabbitmqctl list_queues name durable exclusive
 * auto_delete type arguments` on the local 3.10 broker instead.
 *
 * Also upstream HEAD's fallback when a control exchange already exists non-durable and
 * this side is configured durable: it declares non-durable instead of failing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  getNotificationListener,
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Notifier,
  Target,
} from '../../src/index.js';
import {
  TRANSPORT_URL,
  deleteAll,
  eventually,
  listExchanges,
  listQueues,
  rawChannel,
  testLogger,
  uniqueName,
} from './rabbit-test-helpers.js';

const MODERN = {
  rabbit_quorum_queue: 'true',
  rabbit_transient_quorum_queue: 'true',
  rabbit_stream_fanout: 'true',
  rabbit_qos_prefetch_count: '10',
  use_queue_manager: 'true',
};

void test(
  'modern options - a full RPC, notification and listener run declares only durable quorum queues and streams, and no mirroring',
  {
    timeout: 90_000,
  },
  async (t) => {
    const base = uniqueName('r4');
    const exchange = `${base}_ctl`;
    const topic = `${base}_rpc`;
    const notifTopic = `${base}_notif`;
    const pool = `${base}_pool`;
    const conf = {
      DEFAULT: { transport_url: TRANSPORT_URL, control_exchange: exchange },
      oslo_messaging_rabbit: { ...MODERN, hostname: base, processname: 'node' },
    };
    const mine = (name: string): boolean =>
      name.startsWith(base) || name.startsWith(`reply_${base}`);
    t.after(async () => {
      const queues = (await listQueues()).map((q) => q.name).filter(mine);
      const exchanges = (await listExchanges()).map((e) => e.name).filter(mine);
      await deleteAll(queues, exchanges);
    });

    const rpcTransport = getRpcTransport(conf, { logger: testLogger });
    const notifTransport = getNotificationTransport(conf, { logger: testLogger });
    t.after(() => rpcTransport.cleanup());
    t.after(() => notifTransport.cleanup());
    const got: string[] = [];
    const server = getRpcServer(rpcTransport, { topic, server: 's1' }, [
      {
        echo: (_c: unknown, args: { v: string }) => {
          got.push(args.v);
          return args.v;
        },
      },
    ]);
    t.after(() => server.close());
    await server.start();
    const notified: string[] = [];
    const endpoint = {
      info: (_c: unknown, _p: string | null, eventType: string) => {
        notified.push(eventType);
      },
    };
    const listener = getNotificationListener(
      notifTransport,
      [new Target({ topic: notifTopic })],
      [endpoint],
    );
    const pooled = getNotificationListener(
      notifTransport,
      [new Target({ topic: notifTopic })],
      [endpoint],
      { pool },
    );
    t.after(() => listener.close());
    t.after(() => pooled.close());
    await listener.start();
    await pooled.start();

    const client = getRpcClient(rpcTransport, { topic }, { timeout: 20_000 });
    assert.equal(await client.call({}, 'echo', { v: 'call' }), 'call');
    assert.equal(
      await client.prepare({ server: 's1' }).call({}, 'echo', { v: 'direct' }),
      'direct',
    );
    await client.cast({}, 'echo', { v: 'cast' });
    await client.prepare({ fanout: true }).cast({}, 'echo', { v: 'fanout' });
    const notifier = new Notifier(notifTransport, {
      publisherId: 'r4',
      driver: 'messagingv2',
      topics: [notifTopic],
    });
    await notifier.info({}, 'r4.event', { n: 1 });
    await eventually(
      () => got.length === 4 && notified.length === 2,
      20_000,
      'every message handled',
    );

    const queues = (await listQueues()).filter((q) => mine(q.name));
    const byName = new Map(queues.map((q) => [q.name, q]));
    // What was declared, by kind: RPC topic and server queues, the fanout stream, the
    // reply queue named by the queue manager, notification and pool queues.
    for (const name of [
      topic,
      `${topic}.s1`,
      `${topic}_fanout`,
      `reply_${base}:node:1`,
      `${notifTopic}.info`,
      pool,
    ]) {
      assert.ok(byName.has(name), `${name} was declared; got ${[...byName.keys()].join(', ')}`);
    }
    for (const q of queues) {
      const row = JSON.stringify(q);
      assert.ok(q.durable || q.exclusive, `no non-durable non-exclusive queue: ${row}`);
      assert.ok(!('x-ha-policy' in q.arguments), `no mirroring: ${row}`);
      assert.ok(q.type === 'quorum' || q.type === 'stream', `quorum or stream: ${row}`);
    }
    assert.equal(byName.get(`${topic}_fanout`)?.type, 'stream');
    assert.equal(byName.get(`reply_${base}:node:1`)?.type, 'quorum');
    const exchanges = (await listExchanges()).filter((e) => mine(e.name));
    for (const e of exchanges) assert.equal(e.durable, true, JSON.stringify(e));
  },
);

void test(
  'durable fallback - a durable-configured server and client join a control exchange that exists non-durable, as HEAD does',
  {
    timeout: 60_000,
  },
  async (t) => {
    const base = uniqueName('fb');
    const exchange = `${base}_ctl`;
    const topic = `${base}_rpc`;
    const raw = await rawChannel();
    t.after(async () => {
      const queues = (await listQueues()).map((q) => q.name).filter((n) => n.startsWith(base));
      await deleteAll(queues, [exchange, `${topic}_fanout`]);
    });
    t.after(() => raw.close());
    // A service with the default options declared it first.
    await raw.channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });

    const conf = {
      DEFAULT: { transport_url: TRANSPORT_URL, control_exchange: exchange },
      oslo_messaging_rabbit: { amqp_durable_queues: 'true' },
    };
    const transport = getRpcTransport(conf, { logger: testLogger });
    t.after(() => transport.cleanup());
    const server = getRpcServer(transport, { topic, server: 's1' }, [
      { echo: (_c: unknown, args: { v: string }) => args.v },
    ]);
    t.after(() => server.close());
    await server.start();
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    assert.equal(await client.call({}, 'echo', { v: 'through' }), 'through');
    const topicQueue = (await listQueues()).find((q) => q.name === topic);
    assert.equal(topicQueue?.durable, false, 'the topic queue fell back to non-durable');
    const declared = (await listExchanges()).find((e) => e.name === exchange);
    assert.deepEqual([declared?.durable, declared?.auto_delete], [false, false]);
  },
);
