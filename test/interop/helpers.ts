/**
 * Helpers of the interop suite: Python oslo.messaging peers (test/interop/python/peer.py)
 * run as child processes speaking JSON lines, unique broker names, and cleanup of every
 * queue and exchange a test created, on either side.
 *
 * Environment:
 * - `OMTI_TRANSPORT_URL`: the broker (default `rabbit://guest:guest@127.0.0.1:5672/`)
 * - `OMTI_PYTHON`: the interpreter with oslo.messaging (default `/usr/bin/python3`)
 * - `OMTI_DEBUG=1`: echo every peer event and its stderr to this process's stderr
 *
 * Peers: Debian's oslo.messaging 14.0.3 by default; upstream HEAD from
 * `../shared/peers/oslo.messaging-head` (beside the repository) with `head: true`, put in
 * front of Debian's package by `PYTHONPATH` and started in its own session (`setsid`), which
 * HEAD's queue manager needs. Where that folder is absent, tests of HEAD are skipped.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { defaultLogger, pyLoads, type Logger } from '../../src/index.js';

export const TRANSPORT_URL =
  process.env.OMTI_TRANSPORT_URL ?? 'rabbit://guest:guest@127.0.0.1:5672/';
export const PYTHON = process.env.OMTI_PYTHON ?? '/usr/bin/python3';
export const PEER_SCRIPT = fileURLToPath(new URL('./python/peer.py', import.meta.url));
const DEBUG = process.env.OMTI_DEBUG === '1';

/** Upstream HEAD oslo.messaging, beside the repository (see the module comment). */
export const HEAD_PEER_PATH = fileURLToPath(
  new URL('../../../shared/peers/oslo.messaging-head', import.meta.url),
);

/** Why tests against upstream HEAD cannot run here, or `undefined` when they can. */
export function headPeerMissing(): string | undefined {
  return existsSync(`${HEAD_PEER_PATH}/oslo_messaging/__init__.py`)
    ? undefined
    : 'upstream HEAD oslo.messaging is not in ../shared/peers/oslo.messaging-head';
}

/**
 * The option profiles the suite runs under, as `[oslo_messaging_rabbit]` options: classic
 * (every default, what 14.0.3 deployments run) and modern (what 2024.1+ deployment tools
 * turn on for RabbitMQ 4.x: quorum queues everywhere, stream fanout, the queue manager).
 */
export const PROFILES = {
  classic: {},
  modern: {
    rabbit_quorum_queue: 'true',
    rabbit_transient_quorum_queue: 'true',
    rabbit_stream_fanout: 'true',
    rabbit_qos_prefetch_count: '10',
    use_queue_manager: 'true',
  },
} as const satisfies Record<string, Record<string, string>>;

/**
 * The peer and option profile the whole suite runs with: `OMTI_PEER=head` runs upstream
 * HEAD instead of Debian's 14.0.3, `OMTI_PROFILE=modern` (HEAD only) gives both sides the
 * modern options. Every {@link InteropScope} applies them to its peers and TS transports.
 */
export const SUITE_PEER: 'debian' | 'head' = process.env.OMTI_PEER === 'head' ? 'head' : 'debian';
export const SUITE_PROFILE: keyof typeof PROFILES =
  process.env.OMTI_PROFILE === 'modern' ? 'modern' : 'classic';
if (SUITE_PROFILE === 'modern' && SUITE_PEER !== 'head') {
  throw new Error('OMTI_PROFILE=modern needs OMTI_PEER=head: 14.0.3 has no such options');
}

/** A profile's options as `peer.py` arguments (`--rabbit-opt k=v` each). */
export function rabbitOptArgs(options: Readonly<Record<string, string>>): string[] {
  return Object.entries(options).flatMap(([k, v]) => ['--rabbit-opt', `${k}=${v}`]);
}

/** The lower-case notification priorities (queue `<topic>.<priority>` each). */
export const PRIORITIES = [
  'audit',
  'debug',
  'info',
  'warn',
  'error',
  'critical',
  'sample',
] as const;

/** A unique broker name: `omti_` + 12 hex digits, then `_label` if given. */
export function uniqueName(label?: string): string {
  const base = `omti_${randomBytes(6).toString('hex')}`;
  return label === undefined ? base : `${base}_${label}`;
}

