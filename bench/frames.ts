/**
 * What the broker sees per message: the bench peers of this library ("ours",
 * bench/peer-ours.ts, public API) and of raw amqplib (bench/raw-amqplib.ts) talk to
 * RabbitMQ through counting proxies (bench/frame-proxy.ts), one for the client peer and one
 * for the server peer, and a fixed number of messages of each shape is sent. Prints, per
 * shape, the AMQP frames and methods per message in each direction for ours against raw,
 * then the totals including connection setup, warm-up and teardown.
 *
 *   npx tsx bench/frames.ts [--shapes notify-64,cast-64,call-16,call-1] [--count 2000]
 *                           [--warmup 100] [--impls ours,raw] [--url URL] [--json PATH]
 *
 * Per message = frames counted from the start of a shape's measured batch until the server
 * received all of it (for calls, the client got every reply) and both proxies were quiet
 * for 200 ms (so late acks count), divided by `--count`. Each shape first sends
 * `--warmup` messages (not in the per-message figures: lazy setup such as the reply
 * queue lands there). Counts are exact, not timed: one run is enough, and the machine's
 * load does not change them (except heartbeats, and acks a consumer batches by timing).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { deleteAll } from './amqp.js';
import { diff, FrameProxy, type Counts, type ProxyCounts } from './frame-proxy.js';
import { buildLibrary } from './library.js';
import { PeerProcess } from './peer-process.js';
import type { ClientResult, ServerResult, Shape } from './protocol.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'notify-64,cast-64,call-16,call-1' },
    count: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '100' },
    impls: { type: 'string', default: 'ours,raw' },
    'payload-size': { type: 'string', default: '1024' },
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
    json: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const WARMUP = Number(values.warmup);
const PAYLOAD = Number(values['payload-size']);
const URL_ = values.url.includes('?') ? values.url : `${values.url}?rabbit_transient_queues_ttl=60`;

interface ShapeSpec {
  id: string;
  shape: Shape;
  concurrency: number;
}
const SHAPES = values.shapes.split(',').map((id): ShapeSpec => {
  const m = /^(notify|cast|call)-(\d+)$/.exec(id);
  if (m === null) throw new Error(`unknown shape ${id} (notify-N, cast-N, call-N)`);
  return { id, shape: m[1] as Shape, concurrency: Number(m[2]) };
});

type ImplName = 'ours' | 'oslo' | 'raw';
const IMPLS = values.impls.split(',').map((i): ImplName => {
  if (i !== 'ours' && i !== 'oslo' && i !== 'raw') {
    throw new Error(`unknown impl ${i} (ours, oslo, raw)`);
  }
  return i;
});
const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';

const runId = randomBytes(4).toString('hex');

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

/** The broker's host and port in a transport URL (first host). */
function brokerOf(url: string): { host: string; port: number } {
  const u = new URL(url.replace(/^(rabbit|kombu):/, 'amqp:'));
  return { host: u.hostname === '' ? '127.0.0.1' : u.hostname, port: Number(u.port || 5672) };
}

/** The same URL with its (first) host replaced by the proxy's address. */
function viaProxy(url: string, port: number): string {
  return url.replace(/^([a-z]+:\/\/(?:[^@/]*@)?)[^/?,]+(?:,[^/?]+)?/, `$1127.0.0.1:${port}`);
}

function namesOf(impl: string): { exchange: string; rpcTopic: string; notifyTopic: string } {
  const base = `omtb_${runId}_frames_${impl}`;
  return { exchange: base, rpcTopic: `${base}_rpc`, notifyTopic: `${base}_notify` };
}

function peer(impl: ImplName, role: 'server' | 'client', url: string): PeerProcess {
  const n = namesOf(impl);
  const [command, prefix] =
    impl === 'oslo'
      ? [PYTHON, ['bench/python/peer.py']]
      : [
          process.execPath,
          ['--import', 'tsx', impl === 'ours' ? 'bench/peer-ours.ts' : 'bench/raw-amqplib.ts'],
        ];
  return new PeerProcess(
    `${impl}-${role}`,
    command,
    [
      ...prefix,
      role,
      '--url',
      url,
      '--exchange',
      n.exchange,
      '--rpc-topic',
      n.rpcTopic,
      '--notify-topic',
      n.notifyTopic,
      '--server',
      'bench',
    ],
    ROOT,
  );
}

