/**
 * Benchmarks: this library against Python oslo.messaging (Debian's) and raw amqplib on
 * the local RabbitMQ, in one run, repetitions interleaved, ~1 KB payloads.
 *
 *   npx tsx bench/run.ts [--quick] [--reps N] [--duration S] [--memory N] [--tracing]
 *                        [--impls ours,oslo,raw] [--shapes ...] [--url URL] [--json PATH]
 *
 * Each implementation runs as a server process and a client process (long-lived, driven
 * over stdin/stdout; see protocol.ts). For every shape and repetition each implementation
 * runs once, in a rotating order: a warm-up, then `--duration` seconds of sending with a
 * fixed number in flight. Throughput is end to end: messages sent in the measured window
 * divided by the time from its start until the server received the last of them (for
 * calls, until the last reply). CPU per message is client plus server process CPU over
 * that window; the broker's process CPU over the same window is reported beside it
 * (broker-cpu.ts). The report gives medians, issue 15's table (medians with min-max,
 * per-repetition ours/raw ratios against its goals, machine load) and, with `--tracing`,
 * issue 12's tracing row (two more pairs of our peers: tracing off, SDK registered).
 *
 * Then the memory checks: our notification listener, our RPC server, and the raw amqplib
 * consumer for each, each a fresh process taking `--memory` messages (default 1,000,000)
 * with a bounded backlog; RSS and retained heap are sampled 20 times and judged flat or
 * growing over the second half.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { brokerVersion, deleteAll, feed } from './amqp.js';
import { BrokerCpu } from './broker-cpu.js';
import { buildLibrary } from './library.js';
import { PeerProcess } from './peer-process.js';
import type { ClientResult, ServerResult, Shape } from './protocol.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'payload-size': { type: 'string', default: '1024' },
    impls: { type: 'string', default: 'ours,oslo,raw' },
    shapes: { type: 'string' },
    memory: { type: 'string' },
    'memory-checks': { type: 'string', default: 'listener,rpc-server' },
    'memory-impls': { type: 'string', default: 'ours,raw' },
    profile: { type: 'string' },
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
    json: { type: 'string' },
    tracing: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const REPS = Number(values.reps ?? (quick ? 2 : 5));
const DURATION_MS = Number(values.duration ?? (quick ? 1 : 3)) * 1000;
const WARMUP_MS = Number(values.warmup ?? (quick ? 0.3 : 0.5)) * 1000;
const PAYLOAD = Number(values['payload-size']);
const MEMORY_COUNT = Number(values.memory ?? (quick ? 20_000 : 1_000_000));
/** Memory samples per check. */
const MEMORY_SAMPLES = 20;
/** The backlog the feeder keeps at most in the broker during a memory check. */
const MEMORY_BACKLOG = 20_000;
// Reply and fanout queues expire a minute after their owner left (no 30-minute leftovers).
const URL_ = values.url.includes('?') ? values.url : `${values.url}?rabbit_transient_queues_ttl=60`;

interface ShapeSpec {
  id: string;
  label: string;
  shape: Shape;
  concurrency: number;
  /** Messages are in flight: the shape where we aim at 5x Python. */
  inFlight: boolean;
}

const SHAPES: readonly ShapeSpec[] = [
  {
    id: 'notify-1',
    label: 'notifications, sequential',
    shape: 'notify',
    concurrency: 1,
    inFlight: false,
  },
  {
    id: 'notify-64',
    label: 'notifications, 64 in flight',
    shape: 'notify',
    concurrency: 64,
    inFlight: true,
  },
  { id: 'cast-1', label: 'casts, sequential', shape: 'cast', concurrency: 1, inFlight: false },
  { id: 'cast-64', label: 'casts, 64 in flight', shape: 'cast', concurrency: 64, inFlight: true },
  { id: 'call-1', label: 'calls, sequential', shape: 'call', concurrency: 1, inFlight: false },
  { id: 'call-16', label: 'calls, 16 in flight', shape: 'call', concurrency: 16, inFlight: true },
];
/** A comma-separated option's values, each one of `allowed` ('' gives none). */
function listOption<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value === '' ? [] : value.split(',');
  const unknown = items.filter((v) => !(allowed as readonly string[]).includes(v));
  if (unknown.length > 0) {
    console.error(
      `--${name}: unknown ${unknown.join(', ')} (one or more of ${allowed.join(', ')}, or '')`,
    );
    process.exit(2);
  }
  return items as T[];
}
const MEMORY_KINDS = listOption('memory-checks', values['memory-checks'], [
  'listener',
  'rpc-server',
] as const);
const MEMORY_IMPLS = listOption('memory-impls', values['memory-impls'], ['ours', 'raw'] as const);

const shapes =
  values.shapes === undefined
    ? SHAPES
    : listOption(
        'shapes',
        values.shapes,
        SHAPES.map((s) => s.id),
      ).map((id) => SHAPES.find((s) => s.id === id)!);