/** The same broker as {@link TRANSPORT_URL}, as an `amqp://` URL for amqplib. */
function amqpUrl(): string {
  const url = new URL(TRANSPORT_URL.replace(/^(rabbit|kombu)(\+\w+)?:/, 'amqp:'));
  const host = url.host.split(',')[0] ?? '127.0.0.1:5672';
  const user = url.username === '' ? 'guest' : url.username;
  const pass = url.password === '' ? 'guest' : url.password;
  const vhost = url.pathname === '' || url.pathname === '/' ? '' : url.pathname;
  return `amqp://${user}:${pass}@${host}${vhost}`;
}

// ---------------------------------------------------------------------------
// Waiting

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 600 ? `${text.slice(0, 600)}...` : text;
}

interface Waiter<T> {
  readonly matches: (item: T) => boolean;
  readonly count: number;
  readonly found: T[];
  readonly resolve: (items: T[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Items that arrive over time (peer events, calls of a TS endpoint), and promises
 * that resolve once matching items have arrived. Items already received count.
 */
export class Inbox<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();
  #failure: Error | undefined;
  readonly #label: string;

  constructor(label = 'inbox') {
    this.#label = label;
  }

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (!waiter.matches(item)) continue;
      waiter.found.push(item);
      if (waiter.found.length >= waiter.count) this.#settle(waiter, null);
    }
  }

  /** Every item so far that matches. */
  filter(matches: (item: T) => boolean): T[] {
    return this.items.filter(matches);
  }

