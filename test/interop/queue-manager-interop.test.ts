/**
 * The queue manager (`use_queue_manager`, upstream HEAD) across a restart: a TS RPC server
 * in its own process names its fanout queue `<topic>_fanout_<hostname>:<processname>:1`,
 * keeps it when it stops, and after a restart gets the same name back, with the messages
 * that a HEAD Python client sent meanwhile (server-directed casts wait in the durable quorum
 * queue `T.S`, fanout casts in the kept fanout queue).
 *
 * Skipped, with the reason, where ../shared/peers/oslo.messaging-head is absent.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  SUITE_PEER,
  headPeerMissing,
  Inbox,
  InteropScope,
  rabbitOptArgs,
  type Peer,
} from './helpers.js';
import { listQueues } from '../functional/rabbit-test-helpers.js';

type Dict = Record<string, unknown>;

const SERVER_SCRIPT = fileURLToPath(new URL('./node-rpc-server.ts', import.meta.url));

/** A TS RPC server process; resolves once it is ready. */
async function startNodeServer(
  args: Dict,
  events: Inbox<Dict>,
): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as Dict);
  });
  const stop = async (): Promise<void> => {
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const before = events.filter((e) => e['event'] === 'ready').length;
    await events.waitForCount((e) => e['event'] === 'ready', before + 1, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

// These set their own peer and options: they run in the suite's default run only.
const skip =
  SUITE_PEER !== 'debian'
    ? 'runs in the default interop run (OMTI_PEER unset), which sets its own options'
    : headPeerMissing();

test(
  'queue manager - a TS RPC server restarted gets back the same queue names and loses no message sent meanwhile',
  { timeout: 120_000, skip: skip ?? false },
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('rpc');
    scope.trackRpcTopic(topic, ['ts']);
    const rabbit = {
      rabbit_quorum_queue: 'true',
      rabbit_transient_quorum_queue: 'true',
      use_queue_manager: 'true',
      hostname: scope.prefix,
    };
    const conf = scope.conf({ oslo_messaging_rabbit: { ...rabbit, processname: 'node' } });
    const fanoutName = `${topic}_fanout_${scope.prefix}:node:1`;
    scope.trackQueue(fanoutName);
    const fanoutQueues = async (): Promise<string[]> =>
      (await listQueues()).map((q) => q.name).filter((n) => n.startsWith(`${topic}_fanout`));

    const events = new Inbox<Dict>('TS server process');
    const serverArgs = { conf, topic, server: 'ts' };
    let server = await startNodeServer(serverArgs, events);
    scope.defer(() => server.stop());
    assert.deepEqual(await fanoutQueues(), [fanoutName]);

    const pyClient: Peer = await scope.peer(
      'rpc-client',
      ['--topic', topic, ...rabbitOptArgs({ ...rabbit, processname: 'python' })],
      { head: true },
    );
    const cast = async (args: Dict, prepare: Dict): Promise<void> => {
      const r = await pyClient.request({ op: 'cast', method: 'record', args, ctxt: {}, prepare });
      assert.equal(r.ok, true, JSON.stringify(r.error));
    };
    const dispatched = (n: string): Promise<Dict> =>
      events.waitFor(
        (e) => e['event'] === 'dispatch' && (e['args'] as Dict | undefined)?.['n'] === n,
      );
    await cast({ n: 'before' }, { server: 'ts' });
    await dispatched('before');

    await server.stop();
    // Kept on stop: its name will be found again.
    assert.deepEqual(await fanoutQueues(), [fanoutName]);
    await cast({ n: 'meanwhile-direct' }, { server: 'ts' });
    await cast({ n: 'meanwhile-fanout' }, { fanout: true });

    server = await startNodeServer(serverArgs, events);
    await dispatched('meanwhile-direct');
    await dispatched('meanwhile-fanout');
    assert.deepEqual(await fanoutQueues(), [fanoutName]);
  },
);