/**
 * `ours` is the library as an application gets it (`@opentelemetry/api` installed, no SDK
 * registered); with `--tracing`, `ours-notrace` (tracing and metrics hooks off) and
 * `ours-sdk` (the tracing SDK registered, spans dropped) run too, on the tracing shapes.
 */
type ImplName = 'ours' | 'oslo' | 'raw' | 'ours-notrace' | 'ours-sdk';
const BASE_IMPLS = values.impls.split(',') as ImplName[];
const TRACING_IMPLS: ImplName[] = values.tracing ? ['ours-notrace', 'ours-sdk'] : [];
const IMPLS: ImplName[] = [...BASE_IMPLS, ...TRACING_IMPLS];
/** The shapes of issue 12's tracing row. */
const TRACING_SHAPES = ['call-16', 'notify-64'];
const runsOn = (impl: ImplName, spec: ShapeSpec): boolean =>
  !TRACING_IMPLS.includes(impl) || TRACING_SHAPES.includes(spec.id);

interface Impl {
  name: ImplName;
  server: PeerProcess;
  client: PeerProcess;
  names: { exchange: string; rpcTopic: string; notifyTopic: string };
}

interface Measurement {
  rate: number;
  p50: number;
  p99: number;
  cpuUsPerMsg: number;
  clientCpuUsPerMsg: number;
  serverCpuUsPerMsg: number;
  /** Of the client's and the server's CPU, what was spent in the kernel (system calls). */
  clientSystemUsPerMsg: number;
  serverSystemUsPerMsg: number;
  /** The broker process's CPU over the window (NaN when it cannot be read). */
  brokerCpuUsPerMsg: number;
  sent: number;
  received: number;
  errors: number;
  firstError: string | undefined;
  clientMaxRssKb: number;
  serverMaxRssKb: number;
}

const runId = randomBytes(4).toString('hex');
const brokerCpu = BrokerCpu.find(URL_);

function peerCommand(impl: ImplName, role: string, names: Impl['names']): [string, string[]] {
  const args = [
    role,
    '--url',
    URL_,
    '--exchange',
    names.exchange,
    '--rpc-topic',
    names.rpcTopic,
    '--notify-topic',
    names.notifyTopic,
    '--server',
    'bench',
  ];
  switch (impl) {
    case 'ours':
      return [process.execPath, ['--import', 'tsx', 'bench/peer-ours.ts', ...args]];
    case 'ours-notrace':
    case 'ours-sdk': {
      const mode = impl === 'ours-sdk' ? 'sdk' : 'off';
      return [
        process.execPath,
        ['--import', 'tsx', 'bench/peer-ours.ts', ...args, '--tracing', mode],
      ];
    }
    case 'raw':
      return [process.execPath, ['--import', 'tsx', 'bench/raw-amqplib.ts', ...args]];
    case 'oslo':
      return [PYTHON, ['bench/python/peer.py', ...args]];
  }
}

function namesOf(impl: string): Impl['names'] {
  const base = `omtb_${runId}_${impl}`;
  return { exchange: base, rpcTopic: `${base}_rpc`, notifyTopic: `${base}_notify` };
}

/**
 * With `--profile DIR`, Node peers write a V8 CPU profile of their whole life to DIR when
 * they exit (`<impl>-<role>.<run>.cpuprofile`; open it in Chrome DevTools or speedscope).
 * A profile covers every shape the peer ran, warm-ups included: narrow it with `--shapes`.
 */
function profiled(command: string, args: string[], label: string): string[] {
  if (values.profile === undefined || command !== process.execPath) return args;
  return [
    '--cpu-prof',
    '--cpu-prof-dir',
    values.profile,
    '--cpu-prof-name',
    `${label}.${runId}.cpuprofile`,
    ...args,
  ];
}

async function startImpl(name: ImplName): Promise<Impl> {
  const names = namesOf(name);
  const [scmd, sargs] = peerCommand(name, 'server', names);
  const server = new PeerProcess(
    `${name}-server`,
    scmd,
    profiled(scmd, sargs, `${name}-server`),
    ROOT,
  );
  await server.ready();
  const [ccmd, cargs] = peerCommand(name, 'client', names);
  const client = new PeerProcess(
    `${name}-client`,
    ccmd,
    profiled(ccmd, cargs, `${name}-client`),
    ROOT,
  );
  await client.ready();
  return { name, server, client, names };
}

async function runOnce(
  impl: Impl,
  spec: ShapeSpec,
  durationMs: number,
): Promise<[ClientResult, ServerResult, number]> {
  await impl.server.request({ cmd: 'reset' }, 10_000);
  const broker0 = brokerCpu?.cpuMs() ?? NaN;
  const c = await impl.client.request<ClientResult>(
    {
      cmd: 'run',
      shape: spec.shape,
      concurrency: spec.concurrency,
      durationMs,
      payloadSize: PAYLOAD,
    },
    durationMs + 180_000,
  );
  const s = await impl.server.request<ServerResult>(
    { cmd: 'expect', count: c.sent, timeoutMs: 120_000 },
    130_000,
  );
  return [c, s, (brokerCpu?.cpuMs() ?? NaN) - broker0];
}