  /** Resolve with the first `count` matching items, or reject after `timeoutMs`. */
  waitForCount(matches: (item: T) => boolean, count: number, timeoutMs = 20_000): Promise<T[]> {
    const found = this.items.filter(matches).slice(0, count);
    if (found.length >= count) return Promise.resolve(found);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<T[]>((resolve, reject) => {
      const waiter: Waiter<T> = {
        matches,
        count,
        found,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#settle(
            waiter,
            new Error(
              `${this.#label}: timed out after ${timeoutMs} ms waiting for ${count} matching item(s), ` +
                `got ${waiter.found.length}; last items: ${describe(this.items.slice(-5))}`,
            ),
          );
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Resolve with the first matching item, or reject after `timeoutMs`. */
  async waitFor(matches: (item: T) => boolean, timeoutMs = 20_000): Promise<T> {
    const [item] = await this.waitForCount(matches, 1, timeoutMs);
    return item!;
  }

  /** Reject every pending and future wait with `error` (the source is gone). */
  fail(error: Error): void {
    this.#failure = error;
    for (const waiter of [...this.#waiters]) this.#settle(waiter, error);
  }

  #settle(waiter: Waiter<T>, error: Error | null): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (error === null) waiter.resolve(waiter.found);
    else waiter.reject(error);
  }
}

// ---------------------------------------------------------------------------
// Python peers

/** One JSON line printed by a peer. */
export interface PeerEvent {
  readonly event: string;
  readonly id?: number;
  readonly [key: string]: unknown;
}

/** What a peer reports for a failed RPC command (see `describe_exception` in peer.py). */
export interface PeerError {
  readonly class: string;
  readonly module: string;
  readonly mro: string[];
  readonly str: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown> | null;
  readonly remote?: { exc_type: string; value: string; traceback: unknown };
}

/** The answer of a peer to an RPC command. */
export interface PeerResult extends PeerEvent {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: PeerError;
  readonly reply_queue?: string | null;
}

export type PeerRole = 'rpc-server' | 'rpc-client' | 'notifier' | 'listener';

export interface PeerOptions {
  /** `[DEFAULT] control_exchange` of the peer. */
  exchange: string;
  /** Further command-line arguments (see `peer.py --help`). */
  args?: readonly string[];
  /** How long to wait for the `ready` line. @default 30000 */
  readyTimeoutMs?: number;
  /** The peer's own hard limit, in seconds. @default 300 */
  maxSeconds?: number;
  /** Run upstream HEAD instead of Debian's 14.0.3 (see {@link headPeerMissing}). */
  head?: boolean;
}

/** A running Python oslo.messaging peer. */
export class Peer {
  readonly role: PeerRole;
  readonly events: Inbox<PeerEvent>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #exited: Promise<number | null>;
  #stderr = '';
  #nextId = 0;
  #exitCode: number | null | undefined;

  private constructor(role: PeerRole, options: PeerOptions) {
    this.role = role;
    this.events = new Inbox<PeerEvent>(`python ${role}`);
    const argv = [
      PEER_SCRIPT,
      role,
      '--url',
      TRANSPORT_URL,
      '--exchange',
      options.exchange,
      '--max-seconds',
      String(options.maxSeconds ?? 300),
      ...(options.args ?? []),
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
    };
    if (options.head === true) env['PYTHONPATH'] = HEAD_PEER_PATH;
    this.#child = spawn(PYTHON, argv, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      // HEAD's queue manager reads /proc/<process group>/stat: the peer leads its own.
      detached: options.head === true,
    });
    this.#child.stdin.on('error', () => {
      // The peer may exit before reading everything (EPIPE): its exit is reported instead.
    });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (chunk: string) => {
      if (DEBUG) process.stderr.write(`[py ${role} stderr] ${chunk}`);
      this.#stderr = (this.#stderr + chunk).slice(-20_000);
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      if (DEBUG) process.stderr.write(`[py ${role}] ${line}\n`);
      let event: PeerEvent;
      try {
        // As Python wrote it: big ints, whole floats and NaN arrive exactly.
        event = pyLoads(line) as PeerEvent;
      } catch {
        event = { event: 'unparsed', line };
      }
      this.events.push(event);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exitCode = code;
        this.events.fail(
          new Error(
            `python ${role} exited (code ${String(code)}, signal ${String(signal)}); ` +
              `stderr tail:\n${this.stderrTail()}`,
          ),
        );
        resolve(code);
      });
      this.#child.on('error', (error) => {
        this.events.fail(new Error(`python ${role} could not run: ${error.message}`));
        resolve(null);
      });
    });
  }

  /** Start a peer and wait for its `ready` line. Stop it with {@link Peer.stop}. */
  static async start(role: PeerRole, options: PeerOptions): Promise<Peer> {
    const peer = new Peer(role, options);
    try {
      await peer.events.waitFor((e) => e.event === 'ready', options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await peer.stop();
      throw error;
    }
    return peer;
  }

  /** The last lines the peer wrote on stderr (oslo's logs). */
  stderrTail(lines = 40): string {
    return this.#stderr.split('\n').slice(-lines).join('\n');
  }

  /** Write one command line to the peer. */
  send(command: Record<string, unknown>): void {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /**
   * Send a command and wait for the peer's answer (`result` for the RPC client,
   * `sent` for the notifier).
   */
  async request(command: Record<string, unknown>, timeoutMs = 30_000): Promise<PeerResult> {
    const id = ++this.#nextId;
    this.send({ ...command, id });
    const answer = await this.events.waitFor(
      (e) => e.id === id && (e.event === 'result' || e.event === 'sent'),
      timeoutMs,
    );
    return answer as PeerResult;
  }

  /** Events of one kind received so far. */
  all(event: string): PeerEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Kill the peer at once (SIGKILL), as a crashed service; resolves once it exited. */
  async kill(): Promise<void> {
    if (this.#exitCode === undefined && this.#child.exitCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** Stop gracefully (stdin EOF: stop() + wait() on the Python side), kill after a bound. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.#exitCode === undefined && this.#child.exitCode === null) {
      this.#child.stdin.end(`${JSON.stringify({ op: 'stop' })}\n`);
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#child.kill('SIGKILL');
          resolve();
        }, timeoutMs);
      });
      await Promise.race([this.#exited, killed]);
      clearTimeout(timer);
    }
    await this.#exited;
  }
}

// ---------------------------------------------------------------------------
// Broker cleanup

const execFileAsync = promisify(execFile);

async function listNames(kind: 'queues' | 'exchanges'): Promise<string[] | undefined> {
  try {
    const { stdout } = await execFileAsync('rabbitmqctl', ['-q', `list_${kind}`, 'name'], {
      timeout: 30_000,
    });
    return stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && line !== 'name');
  } catch {
    return undefined; // no rabbitmqctl here: only the names tracked explicitly are deleted
  }
}

