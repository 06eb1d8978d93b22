/**
 * Network and resource faults on a private 3-node RabbitMQ cluster
 * (test/cluster/rabbit-cluster.ts), under a steady load through the public API:
 *
 * 1. a slow network: every client connection delayed;
 * 2. the clients' connections black-holed (no FIN, no RST): the AMQP heartbeat notices;
 * 3. a whole node gone silent (its connections and new ones black-holed): failover;
 * 4. a memory alarm that blocks publishers, held longer than a call's timeout;
 * 5. a partition of the clients' node from the two others, with `pause_minority`.
 *
 * Figures go to docs/reliability.md (`npm run reliability`).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { MessageDeliveryFailure } from '../../src/index.js';
import { assertGuarantees, figuresOf } from './cluster-load.js';
import {
  connectionNodes,
  recordFigures,
  recordTransportEvents,
  transportStatus,
  type Services,
} from './cluster-services.js';
import {
  QUORUM,
  restoreCluster,
  startServices,
  underLoad,
  useCluster,
  waitFor,
} from './cluster-test-kit.js';
import type { ClusterNode, RabbitCluster } from './rabbit-cluster.js';

const handle = useCluster();

/** `heartbeat_timeout_threshold` of these scenarios (oslo's default is 60 s). */
const HEARTBEAT_S = 3;
const RABBIT = { ...QUORUM, heartbeat_timeout_threshold: HEARTBEAT_S };

/** When each of `names` logged the loss of its channel, after `since` (ms after it). */
function detections(services: Services, since: number): number[] {
  return services.log.find(/Lost the AMQP channel/, since).map((line) => line.at - since);
}

/** Every connection of ours is open on one of `nodes`. */
async function assertConnectedTo(
  cluster: RabbitCluster,
  services: Services,
  nodes: readonly ClusterNode[],
): Promise<void> {
  const names = await services.connectionNames();
  const where = await waitFor(
    async () => {
      const found = await connectionNodes(cluster, names);
      return found.size === names.length ? found : undefined;
    },
    30_000,
    'every connection to be open',
  );
  for (const [name, node] of where) assert.ok(nodes.includes(node), `${name} is on ${node.name}`);
}

async function blackHoleScenario(t: TestContext, wholeNode: boolean): Promise<void> {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const node = cluster.nodes[1]!;
  const services = await startServices(t, cluster, { rabbit: RABBIT }, node);
  const ours = (await services.connectionNames()).length;
  assert.equal(node.proxy.connections().length, ours, 'every connection goes through the proxy');
  const { counts, faultAt, recoveryMs } = await underLoad(services, async () => {
    // Silence, in both directions, without telling anyone: no FIN, no RST.
    if (wholeNode) node.proxy.setAll('blackhole');
    else for (const conn of node.proxy.connections()) conn.set('blackhole');
  });
  const detected = detections(services, faultAt);
  const scenario = wholeNode ? 'silent-node' : 'black-holed-connections';
  recordFigures(t, scenario, {
    ...figuresOf(counts),
    heartbeatS: HEARTBEAT_S,
    connections: ours,
    detectedMinMs: Math.min(...detected),
    detectedMaxMs: Math.max(...detected),
    recoveryMs,
  });
  assertGuarantees(counts, { minAnsweredRatio: 0.3 });
  // amqplib checks every heartbeat interval and gives up after two silent checks: the
  // loss is noticed between 2 and 3 heartbeat_timeout_threshold after the silence.
  assert.ok(detected.length >= ours, `every connection noticed the silence (${detected.length})`);
  const bound = 3 * HEARTBEAT_S * 1000 + 2000;
  assert.ok(Math.max(...detected) <= bound, `noticed within ${bound} ms: ${detected.join(', ')}`);
  if (wholeNode) {
    await assertConnectedTo(
      cluster,
      services,
      cluster.nodes.filter((n) => n !== node),
    );
  } else {
    await assertConnectedTo(cluster, services, [node]);
  }
}

test('cluster - a slow network (every client connection delayed 100 ms each way): no call times out, nothing is lost, no connection is dropped', async (t) => {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const services = await startServices(t, cluster, { rabbit: RABBIT });
  const delayMs = 100;
  const { counts, faultAt } = await underLoad(
    services,
    async () => {
      for (const node of cluster.nodes) node.proxy.setAll('delay', delayMs);
    },
    { afterMs: 5000 },
  );
  for (const node of cluster.nodes) node.proxy.restore();
  recordFigures(t, 'slow-network', { ...figuresOf(counts), delayMs });
  assertGuarantees(counts, { minAnsweredRatio: 1 });
  assert.equal(counts.timedOut, 0, 'no call timed out');
  assert.equal(detections(services, faultAt).length, 0, 'no connection was dropped');
});

