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
 * this side is configured durable: it declares non-durable instead of failing; and a
 * server consuming the fanout stream resuming after a lost connection from the offset after
 * the last message it got, so it neither misses nor repeats a fanout cast.
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
  closeConnections,
  deleteAll,
  rabbitDriver,
  eventually,
  rabbitmqctl,
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
    // Closed before the broker objects are deleted, or the server would declare them again.
    await server.close();
    await transport.cleanup();
  },
);

void test(
  'stream fanout - after a lost connection a server resumes the stream after the last message it got',
  {
    timeout: 60_000,
  },
  async (t) => {
    const base = uniqueName('sf');
    const topic = `${base}_rpc`;
    const conf = {
      DEFAULT: { transport_url: TRANSPORT_URL, control_exchange: `${base}_ctl` },
      oslo_messaging_rabbit: {
        rabbit_transient_quorum_queue: 'true',
        rabbit_stream_fanout: 'true',
        rabbit_qos_prefetch_count: '1',
        kombu_reconnect_delay: '0.1',
      },
    };
    t.after(async () => {
      const queues = (await listQueues()).map((q) => q.name).filter((n) => n.startsWith(base));
      const exchanges = (await listExchanges())
        .map((e) => e.name)
        .filter((n) => n.startsWith(base));
      await deleteAll(queues, exchanges);
    });
    // A message delivered again would be dropped as a duplicate, with this warning.
    const duplicates: string[] = [];
    const serverTransport = getRpcTransport(conf, {
      logger: {
        ...testLogger,
        warn: (message: string, ...args: unknown[]) => {
          if (message.includes('duplicate')) duplicates.push(String(args[0]));
          testLogger.warn(message, ...args);
        },
      },
    });
    const clientTransport = getRpcTransport(conf, { logger: testLogger });
    t.after(() => serverTransport.cleanup());
    t.after(() => clientTransport.cleanup());
    const got: string[] = [];
    const server = getRpcServer(serverTransport, { topic, server: 's1' }, [
      { fan: (_c: unknown, args: { v: string }) => void got.push(args.v) },
    ]);
    t.after(() => server.close());
    await server.start();
    const fanout = getRpcClient(clientTransport, { topic }).prepare({ fanout: true });
    for (const v of ['a', 'b']) await fanout.cast({}, 'fan', { v });
    await eventually(() => got.length === 2, 10_000, 'the first two fanout casts');

    const driver = await rabbitDriver(serverTransport);
    const closed = await closeConnections(driver.connectionNames().listeners);
    assert.equal(closed, 1);
    // Back on the stream before the next cast: a consumer from "last" would get "b" again.
    // (rabbitmqctl lists no stream consumers: wait for the listener's connection instead.)
    const [listenerName = ''] = driver.connectionNames().listeners;
    await eventually(
      async () =>
        (await rabbitmqctl('list_connections', 'client_properties')).includes(listenerName),
      20_000,
      'the listener connection back',
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await fanout.cast({}, 'fan', { v: 'c' });
    await eventually(() => got.includes('c'), 20_000, 'the cast sent after the reconnect');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(got, ['a', 'b', 'c']);
    assert.deepEqual(duplicates, [], 'nothing was delivered twice');
  },
);
