/**
 * `oslo-messaging bench`: oslo's simulator. Server and client roles run in separate
 * shells (or machines), or `all` runs them in one process.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { runBaseline, type BaselineNames } from '../amqp/baseline.js';
import { brokerOf, type Broker } from '../amqp/broker.js';
import { benchChart } from '../bench/chart.js';
import {
  Receiver,
  runNotifyClient,
  runRpcClient,
  startNotifyServer,
  startRpcServer,
  type DriveOptions,
  type ServerRole,
} from '../bench/roles.js';
import {
  formatClientSummary,
  formatRatios,
  formatServerSummary,
  ratiosOf,
  type ClientSummary,
  type Implementation,
  type ServerSummary,
} from '../bench/stats.js';
import {
  CliLogger,
  closeTransport,
  connectionSettings,
  loadConfig,
  onInterrupt,
  openNotificationTransport,
  openRpcTransport,
  unlessInterrupted,
  unreachable,
  withDeadline,
  type ConnectionSettings,
} from '../connection.js';
import { ExitCode, UsageError } from '../errors.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  flagOpt,
  intOpt,
  nameOpt,
  numberOpt,
  type CommandSpec,
  type OptionValues,
  type ParsedArgs,
} from '../options.js';
import type { Command } from './command.js';

const ROLES = ['rpc-server', 'rpc-client', 'notify-server', 'notify-client', 'all'] as const;
type Role = (typeof ROLES)[number];

const DEFAULT_TOPIC = 'oslo_messaging_bench';
const DEFAULT_MESSAGES = 1000;
/** How long `all` waits for casts and notifications still in the queue after sending. */
const DRAIN_TIMEOUT_MS = 60_000;

const spec: CommandSpec = {
  name: 'bench',
  summary: "Benchmark RPC and notifications (oslo's simulator).",
  description:
    'Roles: rpc-server, rpc-client, notify-server, notify-client (run a server and its client\n' +
    'in two shells), or all (servers and clients in this process). Clients send --messages\n' +
    'or for --duration with --concurrency in flight; servers run until --messages arrived,\n' +
    '--duration passed, or Ctrl-C. A progress bar is drawn on stderr when it is a terminal;\n' +
    'a summary (messages/s, latency p50/p90/p99, errors) is printed at the end.\n' +
    'With --baseline, all first runs the same shape (call, cast or notify; same count,\n' +
    'payload, concurrency and broker) on raw amqplib doing the oslo exchange by hand, then\n' +
    'the library, and reports both with the library/raw ratios (JSON and chart too). The\n' +
    "baseline's exchange and queues have oslo's names with a unique part and are deleted.\n" +
    'Client latency is per request (until confirmed, or answered for calls); server latency\n' +
    'is one-way, from the send time in each message (meaningful on one host).',
  positionals: [{ name: 'ROLE', help: ROLES.join(' | '), required: true }],
  options: {
    ...CONNECTION_OPTIONS,
    topic: { type: 'string', value: 'TOPIC', help: `topic (default ${DEFAULT_TOPIC})` },
    exchange: { type: 'string', value: 'NAME', help: 'exchange (default: control_exchange)' },
    server: {
      type: 'string',
      value: 'NAME',
      help: 'rpc-server: its name (default the host name); rpc-client: send to it only',
    },
    messages: {
      type: 'string',
      value: 'N',
      help: `messages to send, or to wait for (clients default ${DEFAULT_MESSAGES})`,
    },
    duration: { type: 'string', value: 'S', help: 'run for this many seconds instead' },
    concurrency: { type: 'string', value: 'C', help: 'clients: messages in flight (default 1)' },
    'payload-size': { type: 'string', value: 'BYTES', help: 'filler per message (default 1024)' },
    mode: {
      type: 'string',
      value: 'MODE',
      help: 'RPC: call (default), cast, or fanout (a cast every server gets)',
    },
    servers: {
      type: 'string',
      value: 'N',
      help: 'rpc-server and all: run N RPC servers on the topic (default 1); with fanout each gets every cast',
    },
    delay: {
      type: 'string',
      value: 'MS',
      help: 'servers: spend MS in each handler (a slow service)',
    },
    'requeue-ratio': {
      type: 'string',
      value: 'R',
      help: 'notify-server and all: give back this fraction (0-1) of deliveries, a requeue storm',
    },
    json: { type: 'string', value: 'PATH', help: 'also write the reports as JSON to PATH' },
    chart: {
      type: 'string',
      value: 'PATH',
      help: 'also write an SVG chart of throughput and latency percentiles to PATH',
    },
    baseline: {
      type: 'boolean',
      help: 'all on RabbitMQ: run each shape on raw amqplib first; print both and library/raw',
    },
    timeout: { type: 'string', value: 'MS', help: 'RPC call timeout (default 60000)' },
    kind: { type: 'string', value: 'KIND', help: 'all: rpc, notify or both (default both)' },
    pool: { type: 'string', value: 'NAME', help: 'notify-server: listen in this pool' },
    format: { type: 'string', value: 'FORMAT', help: 'text (default) or json' },
  },
  examples: [
    'oslo-messaging bench rpc-server --url rabbit://guest:guest@127.0.0.1:5672/',
    'oslo-messaging bench rpc-client --mode call --concurrency 16 --duration 10',
    'oslo-messaging bench all --kind notify --messages 10000 --concurrency 64 --url fake://',
    'oslo-messaging bench all --mode cast --messages 5000 --baseline --json run.json --chart run.svg',
  ],
};