test('cluster - black-holed client connections (no FIN, no RST): the heartbeat notices, the clients reconnect, nothing hangs', async (t) => {
  await blackHoleScenario(t, false);
});

test('cluster - a node gone silent (its connections and new ones black-holed): the clients fail over to another node, nothing hangs', async (t) => {
  await blackHoleScenario(t, true);
});

test('cluster - memory alarm: publishers are blocked, calls time out with MessagingTimeout, bounded casts and notifications give up with typed errors, everything resumes when it clears', async (t) => {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  const alarmNode = cluster.nodes[0]!;
  t.after(async () => {
    await cluster.ctl(alarmNode, 'set_vm_memory_high_watermark', '0.4').catch(() => undefined);
    await restoreCluster(cluster);
  });
  const services = await startServices(t, cluster, { rabbit: RABBIT });
  const events = recordTransportEvents(services.clientNotify);
  const alarmMs = 4 * HEARTBEAT_S * 1000;
  let blockedAt = 0;
  let clearedAt = 0;
  let statusWhileBlocked: string | undefined;
  let cast: { outcome: unknown; ms: number } | undefined;
  const during: { seq: number; settledAt?: number; confirmed?: boolean }[] = [];
  const bounded: { what: string; outcome?: unknown; ms?: number }[] = [];
  const { load, counts, faultAt } = await underLoad(
    services,
    async () => {
      const setAt = Date.now();
      // Far below what any node uses: the alarm goes off on this node and blocks every
      // publishing connection of the cluster.
      await cluster.ctl(alarmNode, 'set_vm_memory_high_watermark', '0.0001');
      blockedAt = (
        await waitFor(() => services.log.find(/is blocked/, setAt)[0], 30_000, 'the block')
      ).at;
      statusWhileBlocked = transportStatus(services.clientNotify);
      const started = Date.now();
      // A cast bounded by a signal gives up with the signal's reason.
      const outcome = await services.client
        .cast({}, 'echo', { seq: -3 }, { signal: AbortSignal.timeout(1500) })
        .then(
          () => 'sent',
          (err: unknown) => err,
        );
      cast = { outcome, ms: Date.now() - started };
      // A notification with the default retry (-1) waits and goes out afterwards.
      during.push({ seq: -4 });
      void services.notify(-4).then((confirmed) => {
        during[0]!.settledAt = Date.now();
        during[0]!.confirmed = confirmed;
      });
      // Publishes with a retry budget of 0 should give up within a bound (see below).
      const boundedStart = Date.now();
      const notifyProbe = { what: 'notification with retry 0' } as (typeof bounded)[number];
      const castProbe = { what: 'cast with retry 0' } as (typeof bounded)[number];
      bounded.push(notifyProbe, castProbe);
      void services.notifier
        .prepare({ retry: 0 })
        .info({}, 'omt.tick.-5', { seq: -5 })
        .then(() => {
          notifyProbe.ms = Date.now() - boundedStart;
          notifyProbe.outcome = services.notifyFailed.has(-5) ? 'gave up' : 'sent';
        });
      void services.client
        .prepare({ retry: 0 })
        .cast({}, 'echo', { seq: -6 })
        .then(
          () => 'sent',
          (err: unknown) => err,
        )
        .then((outcome) => {
          castProbe.ms = Date.now() - boundedStart;
          castProbe.outcome = outcome;
        });
      await sleep(Math.max(0, setAt + alarmMs - Date.now()));
      await cluster.ctl(alarmNode, 'set_vm_memory_high_watermark', '0.4');
      clearedAt = Date.now();
    },
    { recoverMs: 60_000 },
  );
  const unblocked = services.log.find(/is unblocked/, blockedAt)[0];
  const resumedAt = Math.max(
    load.firstAnswerSentAfter(clearedAt) ?? Infinity,
    load.firstDeliverySentAfter(clearedAt) ?? Infinity,
  );
  recordFigures(t, 'memory-alarm', {
    ...figuresOf(counts),
    alarmHeldMs: clearedAt - faultAt,
    blockedAfterMs: blockedAt - faultAt,
    unblockedAfterClearMs: unblocked === undefined ? -1 : unblocked.at - clearedAt,
    resumeAfterClearMs: resumedAt - clearedAt,
    boundedCastMs: cast?.ms ?? -1,
    retry0NotificationMs: bounded[0]?.ms ?? -1,
    retry0CastMs: bounded[1]?.ms ?? -1,
  });
  assertGuarantees(counts, { minAnsweredRatio: 0.3 });
  assert.ok(counts.timedOut > 0, 'calls sent during the alarm timed out (MessagingTimeout)');
  assert.ok(
    cast?.outcome instanceof Error && cast.outcome.name === 'TimeoutError',
    `the cast bounded by a signal rejected with its reason (${String(cast?.outcome)})`,
  );
  assert.ok(unblocked !== undefined, 'the notifier saw the broker unblock it');
  assert.ok(Number.isFinite(resumedAt), 'calls and notifications flow again');
  assert.equal(during[0]?.confirmed, true, 'the notification sent during the alarm went out');
  assert.ok(services.received.has(-4), 'and was delivered');
  assert.equal(
    services.log.find(/Lost the AMQP channel/, faultAt).length,
    0,
    'a blocked connection is not mistaken for a dead one (heartbeats go on)',
  );

  // A publish with a finite retry budget does not wait for the alarm to clear: each
  // heartbeat_timeout_threshold spent blocked uses one retry (oslo's socket timeout).
  for (const probe of bounded) {
    assert.ok(
      probe.ms !== undefined && probe.ms < alarmMs - 1000,
      `${probe.what} settled after ${probe.ms} ms, before the alarm cleared`,
    );
  }
  assert.equal(bounded[0]?.outcome, 'gave up', 'the notifier logged the failed publish');
  assert.ok(
    bounded[1]?.outcome instanceof MessageDeliveryFailure,
    `the cast rejected with MessageDeliveryFailure (${String(bounded[1]?.outcome)})`,
  );
  await t.test('transport.status was "blocked" during the alarm', () => {
    assert.equal(statusWhileBlocked, 'blocked');
  });
  await t.test('transport.status is "connected" again after it', () => {
    assert.equal(transportStatus(services.clientNotify), 'connected');
  });
  await t.test('the transport emitted "blocked" with a reason, then "unblocked"', () => {
    const names = events.map((e) => e.event);
    const blockedEvent = events.find((e) => e.event === 'blocked');
    assert.ok(blockedEvent !== undefined, `events: ${names.join(', ')}`);
    const detail = blockedEvent.detail as { reason?: unknown } | undefined;
    assert.equal(typeof detail?.reason, 'string');
    assert.ok(names.lastIndexOf('unblocked') > names.indexOf('blocked'));
  });
});