/** Both proxies' counts at one moment: `client.up` is what the client peer sent. */
interface Snapshot {
  client: ProxyCounts;
  server: ProxyCounts;
}

function snap(client: FrameProxy, server: FrameProxy): Snapshot {
  return { client: client.snapshot(), server: server.snapshot() };
}

function delta(after: Snapshot, before: Snapshot): Snapshot {
  return {
    client: {
      up: diff(after.client.up, before.client.up),
      down: diff(after.client.down, before.client.down),
    },
    server: {
      up: diff(after.server.up, before.server.up),
      down: diff(after.server.down, before.server.down),
    },
  };
}

/** Until neither proxy saw bytes for `quietMs` (at most `maxMs`). */
async function settle(proxies: FrameProxy[], quietMs = 200, maxMs = 5000): Promise<void> {
  const start = performance.now();
  for (;;) {
    const last = Math.max(...proxies.map((p) => p.lastActivity));
    const now = performance.now();
    if (now - last >= quietMs || now - start >= maxMs) return;
    await new Promise((resolve) => setTimeout(resolve, Math.max(20, quietMs - (now - last))));
  }
}

interface ImplResult {
  impl: ImplName;
  /** From the first connection until both peers were ready. */
  setup: Snapshot;
  /** Per shape: the warm-up batch (lazy setup lands here) and the measured batch. */
  shapes: Record<string, { warmup: Snapshot; measured: Snapshot; sent: number; received: number }>;
  /** From the end of the last batch until the peers exited. */
  teardown: Snapshot;
  total: Snapshot;
}

async function batch(
  server: PeerProcess,
  client: PeerProcess,
  spec: ShapeSpec,
  messages: number,
): Promise<{ sent: number; received: number }> {
  await server.request({ cmd: 'reset' }, 10_000);
  const c = await client.request<ClientResult>(
    {
      cmd: 'run',
      shape: spec.shape,
      concurrency: spec.concurrency,
      durationMs: 0,
      messages,
      payloadSize: PAYLOAD,
    },
    300_000,
  );
  if (c.errors > 0) throw new Error(`${client.name}: ${c.errors} errors (${c.firstError ?? ''})`);
  const s = await server.request<ServerResult>(
    { cmd: 'expect', count: c.sent, timeoutMs: 60_000 },
    70_000,
  );
  return { sent: c.sent, received: s.received };
}

async function runImpl(impl: ImplName): Promise<ImplResult> {
  const broker = brokerOf(URL_);
  const cp = new FrameProxy('client', broker);
  const sp = new FrameProxy('server', broker);
  const proxies = [cp, sp];
  const cport = await cp.listen();
  const sport = await sp.listen();
  const server = peer(impl, 'server', viaProxy(URL_, sport));
  let client: PeerProcess | undefined;
  const zero = snap(cp, sp);
  const result: Partial<ImplResult> & { shapes: ImplResult['shapes'] } = { impl, shapes: {} };
  try {
    await server.ready();
    client = peer(impl, 'client', viaProxy(URL_, cport));
    await client.ready();
    await settle(proxies);
    let last = snap(cp, sp);
    result.setup = delta(last, zero);
    for (const spec of SHAPES) {
      if (WARMUP > 0) await batch(server, client, spec, WARMUP);
      await settle(proxies);
      const before = snap(cp, sp);
      const { sent, received } = await batch(server, client, spec, COUNT);
      await settle(proxies);
      const after = snap(cp, sp);
      result.shapes[spec.id] = {
        warmup: delta(before, last),
        measured: delta(after, before),
        sent,
        received,
      };
      last = after;
      log(`${impl} ${spec.id}: ${sent} sent, ${received} received`);
    }
    await Promise.all([client.stop(), server.stop()]);
    await settle(proxies, 100, 2000);
    const end = snap(cp, sp);
    result.teardown = delta(end, last);
    result.total = delta(end, zero);
    return result as ImplResult;
  } finally {
    await Promise.all([client?.stop(), server.stop()]);
    await cp.close();
    await sp.close();
    const n = namesOf(impl);
    await deleteAll(URL_, {
      queues: [n.rpcTopic, `${n.rpcTopic}.bench`, `${n.notifyTopic}.info`],
      exchanges: [n.exchange, `${n.rpcTopic}_fanout`],
    });
  }
}

