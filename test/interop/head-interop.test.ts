/**
 * Interop with upstream HEAD oslo.messaging (after 18.1.0, what 2024.1+ deployments run)
 * under the two option profiles the library is tested with: classic (every default) and
 * modern (quorum queues everywhere, transient quorum queues, stream fanout, the queue
 * manager). On one topic a Python server and a TS server coexist, started in either
 * order: every declaration of one side must be accepted by the broker after the other's
 * (a mismatch is 406 PRECONDITION_FAILED). Each side then calls, casts and fans out to
 * the other, and notifications go both ways.
 *
 * Skipped, with the reason, where ../shared/peers/oslo.messaging-head is absent.
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
  type RPCServer,
} from '../../src/index.js';
import {
  SUITE_PEER,
  headPeerMissing,
  Inbox,
  InteropScope,
  PROFILES,
  rabbitOptArgs,
  type Peer,
} from './helpers.js';

type Dict = Record<string, unknown>;

const CTXT: Dict = { user_id: 'u-1', project_id: 'p-1', request_id: 'req-head' };
const PAYLOAD: Dict = { text: 'café ☃ 😀', nested: { list: [1, 2.5, null, { k: 'ü' }] } };
// These set their own peer and options: they run in the suite's default run only.
const skip =
  SUITE_PEER !== 'debian'
    ? 'runs in the default interop run (OMTI_PEER unset), which sets its own options'
    : headPeerMissing();

/**
 * The two tested profiles, then other combinations a deployment can set (each option of
 * the modern profile on its own or in part, TTL 0, the quorum limits).
 */
const COMBINATIONS: Record<string, Record<string, string>> = {
  ...PROFILES,
  'quorum only': { rabbit_quorum_queue: 'true' },
  'transient quorum only': { rabbit_transient_quorum_queue: 'true' },
  'quorum, transient quorum and the queue manager': {
    rabbit_quorum_queue: 'true',
    rabbit_transient_quorum_queue: 'true',
    use_queue_manager: 'true',
  },
  'stream fanout without the queue manager': {
    rabbit_quorum_queue: 'true',
    rabbit_transient_quorum_queue: 'true',
    rabbit_stream_fanout: 'true',
    rabbit_qos_prefetch_count: '5',
  },
  'durable queues, transient quorum, TTL 0': {
    amqp_durable_queues: 'true',
    rabbit_transient_quorum_queue: 'true',
    rabbit_transient_queues_ttl: '0',
  },
  'quorum limits on every quorum queue': {
    rabbit_quorum_queue: 'true',
    rabbit_transient_quorum_queue: 'true',
    rabbit_quorum_delivery_limit: '5',
    rabbit_quorum_max_memory_length: '1000',
  },
};

