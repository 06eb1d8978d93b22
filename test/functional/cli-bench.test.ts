/**
 * `oslo-messaging bench` as a real child process: `all` in one process on `fake://`, and
 * the server and client roles in two processes on RabbitMQ.
 *
 * Environment: `OMTC_TRANSPORT_URL` (default `rabbit://guest:guest@127.0.0.1:5672/`).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { connect, type Channel } from 'amqplib';

const URL_ = process.env.OMTC_TRANSPORT_URL ?? 'rabbit://guest:guest@127.0.0.1:5672/';
// The client's reply queue expires 30 s after it exits (its owner never deletes it).
const CLI_URL = `${URL_}?rabbit_transient_queues_ttl=30`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function background(t: TestContext, args: readonly string[], marker: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (marker.test(stderr)) resolve();
    });
    void done.then((run) => reject(new Error(`exited before ready: ${JSON.stringify(run)}`)));
  });
  ready.catch(() => undefined);
  return { ready, done, signal: (s: NodeJS.Signals) => child.kill(s) };
}

function uniqueName(label: string): string {
  return `omtc_${randomBytes(6).toString('hex')}_${label}`;
}

/** Deletes the named queues and exchanges once the test's processes are gone. */
function cleanup(t: TestContext, queues: readonly string[], exchanges: readonly string[]): void {
  t.after(async () => {
    const u = new URL(URL_.replace(/^rabbit:/, 'amqp:'));
    const vhost = u.pathname === '/' || u.pathname === '' ? '' : u.pathname;
    const conn = await connect(
      `amqp://${u.username || 'guest'}:${u.password || 'guest'}@${u.host}${vhost}`,
    );
    const attempt = async (op: (ch: Channel) => Promise<unknown>): Promise<void> => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await op(ch);
      await ch.close();
    };
    for (const q of queues) await attempt((ch) => ch.deleteQueue(q));
    for (const x of exchanges) await attempt((ch) => ch.deleteExchange(x));
    await conn.close();
  });
}

test('cli bench all - runs RPC and notification servers and clients in one process (fake://)', async () => {
  const run = await cli([
    'bench',
    'all',
    '--url',
    'fake://',
    '--topic',
    uniqueName('bench'),
    '--messages',
    '200',
    '--concurrency',
    '8',
    '--payload-size',
    '100',
    '--format',
    'json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no progress bar when stderr is not a terminal');
  const reports = JSON.parse(run.stdout);
  assert.deepEqual(
    reports.map((r: { role: string; sent?: number; received?: number; errors?: number }) => [
      r.role,
      r.sent ?? r.received,
      r.errors ?? 0,
    ]),
    [
      ['rpc-client (call)', 200, 0],
      ['rpc-server', 200, 0],
      ['notify-client', 200, 0],
      ['notify-server', 200, 0],
    ],
  );
  for (const r of reports) {
    assert.ok(r.rate > 0, `${r.role} rate`);
    assert.ok(r.latencyMs.p50 <= r.latencyMs.p90 && r.latencyMs.p90 <= r.latencyMs.p99);
  }
});

test('cli bench rpc-server and rpc-client - two processes on RabbitMQ; Ctrl-C prints the server summary', async (t) => {
  const exchange = uniqueName('x');
  const topic = uniqueName('bench_rpc');
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];
  const server = background(t, ['bench', 'rpc-server', ...common, '--server', 's1'], /listening/);
  cleanup(t, [topic, `${topic}.s1`], [exchange]);
  await server.ready;

  const calls = await cli([
    'bench',
    'rpc-client',
    ...common,
    '--messages',
    '60',
    '--concurrency',
    '4',
    '--format',
    'json',
  ]);
  assert.equal(calls.code, 0, calls.stderr);
  const report = JSON.parse(calls.stdout);
  assert.equal(report.role, 'rpc-client (call)');
  assert.equal(report.sent, 60);
  assert.equal(report.errors, 0);

  const casts = await cli(['bench', 'rpc-client', ...common, '--mode', 'cast', '--messages', '40']);
  assert.equal(casts.code, 0, casts.stderr);
  assert.match(casts.stdout, /^rpc-client \(cast\): 40 sent in [\d.]+ s: [\d,]+ msg\/s$/m);
  assert.match(casts.stdout, /^ {2}latency p50 [\d.]+ ms {2}p90 [\d.]+ ms {2}p99 [\d.]+ ms$/m);
  assert.match(casts.stdout, /^ {2}errors 0$/m);

  // Casts may still be on their way: give the server a moment before stopping it.
  await new Promise((resolve) => setTimeout(resolve, 500));
  server.signal('SIGINT');
  const run = await server.done;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^rpc-server: 100 received in [\d.]+ s/m);
});

