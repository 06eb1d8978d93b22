/**
 * The `oslo-messaging` executable against RabbitMQ: `listen` with `notify`, `call`,
 * `cast` and `ping` against an RPC server in this process. The tool runs as a real child
 * process (`node --import tsx src/cli/main.ts`).
 *
 * Environment: `OMTC_TRANSPORT_URL` (default `rabbit://guest:guest@127.0.0.1:5672/`).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { connect, type Channel } from 'amqplib';

import { Config, getRpcServer, getRpcTransport, silentLogger } from '../../src/index.js';

const URL_ = process.env.OMTC_TRANSPORT_URL ?? 'rabbit://guest:guest@127.0.0.1:5672/';
// Reply queues of the tool's calls are never deleted by their owner (as in oslo): let
// them expire 30 s after the tool exits rather than after 30 minutes.
const CLI_URL = `${URL_}?rabbit_transient_queues_ttl=30`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PRIORITIES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the tool to completion (killed after `timeoutMs`). */
function cli(args: readonly string[], timeoutMs = 30_000): Promise<Run> {
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

/**
 * Start the tool in the background; `ready` resolves once stderr shows `marker` (the
 * `listening` line), `done` when it exits.
 */
function background(
  t: TestContext,
  args: readonly string[],
  marker: RegExp,
  timeoutMs = 30_000,
): { ready: Promise<void>; done: Promise<Run>; signal: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  t.after(() => {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
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
  return { ready, done, signal: (s) => child.kill(s) };
}

function uniqueName(label: string): string {
  return `omtc_${randomBytes(6).toString('hex')}_${label}`;
}

/**
 * The broker through amqplib, for assertions, and the test's teardown: `defer`red steps
 * run last-in first-out, then what `cleanup` named is deleted (servers are closed before
 * their queues go, or they would declare them again).
 */
async function broker(t: TestContext) {
  const u = new URL(URL_.replace(/^rabbit:/, 'amqp:'));
  const vhost = u.pathname === '/' || u.pathname === '' ? '' : u.pathname;
  const conn = await connect(
    `amqp://${u.username || 'guest'}:${u.password || 'guest'}@${u.host}${vhost}`,
  );
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const steps: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
    const errors: unknown[] = [];
    const attempt = async (op: (ch: Channel) => Promise<unknown>): Promise<void> => {
      // One channel per delete: a refused one closes its channel.
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      try {
        await op(ch);
        await ch.close();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const q of queues) await attempt((ch) => ch.deleteQueue(q));
    for (const x of exchanges) await attempt((ch) => ch.deleteExchange(x));
    await conn.close();
    assert.deepEqual(errors, [], 'cleanup failed');
  });
  return {
    /** Delete these at the end of the test. */
    cleanup(names: { queues?: readonly string[]; exchanges?: readonly string[] }) {
      for (const q of names.queues ?? []) queues.add(q);
      for (const x of names.exchanges ?? []) exchanges.add(x);
    },
    /** Run this at the end of the test, before the deletes (last deferred runs first). */
    defer(step: () => Promise<void>) {
      steps.push(step);
    },
    async messageCount(queue: string): Promise<number> {
      const ch = await conn.createChannel();
      try {
        return (await ch.checkQueue(queue)).messageCount;
      } finally {
        await ch.close();
      }
    },
  };
}

type Broker = Awaited<ReturnType<typeof broker>>;

function notificationQueues(topic: string): string[] {
  return PRIORITIES.map((p) => `${topic}.${p}`);
}

/** An RPC server in this process with ping enabled and a few endpoint methods. */
async function rpcServer(b: Broker, exchange: string, topic: string, server: string) {
  const transport = getRpcTransport(Config.from({ DEFAULT: { rpc_ping_enabled: true } }), {
    url: URL_,
    logger: silentLogger,
  });
  const casts: unknown[] = [];
  let onCast: () => void = () => undefined;
  const endpoint = {
    echo: (_ctxt: unknown, args: Record<string, unknown>) => args,
    whoami: (ctxt: Record<string, unknown>) => ctxt['user_id'] ?? null,
    fail: () => {
      throw new RangeError('boom\nsecond line');
    },
    record: (_ctxt: unknown, args: Record<string, unknown>) => {
      casts.push(args);
      onCast();
    },
  };
  const rpc = getRpcServer(transport, { exchange, topic, server }, [endpoint]);
  await rpc.start();
  b.defer(async () => {
    await rpc.close();
    await transport.cleanup();
  });
  return {
    casts,
    nextCast: () => new Promise<void>((resolve) => (onCast = resolve)),
  };
}

test('cli listen - prints the notifications that notify sends, and takes none from other consumers', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('notif');
  b.cleanup({ queues: notificationQueues(topic), exchanges: [exchange] });
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];

  const listen = background(
    t,
    ['listen', ...common, '--count', '2', '--format', 'json'],
    /listening/,
  );
  await listen.ready;
  const first = await cli([
    'notify',
    ...common,
    '--publisher-id',
    'compute.host1',
    '--event-type',
    'compute.instance.create.end',
    '--payload',
    '{"instance_id": "i-1", "n": 1}',
    '--context',
    '{"user_id": "u-1", "auth_token": "SECRET"}',
  ]);
  assert.deepEqual(first, { code: 0, stdout: '', stderr: '' });
  const second = await cli(['notify', ...common, '--priority', 'error', '--event-type', 'e.two']);
  assert.equal(second.code, 0, second.stderr);

  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string | null>);
  assert.equal(lines.length, 2);
  const [one = {}, two = {}] = lines;
  assert.deepEqual(
    { ...one, message_id: undefined, timestamp: undefined },
    {
      exchange,
      routing_key: `${topic}.info`,
      message_id: undefined,
      timestamp: undefined,
      priority: 'INFO',
      publisher_id: 'compute.host1',
      event_type: 'compute.instance.create.end',
      payload: { instance_id: 'i-1', n: 1 },
      // The notifier keeps only the allow-listed context keys (oslo 14.0.3); the tap shows
      // the context as sent, without the client_timeout a receiver adds.
      context: { user_id: 'u-1' },
    },
  );
  assert.match(one['message_id'] ?? '', /^[0-9a-f-]{36}$/);
  assert.match(one['timestamp'] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
  assert.equal(two['priority'], 'ERROR');
  assert.equal(two['event_type'], 'e.two');
  assert.equal(two['publisher_id'], null);

  // The listener tapped: both notifications are still in the shared queues.
  assert.equal(await b.messageCount(`${topic}.info`), 1, 'listen consumed from the shared queue');
  assert.equal(await b.messageCount(`${topic}.error`), 1, 'listen consumed from the shared queue');
});

