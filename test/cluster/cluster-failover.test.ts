/**
 * Node failures on a private 3-node RabbitMQ cluster (test/cluster/rabbit-cluster.ts),
 * under a steady load of notifications and calls through the public API:
 *
 * 1. `kill -9` of the node every client is connected to, with quorum queues;
 * 2. the same with classic durable queues (their home node comes back later);
 * 3. `kill -9` of the quorum leader of the notification queue, clients elsewhere;
 * 4. a rolling restart of all three nodes, one by one.
 *
 * Each counts sent / confirmed / received / duplicated / lost notifications and calls
 * answered or failed, and measures the recovery; the figures go to
 * docs/reliability.md (`npm run reliability`). Guarantees asserted: no confirmed
 * notification lost, every call settled within its timeout with a reply or a typed
 * error, nothing left waiting, consumers re-attached on a surviving node.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Load, assertGuarantees, type LoadCounts } from './cluster-load.js';
import { connectionNodes, pinTo, recordFigures, type Services } from './cluster-services.js';
import {
  CLASSIC_DURABLE,
  QUORUM,
  restoreCluster,
  startServices,
  useCluster,
  waitFor,
} from './cluster-test-kit.js';
import type { ClusterNode, RabbitCluster } from './rabbit-cluster.js';

const handle = useCluster();

/** The figures of a scenario's load, for the docs. */
function loadFigures(counts: LoadCounts): Record<string, number> {
  const { otherErrors: _ignored, ...numbers } = counts;
  return numbers;
}

/** Our queues and their consumer counts (quorum: leader and members too). */
async function queues(
  cluster: RabbitCluster,
  services: Services,
): Promise<{ name: string; type: string; consumers: number; leader?: string }[]> {
  const all = await cluster.ctlJson<
    { name: string; type: string; consumers: number; leader?: string }[]
  >(undefined, 'list_queues', 'name', 'type', 'consumers', 'leader');
  return all.filter((q) => q.name.startsWith(services.exchange));
}

/** Every listener connection is on a running node other than `dead`, and consuming. */
async function assertReattached(
  cluster: RabbitCluster,
  services: Services,
  dead: ClusterNode | undefined,
): Promise<void> {
  const names = await services.listenerConnectionNames();
  const where = await waitFor(
    async () => {
      const found = await connectionNodes(cluster, names);
      return found.size === names.length ? found : undefined;
    },
    30_000,
    'the listener connections to be open',
  );
  for (const [name, node] of where) {
    assert.notEqual(node, dead, `${name} moved off the dead node`);
    assert.ok(node.running, `${name} is on a running node`);
  }
  const consumed = await waitFor(
    async () => {
      const qs = await queues(cluster, services);
      const listened = qs.filter((q) => !q.name.startsWith(`${services.exchange}_rpc_fanout_`));
      return listened.every((q) => q.consumers >= 1) ? listened : undefined;
    },
    30_000,
    'every queue of ours to have a consumer',
  );
  assert.ok(consumed.length >= 3, 'topic, server and notification queues');
}

/**
 * Runs the load, calls `fault` after a steady start, waits for recovery, lets the load
 * run on, then finishes it. Returns the counts and the recovery time.
 */
async function underLoad(
  services: Services,
  fault: () => Promise<void>,
  options: { steadyMs?: number; afterMs?: number; recoverMs?: number } = {},
): Promise<{ counts: LoadCounts; faultAt: number; recoveryMs: number }> {
  const load = new Load(services);
  let faultAt = 0;
  let recoveryMs = -1;
  let counts: LoadCounts;
  try {
    await sleep(options.steadyMs ?? 3000);
    faultAt = Date.now();
    await fault();
    recoveryMs = await waitFor(
      () => load.recoveredAfter(faultAt),
      options.recoverMs ?? 90_000,
      'a call and a notification sent after the fault to succeed',
    );
    await sleep(options.afterMs ?? 3000);
  } finally {
    // Even when recovery failed: settle what is outstanding and report it.
    counts = await load.finish(60_000);
  }
  return { counts, faultAt, recoveryMs };
}

async function killClientNode(
  t: TestContext,
  rabbit: Readonly<Record<string, unknown>>,
  scenario: string,
): Promise<void> {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const services = await startServices(t, cluster, { rabbit });
  const victim = cluster.nodes[0]!;
  await pinTo(cluster, victim, services);
  const classic = rabbit['amqp_durable_queues'] === true;
  const { counts, recoveryMs } = await underLoad(services, async () => {
    await cluster.killNode(victim);
    if (classic) {
      // A classic queue lives on one node: its messages wait there until it is back.
      await sleep(5000);
      await cluster.startNode(victim);
    }
  });
  recordFigures(t, scenario, { ...loadFigures(counts), recoveryMs });
  assertGuarantees(counts, { allowPublishFailures: classic });
  await assertReattached(cluster, services, classic ? undefined : victim);
}

test('cluster - kill -9 of the node the clients are connected to, quorum queues: nothing confirmed is lost, calls settle in time, consumers move to a survivor', async (t) => {
  await killClientNode(t, QUORUM, 'kill-9-client-node-quorum');
});