interface BenchSettings {
  readonly connection: ConnectionSettings;
  readonly topic: string;
  readonly exchange: string | undefined;
  readonly server: string | undefined;
  readonly messages: number | undefined;
  readonly durationMs: number | undefined;
  readonly concurrency: number;
  readonly payloadSize: number;
  readonly mode: 'call' | 'cast' | 'fanout';
  readonly servers: number;
  readonly delayMs: number;
  readonly requeueRatio: number;
  readonly jsonPath: string | undefined;
  readonly chartPath: string | undefined;
  readonly baseline: boolean;
  readonly timeoutMs: number;
  readonly kind: 'rpc' | 'notify' | 'both';
  readonly pool: string | undefined;
  readonly format: 'text' | 'json';
}

function settingsOf(values: OptionValues): BenchSettings {
  const duration = numberOpt(values, 'duration', { min: 0, exclusiveMin: true });
  return {
    connection: connectionSettings(values),
    topic: nameOpt(values, 'topic') ?? DEFAULT_TOPIC,
    exchange: nameOpt(values, 'exchange'),
    server: nameOpt(values, 'server'),
    messages: intOpt(values, 'messages', { min: 1 }),
    durationMs: duration === undefined ? undefined : duration * 1000,
    concurrency: intOpt(values, 'concurrency', { min: 1, max: 10_000 }) ?? 1,
    payloadSize: intOpt(values, 'payload-size', { min: 0, max: 100 * 1024 * 1024 }) ?? 1024,
    mode: choiceOpt(values, 'mode', ['call', 'cast', 'fanout'] as const) ?? 'call',
    servers: intOpt(values, 'servers', { min: 1, max: 100 }) ?? 1,
    delayMs: intOpt(values, 'delay', { min: 0, max: 600_000 }) ?? 0,
    requeueRatio: numberOpt(values, 'requeue-ratio', { min: 0, max: 0.99 }) ?? 0,
    jsonPath: nameOpt(values, 'json'),
    chartPath: nameOpt(values, 'chart'),
    baseline: flagOpt(values, 'baseline'),
    timeoutMs: intOpt(values, 'timeout', { min: 1 }) ?? 60_000,
    kind: choiceOpt(values, 'kind', ['rpc', 'notify', 'both'] as const) ?? 'both',
    pool: nameOpt(values, 'pool'),
    format: choiceOpt(values, 'format', ['text', 'json'] as const) ?? 'text',
  };
}

function driveOptions(s: BenchSettings, label: string, signal: AbortSignal): DriveOptions {
  const bounded = s.messages !== undefined || s.durationMs !== undefined;
  return {
    messages: bounded ? s.messages : DEFAULT_MESSAGES,
    durationMs: s.durationMs,
    concurrency: s.concurrency,
    payloadSize: s.payloadSize,
    progressLabel: label,
    signal,
  };
}

type Report = ClientSummary | ServerSummary;

/** With `--baseline`: the broker, and what the raw-amqplib runs declared (then deleted). */
interface Baseline {
  readonly broker: Broker;
  readonly declared: BaselineNames[];
}

async function print(s: BenchSettings, reports: Report[], baseline?: Baseline): Promise<void> {
  const ratios = s.baseline ? { ratios: ratiosOf(reports) } : {};
  if (s.jsonPath !== undefined) {
    const declared = baseline === undefined ? {} : { baseline: baseline.declared };
    const data = { settings: describe(s), reports, ...ratios, ...declared };
    await writeFile(s.jsonPath, `${JSON.stringify(data, null, 2)}\n`);
  }
  if (s.chartPath !== undefined) {
    await writeFile(s.chartPath, benchChart(reports, `bench ${s.mode}`));
  }
  if (s.format === 'json') {
    const data = s.baseline ? { reports, ...ratios } : reports.length === 1 ? reports[0] : reports;
    process.stdout.write(`${JSON.stringify(data)}\n`);
    return;
  }
  for (const r of reports) {
    // With a baseline, each line says which side it is.
    const named =
      r.implementation === undefined ? r : { ...r, role: `${r.implementation} ${r.role}` };
    process.stdout.write('sent' in named ? formatClientSummary(named) : formatServerSummary(named));
  }
  if (ratios.ratios !== undefined) process.stdout.write(formatRatios(ratios.ratios));
}

