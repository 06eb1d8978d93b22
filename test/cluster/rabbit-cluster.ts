/**
 * A private RabbitMQ cluster for the cluster tests: N nodes on this machine with their own
 * node names, AMQP and distribution ports, data folder and Erlang cookie, joined into one
 * cluster, and torn down afterwards, even when the test process dies.
 *
 * Isolation from the machine's own broker (node `rabbit@localhost` on 5672):
 * - every node and every rabbitmqctl call gets an explicit environment: our node name,
 *   ports, folders, an empty `rabbitmq-env.conf` of ours (the machine's is not read),
 *   `HOME` pointing at a private folder with our `.erlang.cookie`;
 * - the nodes use our own port mapper ({@link FakeEpmd}, one listener per node, started
 *   with `-start_epmd false`), never the machine's epmd on 4369;
 * - rabbitmqctl is always called with `-n <our node>`; processes are stopped by the pids
 *   their nodes wrote, never by name.
 *
 * Traffic: clients connect through an AMQP {@link FaultProxy} per node, and every pair of
 * nodes talks through a distribution proxy of its own, so a test can black-hole a client
 * connection or partition a node. Everything listens on 127.0.0.1.
 *
 * Clean-up: {@link RabbitCluster.teardown} stops every node and deletes the folder. A
 * watchdog shell (its own session, reading a pipe from this process) does the same if this
 * process dies first: when the pipe closes it kills the pids in the folder and removes it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { FakeEpmd } from './fake-epmd.js';
import { FaultProxy, type FaultMode } from './fault-proxy.js';

const run = promisify(execFile);

/** Concurrent rabbitmqctl calls per node. */
const CTL_PORTS = 6;

/**
 * Where RabbitMQ's scripts are looked for: `OMT_RABBITMQ_BIN` if set, then where the
 * Debian package keeps the real ones (its `/usr/sbin` wrappers switch user with `su`,
 * which would lose our environment), then the `PATH`.
 */
function scriptDirs(): string[] {
  const own = process.env['OMT_RABBITMQ_BIN'];
  return [
    ...(own === undefined || own === '' ? [] : [own]),
    '/usr/lib/rabbitmq/bin',
    '/usr/local/lib/rabbitmq/bin',
    ...(process.env['PATH'] ?? '').split(':').filter((dir) => dir !== ''),
  ];
}

function findScript(name: string): string | undefined {
  for (const dir of scriptDirs()) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Why the cluster tests cannot run here, or `undefined` when they can. */
export function clusterUnavailableReason(): string | undefined {
  if (findScript('rabbitmq-server') === undefined || findScript('rabbitmqctl') === undefined) {
    return 'rabbitmq-server is not installed (the cluster tests start private RabbitMQ nodes)';
  }
  return undefined;
}

/** Binds 127.0.0.1:`port` (0: any) and releases it; resolves with the port, or 0 if taken. */
async function probePort(port: number): Promise<number> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => resolve(true));
  });
  if (!bound) return 0;
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** A free TCP port on 127.0.0.1 (free now; the caller binds it soon after). */
async function freePort(): Promise<number> {
  const port = await probePort(0);
  if (port === 0) throw new Error('no free port on 127.0.0.1');
  return port;
}

/**
 * The first of `count` consecutive free ports below the kernel's ephemeral range, for
 * rabbitmqctl's own distribution listener (one port per concurrent call).
 */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = (await probePort(p)) === p;
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ClusterOptions {
  /** @default 3 */
  readonly size?: number;
  /** `cluster_partition_handling`. @default 'pause_minority' (what OpenStack deployments use) */
  readonly partitionHandling?: 'pause_minority' | 'autoheal' | 'ignore';
  /** Erlang `net_ticktime` in seconds: how soon a silent peer node counts as down. @default 10 */
  readonly netTicktimeSeconds?: number;
  /** Progress lines (e.g. `t.diagnostic`). */
  readonly log?: (line: string) => void;
}

/** One node of the cluster. */
export class ClusterNode {
  /** The beam.smp pid while running. */
  pid: number | undefined;
  script: ChildProcess | undefined;

  constructor(
    readonly index: number,
    /** `omt<hex>-c<i>` */
    readonly shortName: string,
    readonly amqpPort: number,
    readonly distPort: number,
    readonly epmdPort: number,
    readonly ctlPortMin: number,
    /** Clients connect here; it forwards to `amqpPort`. */
    readonly proxy: FaultProxy,
    readonly dir: string,
  ) {}

