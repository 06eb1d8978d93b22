/**
 * The library's own CPU per send, without the broker's noise: amqplib's confirm-channel
 * `publish` is replaced by one that encodes nothing, sends nothing and confirms on the next
 * turn of the event loop (in a batch, as a broker's acks with `multiple` arrive), so what
 * is measured is this library's layers: the notifier or RPC client, the transport, the
 * JSON writer, the rabbit driver, the publisher and the connection. `raw` is what raw
 * amqplib's caller does for the same send (`JSON.stringify`, `Buffer.from`, a promise).
 *
 *   npx tsx scripts/send-cost.ts [--shapes raw,notify,cast] [--messages N] [--reps N]
 *                                [--url URL]
 *
 * 64 sends in flight, 1 KB payloads, repetitions interleaved; prints per shape the CPU per
 * send (min and median over the repetitions) and the garbage collections per 10,000 sends
 * with their total pause. A measuring tool, not a test: the broker is only used to connect
 * and declare (a queue and an exchange of its own, deleted at the end).
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { connect } from 'amqplib';

import type * as Roles from '../src/cli/bench/roles.js';
import type { ClientSummary } from '../src/cli/bench/stats.js';
import type * as Library from '../src/index.js';
import { amqpUrl, deleteAll } from '../bench/amqp.js';
import { buildLibrary, libraryModule } from '../bench/library.js';

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'raw,notify,cast' },
    messages: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '5' },
    url: { type: 'string', default: 'rabbit://guest:guest@127.0.0.1:5672/' },
  },
});
const shapes = values.shapes.split(',');
for (const s of shapes) {
  if (!['raw', 'notify', 'cast'].includes(s))
    throw new Error(`--shapes: raw, notify or cast, not ${s}`);
}
const MESSAGES = Number(values.messages);
const REPS = Number(values.reps);

buildLibrary((line) => process.stderr.write(`${line}\n`));
const roles = (await import(libraryModule('cli/bench/roles.js'))) as typeof Roles;
const lib = (await import(libraryModule('index.js'))) as typeof Library;

// The one amqplib method replaced: a confirm channel's publish (found on a live channel:
// amqplib does not export the class).
type Confirm = (err: unknown) => void;
interface Publishing {
  publish: (this: unknown, ...args: unknown[]) => boolean;
}
const probe = await connect(amqpUrl(values.url));
const confirmChannel = Object.getPrototypeOf(await probe.createConfirmChannel()) as Publishing;
await probe.close();
const realPublish = confirmChannel.publish;
let stubbed = false;
let confirms: Confirm[] = [];
let scheduled = false;
function confirmNextTurn(cb: Confirm): void {
  confirms.push(cb);
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    const due = confirms;
    confirms = [];
    for (const confirm of due) confirm(null);
  });
}
confirmChannel.publish = function publish(this: unknown, ...args: unknown[]): boolean {
  if (!stubbed) return realPublish.apply(this, args);
  confirmNextTurn(args[4] as Confirm);
  return true;
};

const EXCHANGE = `omtsc_${process.pid}`;
const conf = lib.Config.from({ DEFAULT: { control_exchange: EXCHANGE } });
const errors: string[] = [];
const logger = {
  errors,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => void errors.push(message),
};
const notifyTransport = lib.getNotificationTransport(conf, { url: values.url, logger });
const rpcTransport = lib.getRpcTransport(conf, { url: values.url, logger });

const rawSend = (payload: Roles.BenchPayload): Promise<void> =>
  new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    void body;
    confirmNextTurn((err) => (err === null ? resolve() : reject(new Error('nacked'))));
  });

function run(shape: string, messages: number): Promise<ClientSummary> {
  const options = { messages, durationMs: undefined, concurrency: 64, payloadSize: 1024 };
  if (shape === 'raw') return roles.drive('raw', options, rawSend);
  if (shape === 'notify') return roles.runNotifyClient(notifyTransport, EXCHANGE, logger, options);
  return roles.runRpcClient(
    rpcTransport,
    { exchange: EXCHANGE, topic: EXCHANGE },
    'cast',
    60_000,
    options,
  );
}

let gcCount = 0;
let gcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    if (
      kind === constants.NODE_PERFORMANCE_GC_MAJOR ||
      kind === constants.NODE_PERFORMANCE_GC_MINOR
    ) {
      gcCount += 1;
      gcMs += entry.duration;
    }
  }
});

try {
  // Connect and declare for real, then measure with the stub.
  for (const shape of shapes) if (shape !== 'raw') await run(shape, 100);
  stubbed = true;
  for (const shape of shapes) await run(shape, 20_000); // warm-up
  gcObserver.observe({ entryTypes: ['gc'] });
  const results = new Map<string, { us: number[]; gcs: number; gcMs: number; sent: number }>();
  for (let rep = 0; rep < REPS; rep++) {
    for (const shape of shapes) {
      const entry = results.get(shape) ?? { us: [], gcs: 0, gcMs: 0, sent: 0 };
      const gc0 = gcCount;
      const gcMs0 = gcMs;
      const cpu = process.cpuUsage();
      const summary = await run(shape, MESSAGES);
      const used = process.cpuUsage(cpu);
      await new Promise((resolve) => setImmediate(resolve)); // let the GC entries arrive
      entry.us.push((used.user + used.system) / summary.sent);
      entry.gcs += gcCount - gc0;
      entry.gcMs += gcMs - gcMs0;
      entry.sent += summary.sent;
      results.set(shape, entry);
    }
  }
  gcObserver.disconnect();
  console.log(
    `CPU per send, 64 in flight, ${REPS} x ${MESSAGES} sends (amqplib's publish stubbed):`,
  );
  for (const [shape, r] of results) {
    const sorted = [...r.us].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `${shape.padEnd(7)} min ${sorted[0]!.toFixed(2)} µs, median ${median.toFixed(2)} µs; ` +
        `${((r.gcs * 10_000) / r.sent).toFixed(1)} collections per 10,000 sends, ` +
        `${((r.gcMs * 1000) / r.sent).toFixed(2)} µs of GC pause per send`,
    );
  }
  if (errors.length > 0) console.log(`errors logged: ${errors.length} (first: ${errors[0]})`);
} finally {
  stubbed = false;
  await notifyTransport.cleanup();
  await rpcTransport.cleanup();
  await deleteAll(values.url, {
    queues: [`${EXCHANGE}.info`, EXCHANGE],
    exchanges: [EXCHANGE],
  });
}
process.exit(0);