/** The report of one side of a `--baseline` comparison. */
function tagged<T extends Report>(report: T, implementation: Implementation | undefined): T {
  return implementation === undefined ? report : { ...report, implementation };
}

/**
 * The broker of a `--baseline` run, after checking that the run has a baseline: `all`
 * on RabbitMQ, one server, no handler delay or requeues, not fanout.
 */
async function baselineOf(s: BenchSettings, role: Role): Promise<Baseline> {
  const refuse = (why: string): never => {
    throw new UsageError(`--baseline ${why}`, 'bench');
  };
  if (role !== 'all') refuse('needs the role all (both sides in this process)');
  if (s.kind !== 'notify' && s.mode === 'fanout') refuse('covers call and cast, not fanout');
  if (s.servers !== 1) refuse('runs one server: leave out --servers');
  if (s.delayMs > 0 || s.requeueRatio > 0) refuse('does not simulate --delay or --requeue-ratio');
  const conf = await loadConfig(s.connection, s.exchange);
  return { broker: brokerOf(conf, s.connection.url, 'bench --baseline'), declared: [] };
}

/** The settings a report was made with, without credentials. */
function describe(s: BenchSettings): Record<string, unknown> {
  const { connection, ...rest } = s;
  return { ...rest, connectTimeoutMs: connection.connectTimeoutMs };
}

/** Start a server role within the connect deadline. */
async function startServer(
  s: BenchSettings,
  logger: CliLogger,
  kind: 'rpc' | 'notify',
): Promise<{ role: ServerRole; close: () => Promise<void> }> {
  const transport =
    kind === 'rpc'
      ? await openRpcTransport(s.connection, logger)
      : await openNotificationTransport(s.connection, logger);
  // Several servers share one count: with fanout, each gets every cast.
  const receiver = new Receiver();
  const behaviour = { delayMs: s.delayMs, requeueRatio: s.requeueRatio, receiver };
  const name = s.server ?? hostname();
  const starting: Promise<ServerRole> =
    kind === 'rpc'
      ? Promise.all(
          Array.from({ length: s.servers }, (_, i) =>
            startRpcServer(
              transport,
              {
                topic: s.topic,
                server: s.servers === 1 ? name : `${name}-${i + 1}`,
                exchange: s.exchange,
              },
              behaviour,
            ),
          ),
        ).then((roles) => ({
          receiver,
          close: async () => {
            await Promise.all(roles.map((r) => r.close()));
          },
        }))
      : startNotifyServer(transport, { topic: s.topic, exchange: s.exchange }, s.pool, behaviour);
  try {
    const role = await withDeadline(starting, s.connection.connectTimeoutMs, () =>
      unreachable(transport, s.connection.connectTimeoutMs),
    );
    return {
      role,
      close: async () => {
        await withDeadline(role.close(), 10_000, () => new Error('close timed out')).catch(
          () => undefined,
        );
        await closeTransport(transport);
      },
    };
  } catch (err) {
    await closeTransport(transport);
    throw err;
  }
}

/** Run a client role; `rpc` uses the configured mode. */
async function runClient(
  s: BenchSettings,
  logger: CliLogger,
  kind: 'rpc' | 'notify',
  signal: AbortSignal,
  label: string,
  interrupt: { promise: Promise<NodeJS.Signals> },
): Promise<ClientSummary> {
  const options = driveOptions(s, label, signal);
  if (kind === 'rpc') {
    // A signal while connecting ends the run (128 + its number), not an empty success.
    const transport = await unlessInterrupted(openRpcTransport(s.connection, logger), interrupt);
    try {
      const target = { topic: s.topic, server: s.server, exchange: s.exchange };
      return await runRpcClient(transport, target, s.mode, s.timeoutMs, options);
    } finally {
      await closeTransport(transport);
    }
  }
  const transport = await unlessInterrupted(
    openNotificationTransport(s.connection, logger, s.exchange),
    interrupt,
  );
  try {
    return await runNotifyClient(transport, s.topic, logger, options);
  } finally {
    await closeTransport(transport);
  }
}

