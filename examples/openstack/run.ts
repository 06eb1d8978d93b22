/**
 * Runs examples/openstack end to end: starts the Python Nova-like service, waits until it
 * is listening, runs the Node consumer against it, then stops the service by its PID.
 * The service's lines are prefixed `[nova-like]`, the consumer's `[node]`; both write
 * their logs to stderr.
 *
 * Needs RabbitMQ (examples/openstack/nova.conf: 127.0.0.1:5672, guest/guest) and a Python
 * with oslo.messaging: `PYTHON` (default /usr/bin/python3, Debian's python3-oslo.messaging).
 *
 * Run: npm run example:openstack
 *
 * Options, passed on to both sides (all optional): --exchange NAME (control_exchange,
 * default nova), --topic NAME (RPC topic, compute), --notification-topic NAME
 * (notifications), --host NAME (the service's host, default this machine's name),
 * --transport-url URL; to the consumer: --pool NAME; to the service: --debug
 * (oslo.messaging's debug logs on stderr).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    exchange: { type: 'string' },
    topic: { type: 'string', default: 'compute' },
    'notification-topic': { type: 'string' },
    host: { type: 'string', default: hostname() },
    'transport-url': { type: 'string' },
    pool: { type: 'string' },
    debug: { type: 'boolean', default: false },
  },
});

const PYTHON = process.env['PYTHON'] ?? '/usr/bin/python3';
const SERVICE = fileURLToPath(new URL('./nova_like_service.py', import.meta.url));
const CONSUMER = fileURLToPath(new URL('./consumer.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const CONSUMER_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

let service: ChildProcess | undefined;
let consumer: ChildProcess | undefined;

/** `--name value` for each option that is set. */
function flags(options: Record<string, string | undefined>): string[] {
  return Object.entries(options).flatMap(([name, value]) =>
    value === undefined ? [] : [`--${name}`, value],
  );
}

const shared = flags({
  exchange: args.exchange,
  topic: args.topic,
  host: args.host,
  'notification-topic': args['notification-topic'],
  'transport-url': args['transport-url'],
});

/** Copy a child's stdout to ours, each line prefixed; `onLine` sees each line. */
function forward(child: ChildProcess, prefix: string, onLine?: (line: string) => void): void {
  if (child.stdout === null) return;
  createInterface({ input: child.stdout }).on('line', (line) => {
    console.log(`${prefix} ${line}`);
    onLine?.(line);
  });
}

/** Resolves with the exit code (or the signal's name) once `child` has exited. */
function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else if (child.signalCode !== null) resolve(child.signalCode);
    else child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
}

/** Settles as `promise`, or as `fallback()` (its value, or what it throws) after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(fallback());
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Start the service and wait for its `ready` line. */
async function startService(): Promise<ChildProcess> {
  const argv = [
    SERVICE,
    ...shared,
    '--max-seconds',
    String((READY_TIMEOUT_MS + CONSUMER_TIMEOUT_MS + STOP_TIMEOUT_MS) / 1000),
    ...(args.debug ? ['--debug'] : []),
  ];
  console.log(`[run] starting the Python service: ${PYTHON} ${argv.join(' ')}`);
  const child = spawn(PYTHON, argv, {
    // stdin stays open: the service stops at its end, should this process die.
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
  });
  service = child;
  const ready = new Promise<void>((resolve, reject) => {
    forward(child, '[nova-like]', (line) => {
      if (line === 'ready') resolve();
    });
    child.once('error', reject);
    void exited(child).then((code) =>
      reject(new Error(`the Python service exited (${code}) before it was ready`)),
    );
  });
  await within(ready, READY_TIMEOUT_MS, () => {
    throw new Error(`the Python service was not ready within ${READY_TIMEOUT_MS} ms`);
  });
  return child;
}

let stopping: Promise<void> | undefined;

/** SIGTERM to the service's PID; SIGKILL if it has not exited in time. Once. */
function stopService(child: ChildProcess): Promise<void> {
  stopping ??= (async () => {
    if (child.pid === undefined) return; // it never started
    if (child.exitCode === null && child.signalCode === null) {
      console.log(`[run] stopping the Python service (pid ${child.pid})`);
      process.kill(child.pid, 'SIGTERM');
    }
    const code = await within(exited(child), STOP_TIMEOUT_MS, () => {
      child.kill('SIGKILL');
      return 'killed';
    });
    console.log(`[run] the Python service exited (${code})`);
  })();
  return stopping;
}

/** Run the consumer to its end; resolves with its exit code. */
async function runConsumer(): Promise<number | string> {
  const argv = [...shared, ...flags({ pool: args.pool })];
  console.log(`[run] starting the Node consumer: consumer.ts ${argv.join(' ')}`);
  // The consumer is TypeScript: run it with the tsx loader this script runs under.
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), CONSUMER, ...argv],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  consumer = child;
  forward(child, '[node]');
  return within(exited(child), CONSUMER_TIMEOUT_MS, () => {
    child.kill('SIGKILL');
    return `killed after ${CONSUMER_TIMEOUT_MS} ms`;
  });
}

// Interrupted (Ctrl-C, SIGTERM): stop both children, then the finally block below ends.
const interrupted = (): void => {
  consumer?.kill('SIGTERM');
  if (service !== undefined) void stopService(service);
};
process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
try {
  await startService();
  const code = await runConsumer();
  console.log(`[run] the Node consumer exited (${code})`);
  if (code !== 0) process.exitCode = 1;
} catch (err) {
  console.error('[run] failed:', err);
  process.exitCode = 1;
} finally {
  if (service !== undefined) await stopService(service);
  process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
}