test('cli bench notify-server --messages - exits once the notify-client sent them all', async (t) => {
  const exchange = uniqueName('x');
  const topic = uniqueName('bench_notify');
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];
  const server = background(
    t,
    ['bench', 'notify-server', ...common, '--messages', '30', '--format', 'json'],
    /listening/,
  );
  cleanup(t, [`${topic}.info`], [exchange]);
  await server.ready;

  const sent = await cli([
    'bench',
    'notify-client',
    ...common,
    '--messages',
    '30',
    '--concurrency',
    '8',
    '--payload-size',
    '1024',
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^notify-client: 30 sent/m);

  const run = await server.done;
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.equal(report.role, 'notify-server');
  assert.equal(report.received, 30);
  assert.equal(report.malformed, 0);
});

test('cli bench all - fanout to 3 servers with a handler delay; writes JSON and an SVG chart (fake://)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omtc_bench_'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'run.json');
  const chart = join(dir, 'run.svg');
  const run = await cli([
    'bench',
    'all',
    '--url',
    'fake://',
    '--kind',
    'rpc',
    '--mode',
    'fanout',
    '--servers',
    '3',
    '--delay',
    '1',
    '--messages',
    '20',
    '--concurrency',
    '4',
    '--json',
    json,
    '--chart',
    chart,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^rpc-client \(fanout\): 20 sent/m);
  assert.match(run.stdout, /^rpc-server: 60 received/m);
  const written = JSON.parse(await readFile(json, 'utf8'));
  assert.equal(written.settings.servers, 3);
  assert.deepEqual(
    written.reports.map((r: { role: string }) => r.role),
    ['rpc-client (fanout)', 'rpc-server'],
  );
  const svg = await readFile(chart, 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /throughput/);
  assert.match(svg, /p99/);
});