for (const [profile, rabbit] of Object.entries(COMBINATIONS)) {
  for (const order of ['Python first', 'TS first'] as const) {
    test(
      `HEAD interop, ${profile} options, ${order}: RPC servers of both sides share a topic; calls, casts, fanout and notifications go both ways`,
      { timeout: 90_000, skip: skip ?? false },
      async (t) => {
        const scope = new InteropScope(t);
        // Queue-manager names must not collide with another process's or another run's.
        const named = (processname: string): Record<string, string> =>
          rabbit['use_queue_manager'] === 'true'
            ? { ...rabbit, hostname: scope.prefix, processname }
            : rabbit;
        const options = named('node');
        let pythons = 0;
        const pyOpts = (): string[] => rabbitOptArgs(named(`python${(pythons += 1)}`));
        const conf = scope.conf({ oslo_messaging_rabbit: options });
        const rpcTopic = scope.name('rpc');
        const notifTopic = scope.name('notif');
        scope.trackRpcTopic(rpcTopic, ['py', 'ts']);
        scope.trackQueue(`${rpcTopic}_fanout`);
        scope.trackNotificationTopic(notifTopic);

        const rpcTransport = getRpcTransport(conf);
        const notifTransport = getNotificationTransport(conf);
        scope.defer(() => rpcTransport.cleanup());
        scope.defer(() => notifTransport.cleanup());
        const served = new Inbox<Dict>('TS RPC server');
        let server: RPCServer | undefined;
        const startTs = async (): Promise<void> => {
          server = getRpcServer(
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
          scope.defer(() => server?.close());
          await server.start();
        };
        const startPy = (): Promise<Peer> =>
          scope.peer('rpc-server', ['--topic', rpcTopic, '--server', 'py', ...pyOpts()], {
            head: true,
          });
        let pyServer: Peer;
        if (order === 'Python first') {
          pyServer = await startPy();
          await startTs();
        } else {
          await startTs();
          pyServer = await startPy();
        }
        assert.equal(pyServer.events.items[0]?.['oslo_head'], true, 'the peer runs HEAD');
        const [pyClient, pyListener, pyNotifier] = await Promise.all([
          scope.peer('rpc-client', ['--topic', rpcTopic, ...pyOpts()], { head: true }),
          scope.peer('listener', ['--topics', notifTopic, ...pyOpts()], { head: true }),
          scope.peer('notifier', pyOpts(), { head: true }),
        ]);
        const pyDispatched = (key: string, value: string): Promise<unknown> =>
          pyServer.events.waitFor(
            (e) => e.event === 'dispatch' && (e['args'] as Dict | undefined)?.[key] === value,
          );

        // TS client -> Python server, directed call and topic cast.
        const client = getRpcClient(rpcTransport, { topic: rpcTopic }, { timeout: 20_000 });
        const fromPy = (await client.prepare({ server: 'py' }).call(CTXT, 'echo', PAYLOAD)) as Dict;
        assert.deepEqual([fromPy['server'], fromPy['args']], ['py', PAYLOAD]);
        await client.prepare({ server: 'py' }).cast(CTXT, 'record', { cast: 'to-py' });
        await pyDispatched('cast', 'to-py');

        // Python client -> TS server.
        const fromTs = await pyClient.request({
          op: 'call',
          method: 'echo',
          args: PAYLOAD,
          ctxt: CTXT,
          prepare: { server: 'ts' },
        });
        assert.equal(fromTs.ok, true, JSON.stringify(fromTs.error));
        assert.deepEqual((fromTs.value as Dict)['args'], PAYLOAD);

        // Fanout from either side reaches both servers.
        await client.prepare({ fanout: true }).cast(CTXT, 'record', { fan: 'from-ts' });
        await served.waitFor((args) => args['fan'] === 'from-ts');
        await pyDispatched('fan', 'from-ts');
        const fanned = await pyClient.request({
          op: 'cast',
          method: 'record',
          args: { fan: 'from-py' },
          ctxt: CTXT,
          prepare: { fanout: true },
        });
        assert.equal(fanned.ok, true, JSON.stringify(fanned.error));
        await served.waitFor((args) => args['fan'] === 'from-py');
        await pyDispatched('fan', 'from-py');
        assert.equal(served.filter((args) => args['fan'] === 'from-ts').length, 1);

        // Notifications both ways, on the queues both sides declare alike.
        const notified = new Inbox<string>('TS listener');
        const listener = getNotificationListener(
          notifTransport,
          [new Target({ topic: notifTopic })],
          [
            {
              info: (_c: unknown, _p: string | null, eventType: string) => {
                notified.push(eventType);
              },
            },
          ],
          { executor: 'threading', pool: scope.pool('pool_ts') },
        );
        scope.defer(() => listener.close());
        await listener.start();
        const notifier = new Notifier(notifTransport, {
          publisherId: 'interop.ts',
          driver: 'messagingv2',
          topics: [notifTopic],
        });
        await notifier.info(CTXT, 'head.from.ts', PAYLOAD);
        const sent = await pyNotifier.request({
          op: 'notify',
          topics: [notifTopic],
          publisher_id: 'interop.py',
          priority: 'info',
          event_type: 'head.from.py',
          payload: PAYLOAD,
          ctxt: CTXT,
        });
        assert.equal(sent.ok, true, JSON.stringify(sent));
        assert.deepEqual((await notified.waitForCount(() => true, 2)).sort(), [
          'head.from.py',
          'head.from.ts',
        ]);
        const py = await pyListener.events.waitForCount((e) => e.event === 'notification', 2);
        assert.deepEqual(py.map((e) => e['event_type']).sort(), ['head.from.py', 'head.from.ts']);
      },
    );
  }
}