async function measure(impl: Impl, spec: ShapeSpec): Promise<Measurement> {
  await runOnce(impl, spec, WARMUP_MS);
  const [c, s, brokerMs] = await runOnce(impl, spec, DURATION_MS);
  const end = spec.shape === 'call' ? c.endAt : Math.max(c.endAt, s.lastAt);
  const seconds = (end - c.startAt) / 1000;
  const per = (ms: number): number => (c.sent > 0 ? (ms * 1000) / c.sent : NaN);
  return {
    rate: c.sent / seconds,
    p50: c.p50,
    p99: c.p99,
    cpuUsPerMsg: per(c.cpuMs + s.cpuMs),
    clientCpuUsPerMsg: per(c.cpuMs),
    serverCpuUsPerMsg: per(s.cpuMs),
    clientSystemUsPerMsg: per(c.systemMs ?? NaN),
    serverSystemUsPerMsg: per(s.systemMs ?? NaN),
    brokerCpuUsPerMsg: per(brokerMs),
    sent: c.sent,
    received: s.received,
    errors: c.errors,
    firstError: c.firstError,
    clientMaxRssKb: c.maxRssKb,
    serverMaxRssKb: s.maxRssKb,
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmtRate = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
const fmtMs = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '-');
const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');
const fmtUs = (x: number): string => (Number.isFinite(x) ? Math.round(x).toString() : '-');

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

type MemoryKind = 'listener' | 'rpc-server';

interface MemoryCheck {
  impl: 'ours' | 'raw';
  kind: MemoryKind;
  count: number;
  seconds: number;
  samples: NonNullable<ServerResult['samples']>;
}

/**
 * One fresh server peer (ours: only a notification listener, or only an RPC server; raw:
 * its consumer) takes `MEMORY_COUNT` messages in oslo's envelope (INFO notifications, or
 * calls whose replies the feeder drops), published as fast as the broker confirms them
 * with at most `MEMORY_BACKLOG` waiting. The peer runs with `--expose-gc`: RSS is sampled
 * as it is, heap used after a full collection, `MEMORY_SAMPLES` times.
 */
async function memoryCheck(impl: 'ours' | 'raw', kind: MemoryKind): Promise<MemoryCheck> {
  const names = namesOf(`mem_${impl}_${kind === 'listener' ? 'l' : 'r'}`);
  const [cmd, args] = peerCommand(impl, 'server', names);
  const only = impl === 'ours' ? [kind === 'listener' ? '--no-rpc' : '--no-notify'] : [];
  const peer = new PeerProcess(`${impl}-${kind}`, cmd, ['--expose-gc', ...args, ...only], ROOT);
  try {
    await peer.ready();
    await peer.request({ cmd: 'reset' }, 10_000);
    const start = performance.now();
    const every = Math.max(1, Math.floor(MEMORY_COUNT / MEMORY_SAMPLES));
    const timeoutMs = Math.max(600_000, MEMORY_COUNT * 3);
    const done = peer.request<ServerResult>(
      { cmd: 'expect', count: MEMORY_COUNT, timeoutMs, sampleEvery: every },
      timeoutMs + 10_000,
    );
    await feed(URL_, {
      exchange: names.exchange,
      topic: kind === 'listener' ? names.notifyTopic : names.rpcTopic,
      kind: kind === 'listener' ? 'notify' : 'call',
      count: MEMORY_COUNT,
      payloadSize: PAYLOAD,
      maxBacklog: MEMORY_BACKLOG,
      until: done,
    });
    const result = await done;
    return {
      impl,
      kind,
      count: result.received,
      seconds: (performance.now() - start) / 1000,
      samples: result.samples ?? [],
    };
  } finally {
    await peer.stop();
    await deleteAll(URL_, {
      queues: [`${names.notifyTopic}.info`, names.rpcTopic, `${names.rpcTopic}.bench`],
      exchanges: [names.exchange, `${names.rpcTopic}_fanout`],
    });
  }
}

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/**
 * The verdict on one memory check. Over the second half of the messages (the samples at
 * or after half the count), a least-squares line through RSS and through heap used (after
 * a full GC); its rise over that half is the growth. Flat when RSS grew by at most
 * max(8 MiB, 5% of its mean over the half) and the heap by at most max(2 MiB, 10% of its
 * mean); growing otherwise.
 */
export function memoryVerdict(check: MemoryCheck): {
  rssGrowthMiB: number;
  heapGrowthMiB: number;
  flat: boolean;
  /** 'flat', 'growing' (the retained heap grows), or 'RSS growing, heap flat'. */
  verdict: string;
} {
  const half = check.samples.filter((s) => s.received >= check.count / 2 && s.received > 0);
  const span = half.length > 1 ? half[half.length - 1]!.received - half[0]!.received : 0;
  const mib = (kb: number): number => kb / 1024;
  const grow = (pick: (s: (typeof half)[number]) => number): [number, number] => {
    const points = half.map((s): [number, number] => [s.received, mib(pick(s))]);
    const mean = points.reduce((a, [, y]) => a + y, 0) / Math.max(1, points.length);
    return [slope(points) * span, mean];
  };
  const [rssGrowthMiB, rssMean] = grow((s) => s.rssKb);
  const [heapGrowthMiB, heapMean] = grow((s) => s.heapKb ?? 0);
  const rssFlat = rssGrowthMiB <= Math.max(8, 0.05 * rssMean);
  const heapFlat = heapGrowthMiB <= Math.max(2, 0.1 * heapMean);
  const verdict = rssFlat && heapFlat ? 'flat' : heapFlat ? 'RSS growing, heap flat' : 'growing';
  return { rssGrowthMiB, heapGrowthMiB, flat: rssFlat && heapFlat, verdict };
}

function renderMemory(memory: readonly MemoryCheck[]): string[] {
  if (memory.length === 0) return [];
  const mib = (kb: number | undefined): string => (kb === undefined ? '-' : (kb / 1024).toFixed(1));
  const every = Math.max(1, Math.floor(MEMORY_COUNT / MEMORY_SAMPLES));
  const lines = [
    `## Memory over ${MEMORY_COUNT.toLocaleString('en-US')} messages`,
    '',
    `A fresh server process per check takes ${MEMORY_COUNT.toLocaleString('en-US')} messages in oslo's 2.0 envelope (${PAYLOAD} B payload): INFO notifications for the listener, calls for the RPC server (it replies to each); published as fast as the broker confirms them, with at most ${MEMORY_BACKLOG.toLocaleString('en-US')} waiting in the queue. RSS (as it is) and V8 heap used (after a full GC, \`--expose-gc\`), in MiB, sampled every ${every.toLocaleString('en-US')} messages. Verdict: over the second half of the messages, a least-squares line through the samples; flat when it rises by at most max(8 MiB, 5%) for RSS and max(2 MiB, 10%) for the heap; "RSS growing, heap flat" means what grew is not held by JavaScript (V8's reserved heap, Buffers and other memory outside the heap, the allocator): see the last two columns.`,
    '',
    '| check | impl | messages | s | RSS first / last / max | heap first / last / max | 2nd-half growth RSS / heap | verdict | heap reserved first / last / max | external first / last / max |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const m of memory) {
    const rss = m.samples.map((s) => s.rssKb);
    const heap = m.samples.map((s) => s.heapKb ?? 0);
    const fml = (xs: (number | undefined)[]): string => {
      const ok = xs.filter((x): x is number => x !== undefined);
      return ok.length === 0 ? '-' : `${mib(ok[0])} / ${mib(ok.at(-1))} / ${mib(Math.max(...ok))}`;
    };
    const v = memoryVerdict(m);
    const signed = (x: number): string =>
      Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)}` : '-';
    lines.push(
      `| ${m.kind} | ${m.impl} | ${m.count.toLocaleString('en-US')} | ${m.seconds.toFixed(0)} | ${mib(rss[0])} / ${mib(rss.at(-1))} / ${mib(Math.max(...rss))} | ${mib(heap[0])} / ${mib(heap.at(-1))} / ${mib(Math.max(...heap))} | ${signed(v.rssGrowthMiB)} / ${signed(v.heapGrowthMiB)} | ${m.count < MEMORY_COUNT ? '**incomplete**' : v.flat ? 'flat' : `**${v.verdict}**`}${MEMORY_COUNT < 200_000 ? ' (short run)' : ''} | ${fml(m.samples.map((s) => s.heapTotalKb))} | ${fml(m.samples.map((s) => s.externalKb))} |`,
    );
  }
  if (MEMORY_COUNT < 200_000) {
    lines.push(
      '',
      `A short run (under 200,000 messages) is still inside V8's warm-up, where the heap reserves and RSS steps up while the young generation grows: its verdict is indicative only; the verdict that counts is over 1,000,000.`,
    );
  }
  const cols = memory.map((m) => `${m.kind} ${m.impl}`);
  lines.push(
    '',
    'Samples (RSS / heap, MiB):',
    '',
    `| received | ${cols.join(' | ')} |`,
    `| ---: |${' ---: |'.repeat(cols.length)}`,
  );
  const rows = Math.max(...memory.map((m) => m.samples.length));
  for (let i = 0; i < rows; i++) {
    const received = memory.find((m) => m.samples[i] !== undefined)?.samples[i]?.received ?? 0;
    const cells = memory.map((m) => {
      const s = m.samples[i];
      return s === undefined ? '-' : `${mib(s.rssKb)} / ${mib(s.heapKb)}`;
    });
    lines.push(`| ${received.toLocaleString('en-US')} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/**
 * The broker process's CPU rate (ms per second) over 2 s before the run, while no peer of
 * ours runs: its own background work and whatever others do on it. NaN without a figure.
 */
async function brokerIdleRate(): Promise<number> {
  if (brokerCpu === undefined) return NaN;
  const t0 = performance.now();
  const c0 = brokerCpu.cpuMs();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return ((brokerCpu.cpuMs() - c0) * 1000) / (performance.now() - t0);
}

function machine(broker: string): string[] {
  const cpus = os.cpus();
  let python: string;
  try {
    python = execFileSync(
      PYTHON,
      [
        '-c',
        'import sys, oslo_messaging, importlib.metadata as m; print(sys.version.split()[0], m.version("oslo.messaging"))',
      ],
      { encoding: 'utf8' },
    ).trim();
  } catch {
    python = 'unavailable';
  }
  return [
    `- CPU: ${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown'}`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node.js ${process.version}; amqplib ${amqplibVersion()}; Python ${python.replace(' ', ', oslo.messaging ')}`,
    `- broker: ${broker} on 127.0.0.1 (same machine)`,
  ];
}

function amqplibVersion(): string {
  try {
    const pkg = readFileSync(
      new URL('../node_modules/amqplib/package.json', import.meta.url),
      'utf8',
    );
    return (JSON.parse(pkg) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  buildLibrary(log);
  const loadBefore = loadAverage();
  const broker = await brokerVersion(URL_);
  const brokerIdle = await brokerIdleRate();
  log(
    `run ${runId}: ${IMPLS.join(', ')}; ${shapes.length} shapes x ${REPS} reps of ${DURATION_MS / 1000} s`,
  );
  const impls: Impl[] = [];
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted; finishing the current measurement');
  });
  const results = new Map<string, Map<ImplName, Measurement[]>>();
  const peakRss = new Map<string, number>();
  try {
    for (const name of IMPLS) impls.push(await startImpl(name));
    for (const spec of shapes) {
      const active = impls.filter((i) => runsOn(i.name, spec));
      const byImpl = new Map<ImplName, Measurement[]>(active.map((i) => [i.name, []]));
      results.set(spec.id, byImpl);
      // Before a shape's first repetition, every implementation runs it once unmeasured for
      // as long as a measurement (at least 1 s): its code for this shape is then compiled
      // and its connections and reply queues are up, whatever it ran before (the tracing
      // peers, for one, run only two shapes and would otherwise be measured cold).
      for (const impl of active) {
        if (interrupted) break;
        await runOnce(impl, spec, Math.max(1000, DURATION_MS));
      }
      log(`${spec.id}: warmed up`);
      for (let rep = 0; rep < REPS && !interrupted; rep++) {
        // Rotate the order each repetition so no implementation always goes first, and
        // reverse it every other repetition so none always follows the same one (a plain
        // rotation keeps each implementation's predecessor: ours would always run right
        // after raw, in whatever state raw's burst left the broker).
        const rotated = active.map((_, i) => active[(i + rep) % active.length]!);
        const order = rep % 2 === 1 ? rotated.reverse() : rotated;
        for (const impl of order) {
          if (interrupted) break;
          const m = await measure(impl, spec);
          byImpl.get(impl.name)!.push(m);
          for (const [peer, kb] of [
            [impl.server.name, m.serverMaxRssKb],
            [impl.client.name, m.clientMaxRssKb],
          ] as const) {
            peakRss.set(peer, Math.max(peakRss.get(peer) ?? 0, kb));
          }
          const lost = m.received < m.sent ? ` LOST ${m.sent - m.received}` : '';
          const errs = m.errors > 0 ? ` errors ${m.errors} (${m.firstError ?? ''})` : '';
          log(
            `${spec.id} rep ${rep + 1} ${impl.name}: ${fmtRate(m.rate)} msg/s p50 ${fmtMs(m.p50)} ms cpu ${fmtUs(m.cpuUsPerMsg)} us/msg${lost}${errs}`,
          );
        }
      }
    }
  } finally {
    await Promise.all(impls.flatMap((i) => [i.server.stop(), i.client.stop()]));
    await deleteAll(URL_, {
      queues: IMPLS.flatMap((n) => {
        const names = namesOf(n);
        return [names.rpcTopic, `${names.rpcTopic}.bench`, `${names.notifyTopic}.info`];
      }),
      exchanges: IMPLS.flatMap((n) => [namesOf(n).exchange, `${namesOf(n).rpcTopic}_fanout`]),
    });
  }

  const memory: MemoryCheck[] = [];
  if (MEMORY_COUNT > 0 && !interrupted) {
    for (const kind of MEMORY_KINDS) {
      for (const impl of MEMORY_IMPLS) {
        if (interrupted) break;
        log(`memory check, ${kind} (${impl}): ${MEMORY_COUNT} messages`);
        const m = await memoryCheck(impl, kind);
        const v = memoryVerdict(m);
        log(
          `memory check, ${kind} (${impl}): ${m.count} in ${m.seconds.toFixed(0)} s, ${v.verdict} (2nd half: RSS ${v.rssGrowthMiB.toFixed(1)} MiB, heap ${v.heapGrowthMiB.toFixed(1)} MiB)`,
        );
        memory.push(m);
      }
    }
  }
  const minutes = (performance.now() - started) / 60_000;
  const report = renderReport(results, peakRss, memory, {
    broker,
    brokerIdle,
    minutes,
    loadBefore,
    loadAfter: loadAverage(),
  });
  process.stdout.write(report);
  if (values.json !== undefined) {
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          runId,
          results: Object.fromEntries([...results].map(([k, v]) => [k, Object.fromEntries(v)])),
          peakRss: Object.fromEntries(peakRss),
          memory,
        },
        null,
        2,
      ),
    );
  }
}

