/**
 * The services the cluster tests run, built only on the public API: an RPC server and a
 * notification listener (each on its own transport) and an RPC client and a `Notifier`
 * (each on its own transport), all with the cluster's multi-host URL. Plus where each of
 * their connections is (which node), and a recording logger with timestamps.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { format } from 'node:util';

import {
  getNotificationListener,
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Notifier,
  Target,
  type Logger,
  type RPCClient,
  type Transport,
  type TransportStatus,
} from '../../src/index.js';
import { rabbitDriver } from '../functional/rabbit-test-helpers.js';
import type { ClusterNode, RabbitCluster } from './rabbit-cluster.js';

/** One log line with the time it was written. */
export interface LogLine {
  readonly at: number;
  readonly level: string;
  readonly source: string;
  readonly text: string;
}

/** A logger per source that keeps every line (printed too with `OMT_CLUSTER_LOG=1`). */
export class RecordingLog {
  readonly lines: LogLine[] = [];

  for(source: string): Logger {
    const put =
      (level: string) =>
      (message: string, ...args: unknown[]): void => {
        const line = { at: Date.now(), level, source, text: format(message, ...args) };
        // Bounded: a long outage logs a line per attempt, never this many.
        if (this.lines.length < 100_000) this.lines.push(line);
        if (process.env['OMT_CLUSTER_LOG'] === '1') {
          console.error(`${new Date(line.at).toISOString()} ${level} [${source}] ${line.text}`);
        }
      };
    return { debug: put('DEBUG'), info: put('INFO'), warn: put('WARN'), error: put('ERROR') };
  }

  /** Lines matching `pattern` (written at or after `since`). */
  find(pattern: RegExp, since = 0): LogLine[] {
    return this.lines.filter((l) => l.at >= since && pattern.test(l.text));
  }
}

export interface ServicesOptions {
  /** `[oslo_messaging_rabbit]` options (plain object, oslo names and units). */
  readonly rabbit: Readonly<Record<string, unknown>>;
}

/** See the module comment. */
export class Services {
  readonly exchange = `omtc_${randomBytes(5).toString('hex')}`;
  readonly topic = `${this.exchange}_rpc`;
  readonly notifTopic = `${this.exchange}_n`;
  readonly log = new RecordingLog();
  /** Notification seq -> how many times the endpoint got it. */
  readonly received = new Map<number, number>();
  /** When each first delivery of a notification reached the endpoint. */
  readonly receivedAt = new Map<number, number>();
  /** Seqs whose publish the notifier logged as failed. */
  readonly notifyFailed = new Set<number>();
  readonly serverRpc: Transport;
  readonly serverNotify: Transport;
  readonly clientRpc: Transport;
  readonly clientNotify: Transport;
  readonly client: RPCClient;
  readonly notifier: Notifier;
  readonly #rpcServer;
  readonly #listener;

  constructor(cluster: RabbitCluster, options: ServicesOptions) {
    const conf = {
      DEFAULT: { control_exchange: this.exchange, transport_url: cluster.url() },
      oslo_messaging_rabbit: { ...options.rabbit },
    };
    this.serverRpc = getRpcTransport(conf, { logger: this.log.for('server-rpc') });
    this.serverNotify = getNotificationTransport(conf, { logger: this.log.for('listener') });
    this.clientRpc = getRpcTransport(conf, { logger: this.log.for('client-rpc') });
    const notifierLog = this.log.for('notifier');
    this.clientNotify = getNotificationTransport(conf, {
      logger: {
        ...notifierLog,
        error: (message: string, ...args: unknown[]) => {
          // The notifier logs a failed publish (and resolves): find which one it was.
          const seq = /event_type[ =]omt\.tick\.(-?\d+)\b/.exec(format(message, ...args));
          if (seq !== null) this.notifyFailed.add(Number(seq[1]));
          notifierLog.error(message, ...args);
        },
      },
    });
    this.#rpcServer = getRpcServer(
      this.serverRpc,
      { topic: this.topic, server: 's1' },
      [{ echo: (_ctxt: unknown, args: { seq: number }) => args.seq }],
      { executor: 'threading' },
    );
    this.#listener = getNotificationListener(
      this.serverNotify,
      [new Target({ topic: this.notifTopic })],
      [
        {
          info: (_c: unknown, _p: unknown, _e: unknown, payload: { seq: number }) => {
            const seen = this.received.get(payload.seq) ?? 0;
            if (seen === 0) this.receivedAt.set(payload.seq, Date.now());
            this.received.set(payload.seq, seen + 1);
          },
        },
      ],
      { executor: 'threading' },
    );
    this.client = getRpcClient(this.clientRpc, { topic: this.topic, server: 's1' });
    this.notifier = new Notifier(this.clientNotify, {
      publisherId: 'omt.cluster',
      driver: 'messagingv2',
      topics: [this.notifTopic],
    });
  }

  get transports(): Transport[] {
    return [this.serverRpc, this.serverNotify, this.clientRpc, this.clientNotify];
  }

  /** Starts the servers, then one round trip each way. */
  async start(timeoutMs = 30_000): Promise<void> {
    await this.#rpcServer.start();
    await this.#listener.start();
    if ((await this.call(-1, timeoutMs)) !== -1) throw new Error('the warm-up call failed');
    await this.notify(-1);
  }

  /** `echo(seq)` on the server; resolves with the result. */
  call(seq: number, timeoutMs: number): Promise<unknown> {
    return this.client.call({}, 'echo', { seq }, { timeout: timeoutMs });
  }

  /** Publishes notification `seq`; resolves true when confirmed, false when the notifier gave up. */
  async notify(seq: number): Promise<boolean> {
    await this.notifier.info({}, `omt.tick.${seq}`, { seq });
    return !this.notifyFailed.has(seq);
  }

  /** The `connection_name`s of every connection of ours, by transport. */
  async connectionNames(): Promise<string[]> {
    const names: string[] = [];
    for (const transport of this.transports) {
      const byRole = (await rabbitDriver(transport)).connectionNames();
      for (const name of [byRole.send, byRole.reply, ...byRole.listeners]) {
        if (name !== undefined) names.push(name);
      }
    }
    return names;
  }

  /** The listener connections' names (RPC server and notification listener). */
  async listenerConnectionNames(): Promise<string[]> {
    const names: string[] = [];
    for (const transport of [this.serverRpc, this.serverNotify]) {
      names.push(...(await rabbitDriver(transport)).connectionNames().listeners);
    }
    return names;
  }

  /** Stops the servers and closes every transport. */
  async close(): Promise<void> {
    await this.#rpcServer.close().catch(() => undefined);
    await this.#listener.close().catch(() => undefined);
    for (const transport of this.transports) await transport.cleanup().catch(() => undefined);
  }
}