/** Delete queues, then exchanges. Missing ones are fine (RabbitMQ answers delete-ok). */
export async function deleteFromBroker(
  queues: Iterable<string>,
  exchanges: Iterable<string>,
): Promise<void> {
  const connection = await connect(amqpUrl());
  try {
    let channel = await connection.createChannel();
    const run = async (op: (ch: typeof channel) => Promise<unknown>): Promise<void> => {
      try {
        await op(channel);
      } catch {
        // A channel error (e.g. a queue in use by an exclusive consumer) closes the
        // channel: open another and go on with the next name.
        channel = await connection.createChannel();
      }
    };
    for (const queue of queues) await run((ch) => ch.deleteQueue(queue));
    for (const exchange of exchanges) {
      if (exchange === '' || exchange.startsWith('amq.')) continue;
      await run((ch) => ch.deleteExchange(exchange));
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * What one test creates and must remove: Python peers, TS objects to close, and broker
 * objects. Every name a test makes starts with {@link InteropScope.prefix}; reply queues
 * (which don't) are collected from the peers' `reply_queue` events and results.
 * Cleanup runs in `t.after()`: deferred closers (last first), then the peers, then the
 * broker objects.
 */
export class InteropScope {
  /** Prefix of every broker name of this test. */
  readonly prefix: string;
  /** The control exchange of both sides in this test. */
  readonly exchange: string;
  readonly #deferred: (() => unknown)[] = [];
  readonly #peers: Peer[] = [];
  readonly #queues = new Set<string>();
  readonly #exchanges = new Set<string>();
  #pythonProcesses = 0;

  /**
   * @param hooks - where to register the cleanup: a test's context (`t`), or node:test's
   *   `after` inside a `describe()` for a scope shared by the suite's tests
   */
  constructor(hooks: Pick<TestContext, 'after'> | ((fn: () => Promise<void>) => void)) {
    this.prefix = uniqueName();
    this.exchange = `${this.prefix}_ctl`;
    this.#exchanges.add(this.exchange);
    const cleanup = (): Promise<void> => this.cleanup();
    if (typeof hooks === 'function') hooks(cleanup);
    else hooks.after(cleanup);
  }

  /** A broker name unique to this test: `<prefix>_<label>`. */
  name(label: string): string {
    return `${this.prefix}_${label}`;
  }

  /** A notification pool name unique to this test; its queue is deleted at cleanup. */
  pool(label: string): string {
    const name = this.name(label);
    this.trackQueue(name);
    return name;
  }

  /**
   * The suite profile's `[oslo_messaging_rabbit]` options for one process: under the queue
   * manager each process gets its own `processname` and this test's prefix as `hostname`,
   * so that queue names never collide with another process's or another run's.
   */
  profileOptions(processname: string): Record<string, string> {
    const options: Record<string, string> = { ...PROFILES[SUITE_PROFILE] };
    if (options['use_queue_manager'] === 'true') {
      options['hostname'] = this.prefix;
      options['processname'] = processname;
    }
    return options;
  }

  /**
   * oslo options for a TS transport: the broker, this test's control exchange and the
   * suite profile's rabbit options (under `extra`'s own).
   */
  conf(
    extra: Record<string, Record<string, unknown>> = {},
  ): Record<string, Record<string, unknown>> {
    return {
      ...extra,
      oslo_messaging_rabbit: {
        ...this.profileOptions('node'),
        ...extra['oslo_messaging_rabbit'],
      },
      DEFAULT: {
        transport_url: TRANSPORT_URL,
        control_exchange: this.exchange,
        ...extra['DEFAULT'],
      },
    };
  }

  /** Run `fn` at cleanup, before the peers stop (closers run last registered first). */
  defer(fn: () => unknown): void {
    this.#deferred.push(fn);
  }

  /** Also delete this queue at cleanup (names without the prefix, e.g. reply queues). */
  trackQueue(name: string): void {
    this.#queues.add(name);
  }

  /** Also delete this exchange at cleanup. */
  trackExchange(name: string): void {
    this.#exchanges.add(name);
  }

  /** The queues and exchanges of an RPC topic: `T`, `T.S`, `T_fanout`. */
  trackRpcTopic(topic: string, servers: readonly string[] = []): void {
    this.trackQueue(topic);
    for (const server of servers) this.trackQueue(`${topic}.${server}`);
    this.trackExchange(`${topic}_fanout`);
  }

  /** The notification queues of a topic: `<topic>.<priority>` for every priority. */
  trackNotificationTopic(topic: string): void {
    for (const priority of PRIORITIES) this.trackQueue(`${topic}.${priority}`);
  }

  /** Start a Python peer on this test's control exchange; it is stopped at cleanup. */
  async peer(
    role: PeerRole,
    args: readonly string[] = [],
    options: Partial<PeerOptions> = {},
  ): Promise<Peer> {
    this.#pythonProcesses += 1;
    const profile = rabbitOptArgs(this.profileOptions(`py${this.#pythonProcesses}`));
    const peer = await Peer.start(role, {
      exchange: this.exchange,
      head: SUITE_PEER === 'head',
      ...options,
      // The test's own options come later and win.
      args: [...profile, ...args],
    });
    this.#peers.push(peer);
    return peer;
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.#deferred.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    await Promise.all(this.#peers.map((peer) => peer.stop()));
    for (const peer of this.#peers) {
      for (const event of peer.events.items) {
        if (event.event === 'reply_queue' && typeof event['name'] === 'string') {
          this.#queues.add(event['name']);
        }
        if (typeof event['reply_queue'] === 'string') this.#queues.add(event['reply_queue']);
        if (event.event === 'reply_queues' && Array.isArray(event['names'])) {
          for (const name of event['names']) if (typeof name === 'string') this.#queues.add(name);
        }
      }
    }
    const [queues, exchanges] = await Promise.all([listNames('queues'), listNames('exchanges')]);
    const mine = (name: string): boolean =>
      name.startsWith(this.prefix) || name.startsWith(`reply_${this.prefix}`);
    for (const name of queues?.filter(mine) ?? []) this.#queues.add(name);
    for (const name of exchanges?.filter(mine) ?? []) this.#exchanges.add(name);
    try {
      await deleteFromBroker(this.#queues, this.#exchanges);
    } catch (error) {
      errors.push(error);
    }
    // HEAD's queue manager keeps its counters in /dev/shm/<hostname>_<processname>_qmanager,
    // and this test's hostname is its prefix.
    for (const file of queueManagerFiles(this.prefix)) rmSync(file, { force: true });
    if (errors.length > 0) {
      throw new AggregateError(errors, `interop cleanup of ${this.prefix} failed`);
    }
  }
}

/**
 * The files HEAD's queue manager leaves for Python peers whose hostname is `prefix`: its
 * counters in /dev/shm and its lock files in the peers' lock_path (see peer.py).
 */
function queueManagerFiles(prefix: string): string[] {
  const found: string[] = [];
  const locks = join(tmpdir(), 'omti-peer-locks');
  for (const [dir, matches] of [
    ['/dev/shm', (n: string) => n.startsWith(`${prefix}_`) && n.endsWith('_qmanager')],
    [locks, (n: string) => n.startsWith(`oslo_read_shm_${prefix}_`)],
  ] as const) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (matches(name)) found.push(join(dir, name));
  }
  return found;
}

/**
 * A logger for TS transports whose endpoints fail on purpose: the server's report of
 * an endpoint error (expected in these tests) is dropped unless `OMTI_DEBUG=1`;
 * everything else goes to the default logger.
 */
export function quietLogger(): Logger {
  const expected = [/^Exception during message handling/, /^Callback .* raised an exception/];
  return {
    debug: (message, ...args) => defaultLogger.debug(message, ...args),
    info: (message, ...args) => defaultLogger.info(message, ...args),
    warn: (message, ...args) => defaultLogger.warn(message, ...args),
    error: (message, ...args) => {
      if (DEBUG || !expected.some((re) => re.test(message))) defaultLogger.error(message, ...args);
    },
  };
}

/** Resolve after `ms` (used only to let a negative outcome show, never asserted on). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