/** How the broker's CPU was measured, and what inflates it. */
function brokerNote(brokerIdle: number): string[] {
  if (brokerCpu === undefined) {
    return ['Broker CPU: not measured (no local broker process found; set BENCH_BROKER_PID).'];
  }
  return [
    `Broker CPU: user + system time of the broker's OS process (pid ${brokerCpu.pid}, ${brokerCpu.name()}, found by ${brokerCpu.source}) over each measured window, per message. It includes the broker's own background work and whatever others do on a shared broker: ${Number.isFinite(brokerIdle) ? `${brokerIdle.toFixed(0)} ms of CPU per second` : 'not measured'} in the 2 s before the run, with none of this run's peers connected. That load inflates every figure, more so for slower implementations (the same background work over fewer messages): compare the ratios within a run, not figures across runs.`,
  ];
}

interface RunInfo {
  broker: string;
  brokerIdle: number;
  minutes: number;
  loadBefore: string;
  loadAfter: string;
}

/** The command that produced this report, as one can paste it. */
function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`));
  return ['npx tsx bench/run.ts', ...args].join(' ');
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

function loadWarning(run: RunInfo): string {
  const cores = os.cpus().length;
  const one = (l: string): number => Number(l.split(' / ')[0]);
  return Math.max(one(run.loadBefore), one(run.loadAfter)) > cores
    ? `: above the core count, others were busy (figures are noisy; read the ratios)`
    : '';
}

/** The goals of issue 15, ours against raw amqplib, per shape. */
const ISSUE15: Record<string, { rate?: number; p50?: number; cpu?: number; broker: number }> = {
  'notify-64': { rate: 0.9, cpu: 1.25, broker: 1.1 },
  'cast-64': { rate: 0.9, cpu: 1.25, broker: 1.1 },
  'call-16': { rate: 0.8, cpu: 1.25, broker: 1.1 },
  'call-1': { p50: 1.15, broker: 1.1 },
};

/** `median (min-max)` of a metric over the repetitions. */
function spread(xs: readonly number[], fmt: (x: number) => string): string {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return '-';
  if (ok.length === 1) return fmt(ok[0]!);
  return `${fmt(median(ok))} (${fmt(Math.min(...ok))}–${fmt(Math.max(...ok))})`;
}

/**
 * Issue 15's report: per shape, every implementation's medians with their min-max over
 * the repetitions, then ours/raw ratios taken repetition by repetition (both ran in the same
 * repetition, one after the other) against the goals.
 */
function renderIssue15(results: Map<string, Map<ImplName, Measurement[]>>, run: RunInfo): string[] {
  const ids = shapes.map((s) => s.id).filter((id) => id in ISSUE15);
  if (ids.length === 0 || !IMPLS.includes('ours') || !IMPLS.includes('raw')) return [];
  const lines: string[] = [
    '## Issue 15: ours against raw amqplib',
    '',
    `Command: \`${commandLine()}\` (run ${runId}, ${run.minutes.toFixed(1)} minutes).`,
    '',
    `Machine load: ${os.cpus().length} cores; load average (1/5/15 min) before the run ${run.loadBefore}, after ${run.loadAfter}${loadWarning(run)}. Broker CPU at rest before the run: ${Number.isFinite(run.brokerIdle) ? `${run.brokerIdle.toFixed(0)} ms per second` : 'not measured'}.`,
    '',
    `Medians over ${REPS} interleaved repetitions (min–max). CPU is client + server process CPU; broker is the broker process's CPU over the same window.`,
    '',
    '| shape | impl | msg/s | p50 ms | CPU µs/msg (client + server) | broker CPU µs/msg |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  const of = (id: string, impl: ImplName): Measurement[] => results.get(id)?.get(impl) ?? [];
  for (const id of ids) {
    for (const impl of BASE_IMPLS) {
      const ms = of(id, impl);
      if (ms.length === 0) continue;
      lines.push(
        `| ${id} | ${impl} | ${spread(
          ms.map((m) => m.rate),
          fmtRate,
        )} | ${spread(
          ms.map((m) => m.p50),
          fmtMs,
        )} | ${spread(
          ms.map((m) => m.cpuUsPerMsg),
          fmtUs,
        )} | ${spread(
          ms.map((m) => m.brokerCpuUsPerMsg),
          fmtUs,
        )} |`,
      );
    }
  }
  lines.push(
    '',
    'Ratios ours/raw: the median of the per-repetition ratios (min–max), against the goals of issue 15:',
    '',
    '| shape | metric | ours/raw | goal | status |',
    '| --- | --- | ---: | ---: | --- |',
  );
  let met = 0;
  let total = 0;
  for (const id of ids) {
    const ours = of(id, 'ours');
    const raw = of(id, 'raw');
    const n = Math.min(ours.length, raw.length);
    const ratios = (key: keyof Measurement): number[] =>
      Array.from({ length: n }, (_, i) => (ours[i]![key] as number) / (raw[i]![key] as number));
    const goal = ISSUE15[id]!;
    const rows: [string, keyof Measurement, number | undefined, 'min' | 'max'][] = [
      ['throughput', 'rate', goal.rate, 'min'],
      ['p50 latency', 'p50', goal.p50, 'max'],
      ['CPU per message (client + server)', 'cpuUsPerMsg', goal.cpu, 'max'],
      ['broker CPU per message', 'brokerCpuUsPerMsg', goal.broker, 'max'],
    ];
    for (const [label, key, limit, kind] of rows) {
      const rs = ratios(key);
      const m = median(rs);
      let status = '';
      if (limit !== undefined) {
        total += 1;
        const ok = kind === 'min' ? m >= limit : m <= limit;
        if (!Number.isFinite(m)) status = 'not measured';
        else if (ok) {
          met += 1;
          status = 'met';
        } else status = '**not met**';
      }
      const goalText =
        limit === undefined ? '' : `${kind === 'min' ? '≥' : '≤'} ${limit.toFixed(2)}x`;
      lines.push(`| ${id} | ${label} | ${spread(rs, fmtRatio)} | ${goalText} | ${status} |`);
    }
  }
  lines.push('', `Goals met: ${met} of ${total}.`);
  return lines;
}