async function serve(
  s: BenchSettings,
  logger: CliLogger,
  kind: 'rpc' | 'notify',
): Promise<Report[]> {
  const interrupt = onInterrupt();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await unlessInterrupted(startServer(s, logger, kind), interrupt);
  } catch (err) {
    interrupt.dispose();
    throw err;
  }
  logger.live = true;
  const stop = new AbortController();
  void interrupt.promise.then(() => stop.abort());
  process.stderr.write(`${kind}-server: listening on topic ${s.topic}; Ctrl-C to stop\n`);
  try {
    const limit = s.durationMs ?? 2 ** 31 - 1;
    await server.role.receiver.waitFor(s.messages ?? Infinity, limit, stop.signal);
    return [server.role.receiver.summary(`${kind}-server`)];
  } finally {
    interrupt.dispose();
    await server.close();
  }
}

/** The raw-amqplib run of one kind, tagged; the library's run follows it. */
async function runRaw(
  s: BenchSettings,
  { broker, declared }: Baseline,
  kind: 'rpc' | 'notify',
  signal: AbortSignal,
): Promise<Report[]> {
  const raw = await runBaseline({
    broker,
    connectTimeoutMs: s.connection.connectTimeoutMs,
    shape: kind === 'notify' ? 'notify' : s.mode === 'call' ? 'call' : 'cast',
    exchange: broker.controlExchange,
    topic: s.topic,
    callTimeoutMs: s.timeoutMs,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
    drive: driveOptions(s, `raw ${kind}`, signal),
  });
  declared.push(raw.declared);
  return [tagged(raw.client, 'raw-amqplib'), tagged(raw.server, 'raw-amqplib')];
}

async function runAll(
  s: BenchSettings,
  logger: CliLogger,
  baseline: Baseline | undefined,
): Promise<Report[]> {
  const interrupt = onInterrupt();
  const stop = new AbortController();
  void interrupt.promise.then(() => stop.abort());
  const reports: Report[] = [];
  try {
    for (const kind of s.kind === 'both' ? (['rpc', 'notify'] as const) : [s.kind]) {
      if (stop.signal.aborted) break;
      if (baseline !== undefined) reports.push(...(await runRaw(s, baseline, kind, stop.signal)));
      if (stop.signal.aborted) break;
      const side = baseline === undefined ? undefined : 'oslo-messaging';
      const server = await unlessInterrupted(startServer(s, logger, kind), interrupt);
      logger.live = true;
      try {
        const client = await runClient(s, logger, kind, stop.signal, `${kind}`, interrupt);
        // Casts and notifications may still be queued when the last send is confirmed.
        const expected =
          kind === 'rpc' && s.mode === 'fanout' ? client.sent * s.servers : client.sent;
        await server.role.receiver.waitFor(expected, DRAIN_TIMEOUT_MS, stop.signal);
        reports.push(
          tagged(client, side),
          tagged(server.role.receiver.summary(`${kind}-server`), side),
        );
      } finally {
        await server.close();
      }
    }
    return reports;
  } finally {
    interrupt.dispose();
  }
}

async function run(args: ParsedArgs): Promise<ExitCode> {
  const role = args.positionals[0] as Role;
  if (!ROLES.includes(role)) {
    throw new UsageError(`ROLE must be one of ${ROLES.join(', ')}, got '${role}'`);
  }
  const s = settingsOf(args.values);
  const logger = new CliLogger(s.connection.debug);
  const baseline = s.baseline ? await baselineOf(s, role) : undefined;
  let reports: Report[];
  switch (role) {
    case 'rpc-server':
      reports = await serve(s, logger, 'rpc');
      break;
    case 'notify-server':
      reports = await serve(s, logger, 'notify');
      break;
    case 'rpc-client':
    case 'notify-client': {
      const interrupt = onInterrupt();
      const stop = new AbortController();
      void interrupt.promise.then(() => stop.abort());
      const kind = role === 'rpc-client' ? 'rpc' : 'notify';
      try {
        // Library log lines stay back: failures are counted in the summary, and a broker
        // that is not there fails the run with one line.
        reports = [await runClient(s, logger, kind, stop.signal, role, interrupt)];
      } finally {
        interrupt.dispose();
      }
      break;
    }
    case 'all':
      reports = await runAll(s, logger, baseline);
      break;
  }
  await print(s, reports, baseline);
  const failed = reports.some((r) => 'sent' in r && r.errors > 0);
  return failed ? ExitCode.FAILURE : ExitCode.OK;
}

/** The `bench` subcommand. */
export const benchCommand: Command = { spec, run, handlesSignals: true };