/** Which node each open connection of `names` is on (from the broker's `port`). */
export async function connectionNodes(
  cluster: RabbitCluster,
  names: readonly string[],
): Promise<Map<string, ClusterNode>> {
  const wanted = new Set(names);
  const conns = await cluster.ctlJson<{ port: number; client_properties: unknown[] }[]>(
    undefined,
    'list_connections',
    'port',
    'client_properties',
  );
  const found = new Map<string, ClusterNode>();
  for (const conn of conns) {
    const entry = conn.client_properties.find(
      (p): p is [string, string, string] => Array.isArray(p) && p[0] === 'connection_name',
    );
    const node = cluster.nodeByAmqpPort(conn.port);
    if (entry !== undefined && wanted.has(entry[2]) && node !== undefined) {
      found.set(entry[2], node);
    }
  }
  return found;
}

/**
 * Moves every client connection to `node`: new connections to the other nodes are
 * refused and theirs are closed until all of `services`' connections are on `node`,
 * then traffic to every node passes again.
 */
export async function pinTo(
  cluster: RabbitCluster,
  node: ClusterNode,
  services: Services,
  timeoutMs = 60_000,
): Promise<void> {
  const others = cluster.nodes.filter((n) => n !== node);
  for (const other of others) other.proxy.setAll('cut');
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Each connection comes back on its own; a round trip brings the lazy ones back.
      await services.call(-2, 10_000).catch(() => undefined);
      await services.notify(-2);
      const names = await services.connectionNames();
      const where = await connectionNodes(cluster, names);
      if (names.every((n) => where.get(n) === node)) return;
      if (Date.now() > deadline) throw new Error(`connections not all on ${node.name}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    for (const other of others) other.proxy.setDefault('pass');
  }
}

/** Where the reliability figures go: diagnostics, and a JSON-lines file when asked. */
export function recordFigures(
  t: TestContext,
  scenario: string,
  figures: Readonly<Record<string, unknown>>,
): void {
  t.diagnostic(`figures ${scenario}: ${JSON.stringify(figures)}`);
  const file = process.env['OMT_RELIABILITY_FIGURES'];
  if (file !== undefined && file !== '') {
    appendFileSync(
      file,
      `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures })}\n`,
    );
  }
}

/** The transport's status (`transport.status`). */
export function transportStatus(transport: Transport): TransportStatus {
  return transport.status;
}

/** One event of the transport, with when it came. */
export interface TransportEvent {
  readonly at: number;
  readonly event: string;
  readonly detail: unknown;
}

/**
 * Records the transport's `connected`, `disconnected`, `reconnecting`, `blocked`,
 * `unblocked` and `closed` events (at most 10,000).
 */
export function recordTransportEvents(transport: Transport): TransportEvent[] {
  const events: TransportEvent[] = [];
  const record = (event: string) => (detail?: unknown) => {
    if (events.length < 10_000) events.push({ at: Date.now(), event, detail });
  };
  transport.on('connected', record('connected'));
  transport.on('disconnected', record('disconnected'));
  transport.on('reconnecting', record('reconnecting'));
  transport.on('blocked', record('blocked'));
  transport.on('unblocked', record('unblocked'));
  transport.on('closed', record('closed'));
  return events;
}