/**
 * Issue 12's benchmark row: throughput of ours with tracing off, with the API and no SDK,
 * and with the SDK registered, as ratios to tracing off taken repetition by repetition.
 */
function renderTracing(results: Map<string, Map<ImplName, Measurement[]>>): string[] {
  const ids = shapes.map((s) => s.id).filter((id) => TRACING_SHAPES.includes(id));
  if (TRACING_IMPLS.length === 0 || ids.length === 0 || !IMPLS.includes('ours')) return [];
  const lines = [
    '## Tracing overhead (issue 12)',
    '',
    `Ours in three pairs of processes, interleaved with the rest: tracing and metrics hooks off (\`tracing: false, metrics: false\`); \`@opentelemetry/api\` installed and no SDK registered (the default, as in every other row); the tracing SDK registered in both peers (\`BasicTracerProvider\`, a \`BatchSpanProcessor\` whose exporter drops the spans, \`AsyncLocalStorageContextManager\`). Medians over ${REPS} repetitions (min–max); ratios to tracing off are the median of the per-repetition ratios. Goal (issue 12): API without an SDK ≥ 0.98x.`,
    '',
    '| shape | tracing off msg/s | API, no SDK msg/s | API, no SDK / off | SDK msg/s | SDK / off | CPU µs/msg off / API / SDK | goal |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const id of ids) {
    const of = (impl: ImplName): Measurement[] => results.get(id)?.get(impl) ?? [];
    const off = of('ours-notrace');
    const ratio = (impl: ImplName): number[] => {
      const xs = of(impl);
      const n = Math.min(xs.length, off.length);
      return Array.from({ length: n }, (_, i) => xs[i]!.rate / off[i]!.rate);
    };
    const rates = (impl: ImplName): string =>
      spread(
        of(impl).map((m) => m.rate),
        fmtRate,
      );
    const cpu = (impl: ImplName): string => fmtUs(median(of(impl).map((m) => m.cpuUsPerMsg)));
    const api = median(ratio('ours'));
    const status = !Number.isFinite(api) ? 'not measured' : api >= 0.98 ? 'met' : '**not met**';
    lines.push(
      `| ${id} | ${rates('ours-notrace')} | ${rates('ours')} | ${spread(ratio('ours'), fmtRatio)} | ${rates('ours-sdk')} | ${spread(ratio('ours-sdk'), fmtRatio)} | ${cpu('ours-notrace')} / ${cpu('ours')} / ${cpu('ours-sdk')} | ${status} |`,
    );
  }
  lines.push(
    '',
    'On a shared machine one repetition varies by more than the 2% the goal allows: judge it on many repetitions (the min–max shows how far one run can be trusted), and on the CPU per message.',
  );
  return lines;
}