  get name(): string {
    return `${this.shortName}@localhost`;
  }

  get running(): boolean {
    return this.pid !== undefined && alive(this.pid);
  }
}

/** See the module comment. */
export class RabbitCluster {
  readonly nodes: ClusterNode[] = [];
  readonly #dir: string;
  readonly #cookie = randomBytes(20).toString('hex').toUpperCase();
  readonly #epmd = new FakeEpmd();
  /** `from -> to` distribution proxies. */
  readonly #distProxies = new Map<string, FaultProxy>();
  readonly #options: Required<Omit<ClusterOptions, 'log'>>;
  readonly #log: (line: string) => void;
  readonly #serverScript: string;
  readonly #ctlScript: string;
  #watchdog: ChildProcess | undefined;

  private constructor(dir: string, options: ClusterOptions) {
    this.#dir = dir;
    this.#options = {
      size: options.size ?? 3,
      partitionHandling: options.partitionHandling ?? 'pause_minority',
      netTicktimeSeconds: options.netTicktimeSeconds ?? 10,
    };
    this.#log = options.log ?? (() => undefined);
    this.#serverScript = findScript('rabbitmq-server')!;
    this.#ctlScript = findScript('rabbitmqctl')!;
  }

  /** Starts the nodes, joins them into one cluster and waits until all run. */
  static async start(options: ClusterOptions = {}): Promise<RabbitCluster> {
    const reason = clusterUnavailableReason();
    if (reason !== undefined) throw new Error(reason);
    const id = randomBytes(4).toString('hex');
    const dir = join(tmpdir(), `omt-cluster-${id}`);
    const cluster = new RabbitCluster(dir, options);
    try {
      await cluster.#prepare(id);
      const started = Date.now();
      await Promise.all(cluster.nodes.map((node) => cluster.startNode(node)));
      const [first, ...others] = cluster.nodes;
      for (const node of others) {
        await cluster.ctl(node, 'stop_app');
        await cluster.ctl(node, 'join_cluster', first!.name);
        await cluster.ctl(node, 'start_app');
      }
      await cluster.waitForRunningNodes(cluster.nodes.length, 60_000);
      cluster.#log(`cluster of ${cluster.nodes.length} nodes up in ${Date.now() - started} ms`);
      return cluster;
    } catch (err) {
      await cluster.teardown();
      throw err;
    }
  }

  /** Erlang's `net_ticktime` of the nodes: a silent peer node counts as down after about this long. */
  get netTicktimeSeconds(): number {
    return this.#options.netTicktimeSeconds;
  }

  /** `rabbit://guest:guest@127.0.0.1:<proxy 1>,...` with an optional query (no `?`). */
  url(query = ''): string {
    const hosts = this.nodes.map((n) => `guest:guest@127.0.0.1:${n.proxy.port}`).join(',');
    return `rabbit://${hosts}/${query === '' ? '' : `?${query}`}`;
  }

  /** The node whose AMQP port (on the broker side) is `port`. */
  nodeByAmqpPort(port: number): ClusterNode | undefined {
    return this.nodes.find((n) => n.amqpPort === port);
  }

  /** Runs rabbitmqctl against `node` (default: the first running one); returns stdout. */
  async ctl(node: ClusterNode | undefined, ...args: string[]): Promise<string> {
    const target = node ?? this.nodes.find((n) => n.running);
    if (target === undefined) throw new Error('no node is running');
    const { stdout } = await run(this.#ctlScript, ['-n', target.name, '-q', ...args], {
      env: this.#env(target),
      timeout: 150_000, // above the longest --timeout passed (await_startup: 120 s)
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /** rabbitmqctl with `--formatter json`, parsed. */
  async ctlJson<T>(node: ClusterNode | undefined, ...args: string[]): Promise<T> {
    const out = (await this.ctl(node, ...args, '--formatter', 'json')).trim();
    return JSON.parse(out === '' ? '[]' : out) as T;
  }

  /** Starts a node (first start or after a stop or kill) and waits until RabbitMQ runs on it. */
  async startNode(node: ClusterNode): Promise<void> {
    if (node.running) return;
    const pidFile = join(node.dir, 'beam.pid');
    await rm(pidFile, { force: true });
    const out = openSync(join(node.dir, 'stdout.log'), 'a');
    try {
      node.script = spawn(this.#serverScript, [], {
        env: this.#env(node),
        stdio: ['ignore', out, out],
        detached: true,
      });
    } finally {
      closeSync(out);
    }
    node.script.unref();
    await writeFile(join(this.#dir, 'pids', `${node.shortName}.sh`), `${node.script.pid}\n`);
    // The node writes its pid early in the boot; then wait for the rabbit application.
    const deadline = Date.now() + 120_000;
    while (node.pid === undefined && Date.now() < deadline) {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      if (/^\d+\s*$/.test(text)) node.pid = Number(text.trim());
      else await sleep(200);
    }
    if (node.pid === undefined) throw new Error(`${node.name} did not start (see ${node.dir})`);
    await writeFile(join(this.#dir, 'pids', `${node.shortName}.beam`), `${node.pid}\n`);
    await this.ctl(node, 'await_startup', '--timeout', '120');
  }

  /** `kill -9` of the node's beam.smp; resolves once the process is gone. */
  async killNode(node: ClusterNode): Promise<void> {
    const pid = node.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.#waitExit(node, 10_000);
  }

  /** A clean stop of the whole node (`rabbitmqctl shutdown`). */
  async stopNode(node: ClusterNode): Promise<void> {
    if (!node.running) return;
    await this.ctl(node, 'shutdown', '--timeout', '60').catch(() => undefined);
    await this.#waitExit(node, 60_000);
  }

  /** Waits until `count` nodes are in `running_nodes` (as seen from a running node). */
  async waitForRunningNodes(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const runningNodes = this.nodes.filter((n) => n.running);
      for (const node of runningNodes) {
        const status = await this.ctlJson<{ running_nodes?: string[] }>(
          node,
          'cluster_status',
        ).catch((err: unknown) => ({ error: String(err) }));
        last = JSON.stringify(status);
        if ('running_nodes' in status && (status.running_nodes?.length ?? 0) >= count) return;
      }
      await sleep(1000);
    }
    throw new Error(`fewer than ${count} running nodes after ${timeoutMs} ms: ${last}`);
  }

  /** The distribution proxy that `from` uses to reach `to`. */
  distProxy(from: ClusterNode, to: ClusterNode): FaultProxy {
    return this.#distProxies.get(`${from.shortName}>${to.shortName}`)!;
  }

  /**
   * Cuts `node` off from every other node: the distribution traffic in both directions
   * is black-holed (no FIN, no RST) or cut, and new connections between them get nowhere.
   * Its clients' AMQP connections are not touched.
   */
  partition(node: ClusterNode, mode: Extract<FaultMode, 'blackhole' | 'cut'>): void {
    for (const other of this.nodes) {
      if (other === node) continue;
      this.distProxy(node, other).setAll(mode);
      this.distProxy(other, node).setAll(mode);
    }
  }

  /** Ends a partition: silent connections are closed, new ones pass. */
  heal(node: ClusterNode): void {
    for (const other of this.nodes) {
      if (other === node) continue;
      this.distProxy(node, other).restore();
      this.distProxy(other, node).restore();
    }
  }

  /** Stops every node, the proxies and the port mapper, and deletes the folder. */
  async teardown(): Promise<void> {
    for (const node of this.nodes) {
      if (node.pid !== undefined && alive(node.pid)) process.kill(node.pid, 'SIGKILL');
      if (node.script?.pid !== undefined && alive(node.script.pid)) {
        process.kill(node.script.pid, 'SIGKILL');
      }
    }
    await Promise.all(this.nodes.map((node) => this.#waitExit(node, 10_000).catch(() => {})));
    await Promise.all([
      ...this.nodes.map((n) => n.proxy.close()),
      ...[...this.#distProxies.values()].map((p) => p.close()),
      this.#epmd.close(),
    ]);
    await rm(this.#dir, { recursive: true, force: true });
    // The watchdog has nothing left to do.
    this.#watchdog?.stdin?.destroy();
    if (this.#watchdog?.pid !== undefined && alive(this.#watchdog.pid)) {
      process.kill(this.#watchdog.pid, 'SIGKILL');
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }

  async #waitExit(node: ClusterNode, timeoutMs: number): Promise<void> {
    const pid = node.pid;
    const deadline = Date.now() + timeoutMs;
    while (pid !== undefined && alive(pid) && Date.now() < deadline) await sleep(50);
    if (pid !== undefined && alive(pid)) throw new Error(`${node.name} (pid ${pid}) did not exit`);
    node.pid = undefined;
  }

  async #prepare(id: string): Promise<void> {
    await mkdir(join(this.#dir, 'home'), { recursive: true });
    await mkdir(join(this.#dir, 'pids'));
    this.#startWatchdog();
    const cookie = join(this.#dir, 'home', '.erlang.cookie');
    await writeFile(cookie, this.#cookie);
    await chmod(cookie, 0o400);
    await writeFile(
      join(this.#dir, 'rabbitmq-env.conf'),
      '# empty: the machine-wide one is not read\n',
    );
    await writeFile(join(this.#dir, 'enabled_plugins'), '[].\n');
    for (let i = 1; i <= this.#options.size; i++) {
      const shortName = `omt${id}-c${i}`;
      const dir = join(this.#dir, shortName);
      await mkdir(join(dir, 'mnesia'), { recursive: true });
      await mkdir(join(dir, 'log'));
      const amqpPort = await freePort();
      const distPort = await freePort();
      const ctlPortMin = await freePortRange(CTL_PORTS);
      const epmdPort = await this.#epmd.listen(shortName);
      const proxy = await FaultProxy.start({ targetPort: amqpPort, name: `amqp ${shortName}` });
      await writeFile(
        join(dir, 'rabbitmq.conf'),
        [
          `listeners.tcp.1 = 127.0.0.1:${amqpPort}`,
          `cluster_partition_handling = ${this.#options.partitionHandling}`,
          'loopback_users.guest = true',
          'log.console = false',
          'log.file.level = info',
          // Small disks on CI machines must not raise a disk alarm.
          'disk_free_limit.absolute = 10MB',
          '',
        ].join('\n'),
      );
      this.nodes.push(
        new ClusterNode(i, shortName, amqpPort, distPort, epmdPort, ctlPortMin, proxy, dir),
      );
    }
    for (const from of this.nodes) {
      for (const to of this.nodes) {
        if (from === to) continue;
        const proxy = await FaultProxy.start({
          targetPort: to.distPort,
          name: `dist ${from.shortName}>${to.shortName}`,
        });
        this.#distProxies.set(`${from.shortName}>${to.shortName}`, proxy);
      }
    }
    const byShort = new Map(this.nodes.map((n) => [n.shortName, n]));
    this.#epmd.setRoute((asker, target) => {
      const from = byShort.get(asker);
      const to = byShort.get(target);
      // rabbitmqctl's own nodes reach a node directly; node to node goes through a proxy.
      if (from === undefined || to === undefined || from === to) return undefined;
      return this.distProxy(from, to).port;
    });
  }

  #env(node: ClusterNode): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      // Nothing of the machine's RabbitMQ or Erlang settings leaks into our nodes.
      if (!/^(RABBITMQ_|ERL_|NODENAME$|NODE_PORT$|CONFIG_FILE$)/.test(key)) env[key] = value;
    }
    return {
      ...env,
      HOME: join(this.#dir, 'home'),
      RABBITMQ_CONF_ENV_FILE: join(this.#dir, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: node.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(node.amqpPort),
      RABBITMQ_DIST_PORT: String(node.distPort),
      RABBITMQ_CTL_DIST_PORT_MIN: String(node.ctlPortMin),
      RABBITMQ_CTL_DIST_PORT_MAX: String(node.ctlPortMin + CTL_PORTS - 1),
      RABBITMQ_MNESIA_BASE: join(node.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(node.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(node.dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.#dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(node.dir, 'beam.pid'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `-kernel net_ticktime ${this.#options.netTicktimeSeconds}`,
      ERL_EPMD_PORT: String(node.epmdPort),
      ERL_FLAGS: '-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  #startWatchdog(): void {
    // Reads until this process's end of the pipe closes (exit or crash), then cleans up.
    const script = [
      'cat >/dev/null',
      `for f in "$0"/pids/*; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done`,
      'rm -rf "$0"',
    ].join('\n');
    const watchdog = spawn('/bin/sh', ['-c', script, this.#dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.#watchdog = watchdog;
  }
}
