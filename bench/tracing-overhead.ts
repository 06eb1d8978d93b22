/**
 * What observability costs: call and notify throughput with tracing off (`tracing: false,
 * metrics: false`), with `@opentelemetry/api` installed but no SDK registered (the
 * default), and with the tracing SDK registered and a no-op exporter; each as a ratio to
 * the untraced run. Repetitions interleave the three modes; medians are reported.
 * Besides throughput, the CPU time the process spent per message (user + system) is
 * reported with its ratio to the untraced run (untraced CPU / mode CPU, so 1.00× is no
 * cost): on a machine shared with other work, wall-clock throughput swings with the
 * load, while CPU time per message mostly measures our own work.
 *
 * Run: npx tsx bench/tracing-overhead.ts [--url URL] [--reps N] [--duration S]
 * (default fake://, so the library's own cost is not hidden behind a broker's).
 */
import { parseArgs } from 'node:util';

import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

import {
  getNotificationListener,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Notifier,
  silentLogger,
  Target,
} from '../src/index.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'fake://' },
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '2' },
  },
});
const reps = Number(values.reps);
const durationMs = Number(values.duration) * 1000;

type Mode = 'off' | 'api, no SDK' | 'SDK, no-op exporter';
const MODES: Mode[] = ['off', 'api, no SDK', 'SDK, no-op exporter'];

const noopExporter: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

function useMode(mode: Mode): void {
  trace.disable();
  context.disable();
  if (mode === 'SDK, no-op exporter') {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(noopExporter)] }),
    );
  }
}

let runs = 0;
interface Sample {
  rate: number;
  /** CPU µs per message. */
  cpu: number;
}
async function measure(mode: Mode, shape: 'call' | 'notify'): Promise<Sample> {
  useMode(mode);
  runs += 1;
  const off = mode === 'off';
  const transport = getRpcTransport(
    { DEFAULT: { control_exchange: `omtb_trace_${process.pid}_${runs}` } },
    { url: values.url, logger: silentLogger, tracing: !off, metrics: !off },
  );
  const topic = `omtb_trace_${process.pid}_${runs}`;
  let count = 0;
  let server: { start(): Promise<void>; close(): Promise<void> };
  let send: () => Promise<unknown>;
  if (shape === 'call') {
    server = getRpcServer(transport, { topic, server: 's' }, [{ ping: () => 'pong' }]);
    const client = getRpcClient(transport, { topic });
    send = () => client.call({ request_id: 'r' }, 'ping', { n: 1 });
  } else {
    server = getNotificationListener(transport, [new Target({ topic })], [{ info: () => {} }]);
    const notifier = new Notifier(transport, { driver: 'messagingv2', topics: [topic] });
    send = () => notifier.info({ request_id: 'r' }, 'bench.event', { n: 1 });
  }
  await server.start();
  for (let i = 0; i < 200; i += 1) await send(); // warm-up
  const end = performance.now() + durationMs;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  while (performance.now() < end) {
    await send();
    count += 1;
  }
  const rate = count / ((performance.now() - started) / 1000);
  const { user, system } = process.cpuUsage(cpuStarted);
  await server.close();
  await transport.cleanup();
  return { rate, cpu: (user + system) / count };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const results: Record<string, Sample[]> = {};
for (let rep = 0; rep < reps; rep += 1) {
  for (const shape of ['call', 'notify'] as const) {
    // Rotate the order of the modes, so none always runs first.
    for (let k = 0; k < MODES.length; k += 1) {
      const mode = MODES[(k + rep) % MODES.length]!;
      (results[`${shape}|${mode}`] ??= []).push(await measure(mode, shape));
      process.stderr.write('.');
    }
  }
}
process.stderr.write('\n');

console.log(`Transport ${values.url}, ${reps} repetitions of ${values.duration} s, 1 in flight.\n`);
console.log('| shape | tracing off (msg/s) | API, no SDK | SDK, no-op exporter |');
console.log('| --- | ---: | ---: | ---: |');
for (const shape of ['call', 'notify']) {
  const base = median(results[`${shape}|off`]!.map((s) => s.rate));
  const ratio = (mode: Mode): string => {
    const r = median(results[`${shape}|${mode}`]!.map((s) => s.rate));
    return `${Math.round(r)} (${(r / base).toFixed(2)}×)`;
  };
  console.log(
    `| ${shape} | ${Math.round(base)} | ${ratio('api, no SDK')} | ${ratio('SDK, no-op exporter')} |`,
  );
}
console.log('\nCPU time per message (µs), and untraced CPU / mode CPU:\n');
console.log('| shape | tracing off (µs/msg) | API, no SDK | SDK, no-op exporter |');
console.log('| --- | ---: | ---: | ---: |');
for (const shape of ['call', 'notify']) {
  const base = median(results[`${shape}|off`]!.map((s) => s.cpu));
  const ratio = (mode: Mode): string => {
    const c = median(results[`${shape}|${mode}`]!.map((s) => s.cpu));
    return `${c.toFixed(1)} (${(base / c).toFixed(2)}×)`;
  };
  console.log(
    `| ${shape} | ${base.toFixed(1)} | ${ratio('api, no SDK')} | ${ratio('SDK, no-op exporter')} |`,
  );
}
