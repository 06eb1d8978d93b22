/**
 * Interop under the RabbitMQ options that change declarations or bodies (spec §7): both
 * sides configured alike declare the same exchanges and queues (a mismatch would make
 * the broker refuse with 406 PRECONDITION_FAILED) and read each other's messages.
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
import { Inbox, InteropScope } from './helpers.js';

type Dict = Record<string, unknown>;

const CTXT: Dict = { user_id: 'u-1', project_id: 'p-1', request_id: 'req-variant' };
const PAYLOAD: Dict = {
  text: 'café ☃ 😀 '.repeat(50),
  nested: { list: [1, 2.5, null, { k: 'ü' }] },
};

const VARIANTS: { name: string; rabbit: Record<string, string> }[] = [
  { name: 'amqp_durable_queues', rabbit: { amqp_durable_queues: 'true' } },
  { name: 'amqp_auto_delete', rabbit: { amqp_auto_delete: 'true' } },
  {
    name: 'rabbit_quorum_queue with a delivery limit',
    rabbit: { rabbit_quorum_queue: 'true', rabbit_quorum_delivery_limit: '5' },
  },
  {
    name: 'rabbit_ha_queues with a short transient TTL',
    rabbit: { rabbit_ha_queues: 'true', rabbit_transient_queues_ttl: '600' },
  },
  { name: 'kombu_compression=gzip', rabbit: { kombu_compression: 'gzip' } },
  { name: 'rabbit_qos_prefetch_count', rabbit: { rabbit_qos_prefetch_count: '10' } },
];

for (const variant of VARIANTS) {
  test(
    `variant ${variant.name}: RPC and notifications work both ways`,
    { timeout: 60_000 },
    async (t) => {
      const scope = new InteropScope(t);
      const pyOpts = Object.entries(variant.rabbit).flatMap(([k, v]) => [
        '--rabbit-opt',
        `${k}=${v}`,
      ]);
      const conf = scope.conf({ oslo_messaging_rabbit: variant.rabbit });
      const rpcTopic = scope.name('rpc');
      const notifTopic = scope.name('notif');
      const pyPool = scope.pool('pool_py');
      scope.trackRpcTopic(rpcTopic, ['py', 'ts']);
      scope.trackNotificationTopic(notifTopic);

      // Python first: then our declarations must match what already exists.
      const [pyServer, pyClient, pyListener, pyNotifier] = await Promise.all([
        scope.peer('rpc-server', ['--topic', rpcTopic, '--server', 'py', ...pyOpts]),
        scope.peer('rpc-client', ['--topic', rpcTopic, ...pyOpts]),
        scope.peer('listener', ['--topics', notifTopic, '--pool', pyPool, ...pyOpts]),
        scope.peer('notifier', pyOpts),
      ]);

      const rpcTransport = getRpcTransport(conf);
      const notifTransport = getNotificationTransport(conf);
      scope.defer(() => rpcTransport.cleanup());
      scope.defer(() => notifTransport.cleanup());
      const served = new Inbox<Dict>('TS RPC server');
      const server = getRpcServer(
        rpcTransport,
        { topic: rpcTopic, server: 'ts' },
        [
          {
            echo: (ctxt: Dict, args: Dict) => {
              served.push(args);
              return { server: 'ts', args, ctxt };
            },
            record: (_ctxt: Dict, args: Dict) => {
              served.push(args);
            },
          },
        ],
        { executor: 'threading' },
      );
      scope.defer(() => server.close());
      await server.start();
      const notified = new Inbox<{ eventType: string; payload: unknown }>('TS listener');
      const listener = getNotificationListener(
        notifTransport,
        [new Target({ topic: notifTopic })],
        [
          {
            info: (
              _ctxt: unknown,
              _publisherId: string | null,
              eventType: string,
              payload: unknown,
            ) => {
              notified.push({ eventType, payload });
            },
          },
        ],
        { executor: 'threading' },
      );
      scope.defer(() => listener.close());
      await listener.start();

      // TS client -> Python server, Python client -> TS server.
      const client = getRpcClient(rpcTransport, { topic: rpcTopic }, { timeout: 20_000 });
      const fromPy = (await client.prepare({ server: 'py' }).call(CTXT, 'echo', PAYLOAD)) as Dict;
      assert.deepEqual(fromPy['args'], PAYLOAD);
      assert.equal(fromPy['server'], 'py');
      const fromTs = await pyClient.request({
        op: 'call',
        method: 'echo',
        args: PAYLOAD,
        ctxt: CTXT,
        prepare: { server: 'ts' },
      });
      assert.equal(fromTs.ok, true, JSON.stringify(fromTs.error));
      assert.deepEqual((fromTs.value as Dict)['args'], PAYLOAD);

      // A TS fanout reaches both servers.
      await client.prepare({ fanout: true }).cast(CTXT, 'record', { fan: 'out' });
      await served.waitFor((args) => args['fan'] === 'out');
      await pyServer.events.waitFor(
        (e) => e.event === 'dispatch' && (e['args'] as Dict | undefined)?.['fan'] === 'out',
      );

      // Notifications both ways: TS plain listener and Python pool listener get both.
      const notifier = new Notifier(notifTransport, {
        publisherId: 'interop.ts',
        driver: 'messagingv2',
        topics: [notifTopic],
      });
      await notifier.info(CTXT, 'variant.from.ts', PAYLOAD);
      const sent = await pyNotifier.request({
        op: 'notify',
        topics: [notifTopic],
        publisher_id: 'interop.py',
        priority: 'info',
        event_type: 'variant.from.py',
        payload: PAYLOAD,
        ctxt: CTXT,
      });
      assert.equal(sent.ok, true, JSON.stringify(sent));
      const ts = await notified.waitForCount(() => true, 2);
      assert.deepEqual(ts.map((n) => n.eventType).sort(), ['variant.from.py', 'variant.from.ts']);
      for (const n of ts) assert.deepEqual(n.payload, PAYLOAD);
      const py = await pyListener.events.waitForCount((e) => e.event === 'notification', 2);
      assert.deepEqual(py.map((e) => e['event_type']).sort(), [
        'variant.from.py',
        'variant.from.ts',
      ]);
      for (const e of py) assert.deepEqual(e['payload'], PAYLOAD);
    },
  );
}
