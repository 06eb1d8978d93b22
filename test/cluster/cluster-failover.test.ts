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

import { Load, assertGuarantees, figuresOf, type LoadCounts } from './cluster-load.js';
import { connectionNodes, pinTo, recordFigures, type Services } from './cluster-services.js';
import {
  CLASSIC_DURABLE,
  QUORUM,
  restoreCluster,
  startServices,
  underLoad,
  useCluster,
  waitFor,
} from './cluster-test-kit.js';
import type { ClusterNode, RabbitCluster } from './rabbit-cluster.js';

const handle = useCluster();

/**
 * How long the service may stop serving during a rolling restart: about one failover
 * (the reconnect delay, a retry and a call timeout), with room for a loaded machine.
 */
const ROLLING_GAP_BOUND_MS = 15_000;

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

async function killClientNode(
  t: TestContext,
  rabbit: Readonly<Record<string, unknown>>,
  scenario: string,
): Promise<void> {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const victim = cluster.nodes[0]!;
  // Everything on the victim: every queue declared there (classic queues live there,
  // quorum queues have their leader there), every connection to it.
  const services = await startServices(t, cluster, { rabbit }, victim);
  const classic = rabbit['amqp_durable_queues'] === true;
  const downMs = 5000;
  const { counts, recoveryMs } = await underLoad(services, async () => {
    await cluster.killNode(victim);
    if (classic) {
      // A classic queue lives on one node: its messages wait on its disk until it is back.
      await sleep(downMs);
      await cluster.startNode(victim);
    }
  });
  const figures = { ...figuresOf(counts), recoveryMs };
  recordFigures(t, scenario, classic ? { ...figures, nodeDownMs: downMs } : figures);
  // While the classic queues' node is down, calls to them time out (typed): fewer answers.
  assertGuarantees(counts, {
    allowPublishFailures: classic,
    minAnsweredRatio: classic ? 0.25 : 0.5,
  });
  // The clients moved to the survivors when the node died; classic queues came back with
  // it, and the consumers on the survivors consume them there.
  await assertReattached(cluster, services, victim);
}

test('cluster - kill -9 of the node the clients are connected to, quorum queues: nothing confirmed is lost, calls settle in time, consumers move to a survivor', async (t) => {
  await killClientNode(t, QUORUM, 'kill-9-client-node-quorum');
});

test('cluster - kill -9 of the node the clients and the classic durable queues are on: nothing confirmed is lost, calls settle in time, consumers come back with the node', async (t) => {
  await killClientNode(t, CLASSIC_DURABLE, 'kill-9-client-node-classic');
});

test('cluster - kill -9 of the quorum leader of the notification queue while the clients are on another node: nothing confirmed is lost, a new leader takes over', async (t) => {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const [leaderNode, clientNode] = [cluster.nodes[0]!, cluster.nodes[1]!];
  // Declared from the first node (client-local leader), then every client moves away.
  const services = await startServices(t, cluster, { rabbit: QUORUM }, leaderNode);
  await pinTo(cluster, clientNode, services);
  const notificationQueue = `${services.notifTopic}.info`;
  const leaderOf = async (): Promise<string | undefined> =>
    (await queues(cluster, services)).find((q) => q.name === notificationQueue)?.leader;
  assert.equal(await leaderOf(), leaderNode.name, 'the leader is on the first node');

  const { counts, recoveryMs } = await underLoad(services, () => cluster.killNode(leaderNode));
  const newLeader = await waitFor(
    async () => {
      const leader = await leaderOf();
      return leader !== undefined && leader !== leaderNode.name ? leader : undefined;
    },
    30_000,
    'a new leader',
  );
  recordFigures(t, 'kill-9-quorum-leader', { ...figuresOf(counts), recoveryMs });
  assertGuarantees(counts);
  assert.ok(newLeader !== leaderNode.name);
  await assertReattached(cluster, services, leaderNode);
  const where = await connectionNodes(cluster, await services.connectionNames());
  assert.ok(
    [...where.values()].every((node) => node === clientNode),
    'the clients never had to move',
  );
});

test('cluster - rolling restart of all three nodes under steady load: the service never stops for longer than a failover', async (t) => {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const services = await startServices(t, cluster, { rabbit: QUORUM });
  const load = new Load(services);
  const restarts: { node: string; downMs: number; rejoinedMs: number }[] = [];
  let counts: LoadCounts;
  try {
    await sleep(3000);
    for (const node of cluster.nodes) {
      const stoppedAt = Date.now();
      await cluster.stopNode(node);
      const downAt = Date.now();
      await cluster.startNode(node);
      await cluster.waitForRunningNodes(cluster.nodes.length, 120_000);
      restarts.push({
        node: node.shortName,
        downMs: downAt - stoppedAt,
        rejoinedMs: Date.now() - stoppedAt,
      });
      // Quorum members catch up before the next node goes.
      await sleep(3000);
    }
  } finally {
    counts = await load.finish(60_000);
  }
  const figures = {
    ...figuresOf(counts),
    restartsMs: restarts.map((r) => r.rejoinedMs),
  };
  recordFigures(t, 'rolling-restart-quorum', figures);
  assertGuarantees(counts, { minAnsweredRatio: 0.8 });
  assert.equal(restarts.length, 3);
  // The failover bound: reconnect delay, one retry, and a call's timeout to notice.
  assert.ok(
    counts.maxCallGapMs < ROLLING_GAP_BOUND_MS && counts.maxNotifyGapMs < ROLLING_GAP_BOUND_MS,
    `longest gap ${counts.maxCallGapMs} ms (calls), ${counts.maxNotifyGapMs} ms (notifications)`,
  );
});