test('cli bench all - a requeue storm counts the deliveries given back and still receives every notification (RabbitMQ)', async (t) => {
  const exchange = uniqueName('x');
  const topic = uniqueName('storm');
  cleanup(t, [`${topic}.info`], [exchange]);
  const run = await cli([
    'bench',
    'all',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    '--kind',
    'notify',
    '--requeue-ratio',
    '0.5',
    '--messages',
    '40',
    '--concurrency',
    '4',
    '--format',
    'json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const [client, server] = JSON.parse(run.stdout);
  assert.equal(client.sent, 40);
  assert.equal(server.received, 40);
  assert.ok(server.requeued > 0, 'nothing was requeued');
});

/** True when the broker has a queue (or an exchange) of that name: a passive declare. */
async function exists(kind: 'queue' | 'exchange', name: string): Promise<boolean> {
  const u = new URL(URL_.replace(/^rabbit:/, 'amqp:'));
  const vhost = u.pathname === '/' || u.pathname === '' ? '' : u.pathname;
  const conn = await connect(
    `amqp://${u.username || 'guest'}:${u.password || 'guest'}@${u.host}${vhost}`,
  );
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await (kind === 'queue' ? ch.checkQueue(name) : ch.checkExchange(name));
    await ch.close();
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

interface Entry {
  role: string;
  implementation?: string;
  sent?: number;
  received?: number;
  rate: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

test('cli bench all --baseline - cast and notify on raw amqplib, then the library; JSON, chart and ratios name both (RabbitMQ)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omtc_bench_'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const exchange = uniqueName('x');
  const topic = uniqueName('base');
  cleanup(t, [topic, `${topic}.${hostname()}`, `${topic}.info`], [exchange]);
  const json = join(dir, 'run.json');
  const chart = join(dir, 'run.svg');
  const run = await cli([
    'bench',
    'all',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    '--mode',
    'cast',
    '--messages',
    '30',
    '--concurrency',
    '4',
    '--payload-size',
    '200',
    '--baseline',
    '--json',
    json,
    '--chart',
    chart,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^raw-amqplib rpc-client \(cast\): 30 sent/m);
  assert.match(run.stdout, /^oslo-messaging rpc-client \(cast\): 30 sent/m);
  assert.match(run.stdout, /^raw-amqplib notify-server: 30 received/m);
  assert.match(run.stdout, /^oslo-messaging notify-server: 30 received/m);
  assert.match(
    run.stdout,
    /^library\/raw rpc-client \(cast\): throughput [\d.]+x {2}latency p50 [\d.]+x {2}p90 [\d.]+x {2}p99 [\d.]+x$/m,
  );
  assert.match(run.stdout, /^library\/raw notify-client: throughput [\d.]+x/m);

  const written = JSON.parse(await readFile(json, 'utf8'));
  assert.equal(written.settings.baseline, true);
  assert.deepEqual(
    written.reports.map((r: Entry) => [r.implementation, r.role, r.sent ?? r.received]),
    [
      ['raw-amqplib', 'rpc-client (cast)', 30],
      ['raw-amqplib', 'rpc-server', 30],
      ['oslo-messaging', 'rpc-client (cast)', 30],
      ['oslo-messaging', 'rpc-server', 30],
      ['raw-amqplib', 'notify-client', 30],
      ['raw-amqplib', 'notify-server', 30],
      ['oslo-messaging', 'notify-client', 30],
      ['oslo-messaging', 'notify-server', 30],
    ],
  );
  for (const r of written.reports as Entry[]) {
    assert.ok(r.rate > 0, `${r.implementation} ${r.role} rate`);
    assert.ok(r.latencyMs.p50 <= r.latencyMs.p99, `${r.implementation} ${r.role} latency`);
  }
  const clients = (written.reports as Entry[]).filter((r) => r.role === 'rpc-client (cast)');
  const ratio = written.ratios.find((r: { role: string }) => r.role === 'rpc-client (cast)');
  assert.ok(Math.abs(ratio.throughput - clients[1]!.rate / clients[0]!.rate) < 1e-9);
  assert.equal(written.ratios.length, 4);

  // The baseline's own exchange and queues, oslo's names with a unique part, are gone.
  assert.equal(written.baseline.length, 2);
  for (const declared of written.baseline) {
    assert.match(declared.exchange, new RegExp(`^${exchange}_raw_[0-9a-f]{8}$`));
    assert.ok(declared.queues.length > 0);
    assert.equal(await exists('exchange', declared.exchange), false, declared.exchange);
    for (const q of declared.queues) assert.equal(await exists('queue', q), false, q);
  }
  const queues = written.baseline.flatMap((d: { queues: string[] }) => d.queues);
  assert.ok(
    queues.some((q: string) => /_raw_[0-9a-f]{8}$/.test(q)),
    'the <topic> queue',
  );
  assert.ok(
    queues.some((q: string) => /_raw_[0-9a-f]{8}\.info$/.test(q)),
    'the <topic>.info queue',
  );

  const svg = await readFile(chart, 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, />raw-amqplib</);
  assert.match(svg, />oslo-messaging</);
  assert.match(svg, /rpc-client \(cast\) raw-amqplib: [\d.]+ msg\/s/);
  assert.match(svg, /rpc-client \(cast\) oslo-messaging: [\d.]+ msg\/s/);
  assert.match(svg, /notify-client p99 raw-amqplib: [\d.]+ ms/);
  assert.match(svg, /oslo-messaging\/raw-amqplib throughput: rpc-client \(cast\) [\d.]+x/);
});

test('cli bench all --baseline - calls with a reply queue on raw amqplib, then the library (RabbitMQ, --format json)', async (t) => {
  const exchange = uniqueName('x');
  const topic = uniqueName('base_call');
  cleanup(t, [topic, `${topic}.${hostname()}`], [exchange]);
  const run = await cli([
    'bench',
    'all',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    '--kind',
    'rpc',
    '--messages',
    '24',
    '--concurrency',
    '3',
    '--baseline',
    '--format',
    'json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const { reports, ratios } = JSON.parse(run.stdout);
  assert.deepEqual(
    reports.map((r: Entry & { errors?: number }) => [
      r.implementation,
      r.role,
      r.sent ?? r.received,
      r.errors ?? 0,
    ]),
    [
      ['raw-amqplib', 'rpc-client (call)', 24, 0],
      ['raw-amqplib', 'rpc-server', 24, 0],
      ['oslo-messaging', 'rpc-client (call)', 24, 0],
      ['oslo-messaging', 'rpc-server', 24, 0],
    ],
  );
  assert.deepEqual(
    ratios.map((r: { role: string }) => r.role),
    ['rpc-client (call)', 'rpc-server'],
  );
  assert.ok(ratios[0].throughput > 0);
});

test('cli bench --baseline - refused where there is no baseline (exit 2)', async () => {
  const fake = await cli(['bench', 'all', '--url', 'fake://', '--baseline', '--messages', '5']);
  assert.equal(fake.code, 2, fake.stderr);
  assert.match(fake.stderr, /RabbitMQ only/);
  const client = await cli(['bench', 'rpc-client', '--url', CLI_URL, '--baseline']);
  assert.equal(client.code, 2, client.stderr);
  assert.match(client.stderr, /--baseline needs the role all/);
  const fanout = await cli(['bench', 'all', '--url', CLI_URL, '--mode', 'fanout', '--baseline']);
  assert.equal(fanout.code, 2, fanout.stderr);
  assert.match(fanout.stderr, /not fanout/);
});