test('cluster - partition of the clients node from the two others (pause_minority): it pauses, the clients fail over, nothing confirmed is lost, it rejoins when healed', async (t) => {
  if (handle.skip !== undefined) return t.skip(handle.skip);
  const cluster = handle.cluster;
  t.after(() => restoreCluster(cluster));
  const minority = cluster.nodes[2]!;
  const majority = cluster.nodes.filter((n) => n !== minority);
  // Clients and quorum leaders on the node that ends up alone.
  const services = await startServices(t, cluster, { rabbit: RABBIT }, minority);
  let pausedMs = -1;
  const { counts, recoveryMs } = await underLoad(services, async () => {
    const started = Date.now();
    cluster.partition(minority, 'blackhole');
    // pause_minority: once the node sees it is alone, it stops serving (closes our
    // connections); the clients move to the majority.
    await waitFor(
      () => (minority.proxy.connections().length === 0 ? true : undefined),
      120_000,
      'the minority node to close its client connections',
    );
    pausedMs = Date.now() - started;
  });
  await assertConnectedTo(cluster, services, majority);
  // Heal: the paused node rejoins by itself.
  const healStarted = Date.now();
  cluster.heal(minority);
  await cluster.waitForRunningNodes(cluster.nodes.length, 120_000);
  const rejoinedMs = Date.now() - healStarted;
  recordFigures(t, 'partition-pause-minority', {
    ...figuresOf(counts),
    netTicktimeS: cluster.netTicktimeSeconds,
    minorityPausedMs: pausedMs,
    recoveryMs,
    rejoinedMs,
  });
  assertGuarantees(counts, { minAnsweredRatio: 0.3 });
  const status = await cluster.ctlJson<{ partitions?: Record<string, unknown> }>(
    majority[0],
    'cluster_status',
  );
  assert.deepEqual(status.partitions ?? {}, {}, 'no partition left after healing');
});
