/**
 * Where the CPU goes per message: runs a bench shape with the server and client peers of
 * one implementation under V8's sampling profiler, then prints per message how much of
 * each process's time went to this library (by module), amqplib, Node's own modules,
 * garbage collection and socket writes. Start-up (module loading) is left out.
 *
 *   npx tsx scripts/profile.ts [--impl ours|raw] [--shape notify|cast|call]
 *                              [--concurrency N] [--duration S] [--out DIR] [--url URL]
 *
 * The `.cpuprofile` files stay in DIR (default `profile-out/`, one folder per process),
 * for Chrome's DevTools or any flame-graph viewer. The peers are the benchmark's
 * (bench/peer-ours.ts, bench/raw-amqplib.ts), so the figures compare with bench/run.ts.
 * A sampling profile counts wall time on the CPU's behalf: a system call that waits for
 * the kernel (a socket write waking the broker) shows as its full duration.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { deleteAll } from '../bench/amqp.js';
import { buildLibrary } from '../bench/library.js';
import { PeerProcess } from '../bench/peer-process.js';
import type { ClientResult, ServerResult, Shape } from '../bench/protocol.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'ours' },
    shape: { type: 'string', default: 'call' },
    concurrency: { type: 'string', default: '16' },
    duration: { type: 'string', default: '10' },
    out: { type: 'string', default: 'profile-out' },
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
  },
});

const impl = values.impl;
if (impl !== 'ours' && impl !== 'raw') throw new Error('--impl is ours or raw');
const shape = values.shape as Shape;
if (!['notify', 'cast', 'call'].includes(shape)) throw new Error('--shape is notify, cast or call');
const concurrency = Number(values.concurrency);
const durationMs = Number(values.duration) * 1000;
const out = values.out;
const url = values.url.includes('?') ? values.url : `${values.url}?rabbit_transient_queues_ttl=60`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The group a sampled function's time is counted in. */
function category(fn: string, file: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (file === '' && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(fn)) {
    return 'socket writes';
  }
  if (/tsx|\/esm\/|\/cjs\/|source_map|modules\/|cjs-module-lexer/.test(file)) return 'start-up';
  if (file.includes('/node_modules/amqplib/')) return 'amqplib';
  if (/\/(src|dist)\/cli\//.test(file) || file.includes('/bench/')) return 'bench harness';
  const ours = /\/(?:src|dist)\/(.+)\.[jt]s$/.exec(file);
  if (ours?.[1] !== undefined) return `library: ${ours[1]}`;
  if (file.startsWith('node:')) return 'node';
  return 'other (V8, microtasks)';
}

function summarise(dir: string, messages: number): Map<string, number> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  // The main thread's profile is the largest (tsx's loader thread has its own).
  const main = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (main === undefined) throw new Error(`no profile in ${dir}`);
  const profile = JSON.parse(readFileSync(main, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return;
    const key = category(frame.functionName, frame.url);
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  for (const [key, us] of totals) totals.set(key, us / messages);
  return totals;
}

function peer(role: 'server' | 'client', names: Record<string, string>): PeerProcess {
  const dir = join(out, `${impl}-${role}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const script = impl === 'ours' ? 'bench/peer-ours.ts' : 'bench/raw-amqplib.ts';
  return new PeerProcess(
    `${impl}-${role}`,
    process.execPath,
    [
      '--cpu-prof',
      '--cpu-prof-dir',
      dir,
      '--import',
      'tsx',
      script,
      role,
      '--url',
      url,
      '--exchange',
      names['exchange']!,
      '--rpc-topic',
      names['rpcTopic']!,
      '--notify-topic',
      names['notifyTopic']!,
      '--server',
      'profile',
    ],
    ROOT,
  );
}

async function main(): Promise<void> {
  buildLibrary((line) => process.stderr.write(`${line}\n`));
  const base = `omtp_${randomBytes(4).toString('hex')}`;
  const names = { exchange: base, rpcTopic: `${base}_rpc`, notifyTopic: `${base}_notify` };
  const server = peer('server', names);
  await server.ready();
  const client = peer('client', names);
  await client.ready();
  let measured: { sent: number; rate: number };
  try {
    const run = (ms: number): Promise<ClientResult> =>
      client.request<ClientResult>(
        { cmd: 'run', shape, concurrency, durationMs: ms, payloadSize: 1024 },
        ms + 180_000,
      );
    const warm = await run(1000);
    await server.request({ cmd: 'expect', count: warm.sent, timeoutMs: 60_000 }, 70_000);
    await server.request({ cmd: 'reset' }, 10_000);
    const result = await run(durationMs);
    const received = await server.request<ServerResult>(
      { cmd: 'expect', count: result.sent, timeoutMs: 120_000 },
      130_000,
    );
    const end = shape === 'call' ? result.endAt : Math.max(result.endAt, received.lastAt);
    measured = { sent: result.sent, rate: result.sent / ((end - result.startAt) / 1000) };
  } finally {
    await client.stop();
    await server.stop();
    await deleteAll(url, {
      queues: [names.rpcTopic, `${names.rpcTopic}.profile`, `${names.notifyTopic}.info`],
      exchanges: [names.exchange, `${names.rpcTopic}_fanout`],
    }).catch(() => undefined);
  }
  const { sent, rate } = measured;
  // Every message the processes handled, warm-up included: the profiles cover it all.
  const messages = sent + Math.round(rate); // about one second of warm-up at the same rate
  process.stdout.write(
    `${impl} ${shape} c${concurrency}: ${sent} messages in ${durationMs / 1000} s ` +
      `(${Math.round(rate)}/s); profiles in ${out}/\n`,
  );
  process.stdout.write(
    '\nµs per message (sampled wall time of each process, start-up left out)\n\n',
  );
  for (const role of ['client', 'server'] as const) {
    const totals = summarise(join(out, `${impl}-${role}`), messages);
    totals.delete('start-up');
    const idle = totals.get('idle') ?? 0;
    totals.delete('idle');
    const library = [...totals].filter(([k]) => k.startsWith('library: '));
    const libraryTotal = library.reduce((sum, [, us]) => sum + us, 0);
    const busy = [...totals.values()].reduce((sum, us) => sum + us, 0);
    process.stdout.write(`${role}: busy ${busy.toFixed(1)} µs, idle ${idle.toFixed(1)} µs\n`);
    const groups = [...totals].filter(([k]) => !k.startsWith('library: '));
    if (libraryTotal > 0) groups.push(['library (all modules)', libraryTotal]);
    for (const [key, us] of groups.sort((a, b) => b[1] - a[1])) {
      process.stdout.write(`  ${us.toFixed(1).padStart(7)}  ${key}\n`);
    }
    for (const [key, us] of library.sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      process.stdout.write(`  ${us.toFixed(1).padStart(7)}    ${key.slice('library: '.length)}\n`);
    }
    process.stdout.write('\n');
  }
}

await main();
