/**
 * What every cluster test file shares: one cluster per file (started in `before`, torn
 * down in `after`, even when a test fails), the skip reason when RabbitMQ is not
 * installed, the client options of the scenarios, and small waits.
 */
import { after, before, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Load, type LoadCounts, type LoadOptions } from './cluster-load.js';
import { Services, pinTo, type ServicesOptions } from './cluster-services.js';
import {
  RabbitCluster,
  clusterUnavailableReason,
  type ClusterNode,
  type ClusterOptions,
} from './rabbit-cluster.js';

/**
 * Client options of every scenario: oslo's names and units. Reconnect after 0.5 s
 * (`kombu_reconnect_delay`), retries at 1 s, 2 s, 3 s... up to 5 s, and the AMQP
 * heartbeat at 60 s (oslo's default) unless a scenario sets it.
 */
export const CLIENT_OPTIONS = {
  kombu_reconnect_delay: 0.5,
  rabbit_retry_interval: 1,
  rabbit_retry_backoff: 1,
  rabbit_interval_max: 5,
} as const;

/** Quorum queues, as current OpenStack deployments configure them. */
export const QUORUM = { ...CLIENT_OPTIONS, rabbit_quorum_queue: true } as const;

/** Classic durable queues (`amqp_durable_queues`), the older OpenStack setting. */
export const CLASSIC_DURABLE = { ...CLIENT_OPTIONS, amqp_durable_queues: true } as const;

/** Set when the file's tests must skip; the cluster otherwise. */
export interface ClusterHandle {
  readonly skip: string | undefined;
  readonly cluster: RabbitCluster;
}

/**
 * Registers `before`/`after` hooks that start a cluster for this file and always tear it
 * down. Tests read `handle.cluster` (and skip with `handle.skip` when set).
 */
export function useCluster(options: Omit<ClusterOptions, 'log'> = {}): ClusterHandle {
  let cluster: RabbitCluster | undefined;
  const handle = {
    skip: clusterUnavailableReason(),
    get cluster(): RabbitCluster {
      if (cluster === undefined) throw new Error('the cluster is not running');
      return cluster;
    },
  };
  before(
    async () => {
      if (handle.skip !== undefined) return;
      cluster = await RabbitCluster.start({
        ...options,
        log: (line) => console.error(`# cluster: ${line}`),
      });
    },
    { timeout: 240_000 },
  );
  after(
    async () => {
      await cluster?.teardown();
    },
    { timeout: 60_000 },
  );
  return handle;
}

/**
 * Services on the cluster, started, and closed after the test. With `on`, every
 * connection (and so every queue declaration: classic queues live on that node, quorum
 * queues get their leader there) goes to that node.
 */
export async function startServices(
  t: TestContext,
  cluster: RabbitCluster,
  options: ServicesOptions,
  on?: ClusterNode,
): Promise<Services> {
  const services = new Services(cluster, options);
  t.after(() => services.close());
  if (on === undefined) {
    await services.start();
    return services;
  }
  for (const node of cluster.nodes) if (node !== on) node.proxy.setAll('cut');
  try {
    await services.start(60_000);
  } finally {
    for (const node of cluster.nodes) node.proxy.setDefault('pass');
  }
  await pinTo(cluster, on, services);
  return services;
}

/** Polls `check` every 100 ms until it returns a value other than undefined, or `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Makes sure every node runs and is clustered again after a scenario that stopped one. */
export async function restoreCluster(cluster: RabbitCluster): Promise<void> {
  for (const node of cluster.nodes) {
    cluster.heal(node);
    node.proxy.restore();
    if (!node.running) await cluster.startNode(node);
  }
  await cluster.waitForRunningNodes(cluster.nodes.length, 120_000);
}

/** What {@link underLoad} measured. */
export interface ScenarioResult {
  readonly load: Load;
  readonly counts: LoadCounts;
  /** When the fault started. */
  readonly faultAt: number;
  /** From the fault until a call and a notification sent after it succeeded. */
  readonly recoveryMs: number;
}

/**
 * Runs a load, calls `fault` after a steady start, waits for recovery, lets the load run
 * on, then finishes it. When something fails, the counts so far are in the error.
 */
export async function underLoad(
  services: Services,
  fault: () => Promise<void>,
  options: LoadOptions & { steadyMs?: number; afterMs?: number; recoverMs?: number } = {},
): Promise<ScenarioResult> {
  const load = new Load(services, options);
  let faultAt = 0;
  let recoveryMs = -1;
  let failure: unknown;
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
  } catch (err) {
    failure = err;
  }
  // Even when recovery failed: settle what is outstanding and report it.
  const counts = await load.finish(60_000);
  if (failure !== undefined) {
    const { otherErrors, ...numbers } = counts;
    throw new Error(
      `${failure instanceof Error ? failure.message : 'the scenario failed'}; counts: ` +
        `${JSON.stringify(numbers)} ${otherErrors.slice(0, 3).join(' | ')}`,
      { cause: failure },
    );
  }
  return { load, counts, faultAt, recoveryMs };
}