test('cli listen - --priority, --event-type and --publisher filter what is printed', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('filter');
  b.cleanup({ queues: notificationQueues(topic), exchanges: [exchange] });
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];

  const listen = background(
    t,
    [
      'listen',
      ...common,
      '--priority',
      'error',
      '--event-type',
      '^compute\\.',
      '--publisher',
      '^api',
      '--count',
      '1',
      '--format',
      'json',
    ],
    /listening/,
  );
  await listen.ready;
  const send = async (priority: string, eventType: string, publisher: string): Promise<void> => {
    const r = await cli([
      'notify',
      ...common,
      '--priority',
      priority,
      '--event-type',
      eventType,
      '--publisher-id',
      publisher,
    ]);
    assert.equal(r.code, 0, r.stderr);
  };
  await send('info', 'compute.a', 'api.1'); // wrong priority
  await send('error', 'image.b', 'api.1'); // wrong event type
  await send('error', 'compute.c', 'scheduler.1'); // wrong publisher
  await send('error', 'compute.d', 'api.1');

  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l['event_type']),
    ['compute.d'],
  );
});

test('cli listen - --pool consumes the pool queue; pretty output names the event', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('pool');
  const pool = uniqueName('pool');
  b.cleanup({ queues: [...notificationQueues(topic), pool], exchanges: [exchange] });
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];

  const listen = background(
    t,
    ['listen', ...common, '--pool', pool, '--priority', 'info', '--count', '1'],
    /listening.*pool/,
  );
  await listen.ready;
  const sent = await cli([
    'notify',
    ...common,
    '--event-type',
    'pooled.event',
    '--payload',
    '[1, 2]',
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /INFO\s+pooled\.event\s+publisher=null/);
  assert.match(run.stdout, /\[\n\s+1,\n\s+2\n\s+\]/);
  assert.equal(await b.messageCount(pool), 0);
});

test('cli notify --payload - integers beyond 2^53, NaN and Infinity are on the wire as Python writes them', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('notif');
  b.cleanup({ queues: notificationQueues(topic), exchanges: [exchange] });
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];
  const listen = background(t, ['listen', ...common, '--count', '1', '--raw'], /listening/);
  await listen.ready;
  const sent = await cli([
    'notify',
    ...common,
    '--event-type',
    'e.numbers',
    '--payload',
    '{"big": 123456789012345678901234567890, "nan": NaN, "inf": -Infinity, "f": 1.0}',
  ]);
  assert.deepEqual(sent, { code: 0, stdout: '', stderr: '' });
  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  // The envelope's oslo.message is a JSON string: the payload is in it, quotes escaped.
  assert.ok(
    run.stdout.includes(
      '\\"payload\\": {\\"big\\": 123456789012345678901234567890, \\"nan\\": NaN, \\"inf\\": -Infinity, \\"f\\": 1.0}',
    ),
    run.stdout,
  );
});

test('cli listen - --timeout with too few notifications exits with status 3', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('quiet');
  b.cleanup({ queues: notificationQueues(topic), exchanges: [exchange] });
  const run = await cli([
    'listen',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    '--count',
    '1',
    '--timeout',
    '500',
    '--quiet',
  ]);
  assert.equal(run.code, 3);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, 'oslo-messaging: received 0 of 1 notifications within 500 ms\n');
});