// ---- report ----

const STREAMS = [
  ['client', 'up', 'client → broker'],
  ['client', 'down', 'broker → client'],
  ['server', 'up', 'server → broker'],
  ['server', 'down', 'broker → server'],
] as const;

const get = (s: Snapshot, peerName: 'client' | 'server', dir: 'up' | 'down', key: string): number =>
  s[peerName][dir].get(key) ?? 0;

const sum = (s: Snapshot, key: string): number =>
  STREAMS.reduce((acc, [p, d]) => acc + get(s, p, d, key), 0);

/** Keys reported row by row, in this order; then every method name seen, sorted. */
const FIXED_KEYS = [
  'socket reads',
  'frames',
  'methods',
  'content header',
  'content body',
  'heartbeat',
  'bytes',
  'content header bytes',
  'content body bytes',
];
const NOT_METHODS = new Set([
  ...FIXED_KEYS,
  'channels',
  'connections',
  'protocol header',
  'unparsed',
]);

function keysOf(snaps: Snapshot[]): string[] {
  const methods = new Set<string>();
  for (const s of snaps)
    for (const [p, d] of STREAMS)
      for (const k of s[p][d].keys()) if (!NOT_METHODS.has(k)) methods.add(k);
  return [...FIXED_KEYS, ...[...methods].sort()];
}

const fmtPer = (x: number): string =>
  !Number.isFinite(x)
    ? '-'
    : x === 0
      ? '0'
      : x >= 100
        ? Math.round(x).toString()
        : x.toFixed(x >= 10 ? 1 : 2);
const fmtRatio = (a: number, b: number): string =>
  b === 0 ? (a === 0 ? '' : 'raw 0') : `${(a / b).toFixed(2)}x`;
const fmtInt = (x: number): string => x.toLocaleString('en-US');