function renderReport(
  results: Map<string, Map<ImplName, Measurement[]>>,
  peakRss: Map<string, number>,
  memory: readonly MemoryCheck[],
  run: RunInfo,
): string {
  const { broker, brokerIdle, minutes } = run;
  const med = (shape: string, impl: ImplName, key: keyof Measurement): number =>
    median((results.get(shape)?.get(impl) ?? []).map((m) => m[key] as number));
  const lines: string[] = [];
  lines.push(
    `Machine:`,
    '',
    ...machine(broker),
    `- load average (1/5/15 min) before: ${run.loadBefore}; after: ${run.loadAfter} (${os.cpus().length} cores)${loadWarning(run)}`,
    '',
  );
  lines.push(
    `Run: \`${commandLine()}\`: ${REPS} repetitions x ${DURATION_MS / 1000} s per shape and implementation, interleaved; payload ${PAYLOAD} bytes; ${minutes.toFixed(1)} minutes in all. Medians.`,
    '',
  );
  lines.push(
    '| shape | ours msg/s | oslo msg/s | raw msg/s | ours/oslo | ours/raw | p50 ms ours / oslo / raw | p99 ms ours / oslo / raw | CPU µs/msg ours / oslo / raw | broker CPU µs/msg ours / oslo / raw |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const verdicts: string[] = [];
  for (const spec of shapes) {
    const r = (impl: ImplName): number => med(spec.id, impl, 'rate');
    const ours = r('ours');
    const oslo = r('oslo');
    const raw = r('raw');
    const p50 = (i: ImplName): number => med(spec.id, i, 'p50');
    const p99 = (i: ImplName): number => med(spec.id, i, 'p99');
    const cpu = (i: ImplName): number => med(spec.id, i, 'cpuUsPerMsg');
    const bcpu = (i: ImplName): number => med(spec.id, i, 'brokerCpuUsPerMsg');
    lines.push(
      `| ${spec.label} | ${fmtRate(ours)} | ${fmtRate(oslo)} | ${fmtRate(raw)} | ${fmtRatio(ours / oslo)} | ${fmtRatio(ours / raw)} | ${fmtMs(p50('ours'))} / ${fmtMs(p50('oslo'))} / ${fmtMs(p50('raw'))} | ${fmtMs(p99('ours'))} / ${fmtMs(p99('oslo'))} / ${fmtMs(p99('raw'))} | ${fmtUs(cpu('ours'))} / ${fmtUs(cpu('oslo'))} / ${fmtUs(cpu('raw'))} | ${fmtUs(bcpu('ours'))} / ${fmtUs(bcpu('oslo'))} / ${fmtUs(bcpu('raw'))} |`,
    );
    const misses: string[] = [];
    if (ours / raw < 0.8) misses.push(`${fmtRatio(ours / raw)} of raw (target >= 0.80x)`);
    if (spec.id === 'call-1' && p50('ours') / p50('raw') > 1.25) {
      misses.push(`p50 ${fmtRatio(p50('ours') / p50('raw'))} raw's (target <= 1.25x)`);
    }
    if (spec.inFlight && ours / oslo < 5)
      misses.push(`${fmtRatio(ours / oslo)} Python (target >= 5x)`);
    verdicts.push(
      `- ${spec.label}: ${misses.length === 0 ? 'meets the targets' : `misses: ${misses.join('; ')}`}`,
    );
  }
  lines.push(
    '',
    'Targets (every shape >= 0.8x raw amqplib, sequential calls p50 <= 1.25x raw, >= 5x Python with messages in flight):',
    '',
    ...verdicts,
    '',
  );
  lines.push(
    'CPU split, client + server µs/msg (of which in system calls), and the broker (medians):',
    '',
  );
  for (const spec of shapes) {
    const part = (i: ImplName): string =>
      `${i} ${fmtUs(med(spec.id, i, 'clientCpuUsPerMsg'))} (${fmtUs(med(spec.id, i, 'clientSystemUsPerMsg'))}) + ${fmtUs(med(spec.id, i, 'serverCpuUsPerMsg'))} (${fmtUs(med(spec.id, i, 'serverSystemUsPerMsg'))}) (broker ${fmtUs(med(spec.id, i, 'brokerCpuUsPerMsg'))})`;
    lines.push(`- ${spec.label}: ${BASE_IMPLS.map(part).join('; ')}`);
  }
  lines.push('', ...brokerNote(brokerIdle), '', ...renderIssue15(results, run));
  lines.push('', ...renderTracing(results));
  lines.push('', 'Peak RSS over the whole run (MiB):', '');
  for (const impl of IMPLS) {
    const s = peakRss.get(`${impl}-server`);
    const c = peakRss.get(`${impl}-client`);
    const mib = (kb: number | undefined): string =>
      kb === undefined ? '-' : (kb / 1024).toFixed(0);
    lines.push(`- ${impl}: server ${mib(s)}, client ${mib(c)}`);
  }
  lines.push('', ...renderMemory(memory));
  return `${lines.join('\n')}\n`;
}

await main();
process.exit(0);