test('cli call - prints the result as JSON; a remote error prints its class and exits 1', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('rpc');
  b.cleanup({ queues: [topic, `${topic}.s1`], exchanges: [exchange] });
  await rpcServer(b, exchange, topic, 's1');
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];

  const ok = await cli(['call', ...common, 'echo', '--args', '{"a": 1, "b": ["x", null]}']);
  assert.deepEqual(ok, { code: 0, stdout: '{"a":1,"b":["x",null]}\n', stderr: '' });

  const direct = await cli([
    'call',
    ...common,
    '--server',
    's1',
    'whoami',
    '--context',
    '{"user_id": "u-9"}',
    '--format',
    'pretty',
  ]);
  assert.deepEqual(direct, { code: 0, stdout: '"u-9"\n', stderr: '' });

  const failed = await cli(['call', ...common, 'fail']);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, '');
  assert.match(failed.stderr, /^oslo-messaging: RemoteError: RangeError: boom second line\n$/);

  const missing = await cli(['call', ...common, 'no_such_method']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^oslo-messaging: RemoteError: .*NoSuchMethod.*no_such_method\n$/);
});

test('cli call --debug - a remote error prints the remote traceback, then the one line', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('rpc');
  b.cleanup({ queues: [topic, `${topic}.s1`], exchanges: [exchange] });
  await rpcServer(b, exchange, topic, 's1');
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];

  const failed = await cli(['call', ...common, 'fail', '--debug']);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, '');
  // The server's traceback (its stack, which names the endpoint method's file) comes first.
  const traceback = /oslo-messaging: remote traceback:\n([\s\S]*?)oslo-messaging: RemoteError/.exec(
    failed.stderr,
  );
  assert.ok(traceback !== null, failed.stderr);
  assert.match(traceback[1] ?? '', /RangeError: boom/);
  assert.match(traceback[1] ?? '', /cli-commands\.test\.ts/);
  assert.match(failed.stderr, /oslo-messaging: RemoteError: RangeError: boom second line\n$/);

  // Without --debug the traceback is not printed.
  const quiet = await cli(['call', ...common, 'fail']);
  assert.doesNotMatch(quiet.stderr, /traceback/);
});

test('cli call --args - integers beyond 2^53, NaN and Infinity go and come back as Python writes them', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('rpc');
  b.cleanup({ queues: [topic, `${topic}.s1`], exchanges: [exchange] });
  await rpcServer(b, exchange, topic, 's1');
  const common = ['--url', CLI_URL, '--exchange', exchange, '--topic', topic];

  const args =
    '{"big": 123456789012345678901234567890, "neg": -9007199254740993, "nan": NaN, "inf": Infinity, "minf": -Infinity}';
  const run = await cli(['call', ...common, 'echo', '--args', args]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    '{"big":123456789012345678901234567890,"neg":-9007199254740993,"nan":NaN,"inf":Infinity,"minf":-Infinity}\n',
  );
  // What JSON can't express and Python can't read either is refused before sending.
  const bad = await cli(['call', ...common, 'echo', '--args', '{"x": nan}']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^oslo-messaging call: --args/);
});

test('cli call - no server answering exits with status 3 after --timeout', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('nobody');
  b.cleanup({ exchanges: [exchange] });
  const run = await cli([
    'call',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    'm',
    '--timeout',
    '500',
  ]);
  assert.equal(run.code, 3);
  assert.match(run.stderr, /^oslo-messaging: MessagingTimeout: [^\n]+\n$/);
});

test('cli ping - no server answering exits with status 3 after --timeout, one line', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  b.cleanup({ exchanges: [exchange] });
  const run = await cli([
    'ping',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    uniqueName('nobody'),
    '--timeout',
    '500',
  ]);
  assert.equal(run.code, 3);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^oslo-messaging: MessagingTimeout: [^\n]+\n$/);
});

test('cli cast - the server receives the arguments', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('cast');
  b.cleanup({ queues: [topic, `${topic}.s1`], exchanges: [exchange] });
  const server = await rpcServer(b, exchange, topic, 's1');
  const received = server.nextCast();
  const run = await cli([
    'cast',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    'record',
    '--args',
    '{"x": 3}',
  ]);
  assert.deepEqual(run, { code: 0, stdout: '', stderr: '' });
  await received;
  assert.deepEqual(server.casts, [{ x: 3 }]);
});

test('cli ping - a server with rpc_ping_enabled answers pong', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('ping');
  b.cleanup({ queues: [topic, `${topic}.s1`], exchanges: [exchange] });
  await rpcServer(b, exchange, topic, 's1');
  const run = await cli([
    'ping',
    '--url',
    CLI_URL,
    '--exchange',
    exchange,
    '--topic',
    topic,
    '--server',
    's1',
    '--count',
    '2',
    '--interval',
    '10',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0] ?? '', new RegExp(`^pong from ${topic}\\.s1: time=\\d+\\.\\d\\d ms$`));
  assert.match(lines[2] ?? '', /^2 pings: min\/avg\/max = /);
});