function render(results: ImplResult[]): string {
  const lines: string[] = [];
  const ours = results.find((r) => r.impl === 'ours');
  const raw = results.find((r) => r.impl === 'raw');
  const cols = results.map((r) => r.impl);
  lines.push(
    `Command: \`npx tsx bench/frames.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}\` (${fmtInt(COUNT)} messages per shape after ${WARMUP} warm-up, payload ${PAYLOAD} bytes; run ${runId}).`,
    '',
    'Per message, all four streams together (client and server peers, both directions):',
    '',
    `| shape | ${cols.map((c) => `frames ${c}`).join(' | ')} | ${cols.map((c) => `methods ${c}`).join(' | ')} | ${cols.map((c) => `bytes ${c}`).join(' | ')} |${ours && raw ? ' frames ours/raw | bytes ours/raw |' : ''}`,
    `| --- |${' ---: |'.repeat(cols.length * 3 + (ours && raw ? 2 : 0))}`,
  );
  for (const spec of SHAPES) {
    const per = (r: ImplResult, key: string): number =>
      sum(r.shapes[spec.id]!.measured, key) / COUNT;
    const row = [spec.id];
    for (const key of ['frames', 'methods', 'bytes'])
      for (const r of results) row.push(fmtPer(per(r, key)));
    if (ours && raw) {
      row.push(fmtRatio(per(ours, 'frames'), per(raw, 'frames')));
      row.push(fmtRatio(per(ours, 'bytes'), per(raw, 'bytes')));
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  for (const spec of SHAPES) {
    const snaps = results.map((r) => r.shapes[spec.id]!.measured);
    lines.push(
      '',
      `${spec.id} (${spec.shape}, ${spec.concurrency} in flight): per message, by stream`,
      '',
      `| stream | frame | ${cols.join(' | ')} |${ours && raw ? ' ours − raw |' : ''}`,
      `| --- | --- |${' ---: |'.repeat(cols.length + (ours && raw ? 1 : 0))}`,
    );
    for (const [p, d, label] of STREAMS) {
      for (const key of keysOf(snaps)) {
        const vals = snaps.map((s) => get(s, p, d, key) / COUNT);
        if (vals.every((v) => v === 0)) continue;
        const extra =
          ours && raw
            ? ` ${fmtPer(get(ours.shapes[spec.id]!.measured, p, d, key) / COUNT - get(raw.shapes[spec.id]!.measured, p, d, key) / COUNT)} |`
            : '';
        lines.push(`| ${label} | ${key} | ${vals.map(fmtPer).join(' | ')} |${extra}`);
      }
    }
  }
  // Totals, setup included.
  lines.push(
    '',
    'Totals (frames, all four streams), setup included:',
    '',
    `| phase | ${cols.join(' | ')} |`,
    `| --- |${' ---: |'.repeat(cols.length)}`,
  );
  const phase = (label: string, pick: (r: ImplResult) => Snapshot): void => {
    lines.push(`| ${label} | ${results.map((r) => fmtInt(sum(pick(r), 'frames'))).join(' | ')} |`);
  };
  phase('setup (connect until both peers ready)', (r) => r.setup);
  for (const spec of SHAPES) {
    phase(`${spec.id}: warm-up (${WARMUP} messages)`, (r) => r.shapes[spec.id]!.warmup);
    phase(`${spec.id}: measured (${fmtInt(COUNT)} messages)`, (r) => r.shapes[spec.id]!.measured);
  }
  phase('teardown (until the peers exited)', (r) => r.teardown);
  phase('total', (r) => r.total);
  lines.push(
    `| connections (client peer + server peer) | ${results.map((r) => `${get(r.total, 'client', 'up', 'connections')} + ${get(r.total, 'server', 'up', 'connections')}`).join(' | ')} |`,
    `| channels (client peer + server peer) | ${results.map((r) => `${get(r.total, 'client', 'up', 'channels')} + ${get(r.total, 'server', 'up', 'channels')}`).join(' | ')} |`,
    `| bytes | ${results.map((r) => fmtInt(sum(r.total, 'bytes'))).join(' | ')} |`,
  );
  // Methods outside the measured batches: setup, warm-ups, teardown.
  const outside = (r: ImplResult): Snapshot => {
    let s = r.total;
    for (const spec of SHAPES) s = delta(s, r.shapes[spec.id]!.measured);
    return s;
  };
  const outs = results.map(outside);
  lines.push(
    '',
    'Methods outside the measured batches (setup, warm-ups, teardown), client and server peers, both directions:',
    '',
    `| method | ${cols.join(' | ')} |`,
    `| --- |${' ---: |'.repeat(cols.length)}`,
  );
  for (const key of keysOf(outs)) {
    if (FIXED_KEYS.includes(key)) continue;
    lines.push(`| ${key} | ${outs.map((s) => fmtInt(sum(s, key))).join(' | ')} |`);
  }
  const unparsed = results.filter((r) => sum(r.total, 'unparsed') > 0);
  if (unparsed.length > 0) {
    lines.push(
      '',
      `WARNING: unparsed bytes (${unparsed.map((r) => r.impl).join(', ')}): the counts are incomplete.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function toJson(s: Snapshot): object {
  const o = (c: Counts): object => Object.fromEntries(c);
  return {
    client: { up: o(s.client.up), down: o(s.client.down) },
    server: { up: o(s.server.up), down: o(s.server.down) },
  };
}

async function main(): Promise<void> {
  buildLibrary(log);
  log(
    `run ${runId}: ${IMPLS.join(', ')}; ${SHAPES.map((s) => s.id).join(', ')}; ${COUNT} messages each`,
  );
  const results: ImplResult[] = [];
  for (const impl of IMPLS) results.push(await runImpl(impl));
  process.stdout.write(render(results));
  if (values.json !== undefined) {
    writeFileSync(
      values.json,
      JSON.stringify(
        results.map((r) => ({
          impl: r.impl,
          setup: toJson(r.setup),
          teardown: toJson(r.teardown),
          total: toJson(r.total),
          shapes: Object.fromEntries(
            Object.entries(r.shapes).map(([k, v]) => [
              k,
              {
                sent: v.sent,
                received: v.received,
                warmup: toJson(v.warmup),
                measured: toJson(v.measured),
              },
            ]),
          ),
        })),
        null,
        2,
      ),
    );
  }
}

await main();
process.exit(0);
