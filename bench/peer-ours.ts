/**
 * Bench peer for this library (public API only), driven by `bench/run.ts`.
 *
 *   tsx bench/peer-ours.ts server|client --url URL --exchange X --rpc-topic T --notify-topic N --server S
 *                          [--no-rpc | --no-notify] [--tracing off|api|sdk]
 *
 * server: an RPC server (method `bench` echoes `data`) and a notification listener
 * (`info`), each counting what arrives (`--no-rpc` / `--no-notify` leave one out, for the
 * memory checks). client: runs shapes on command (calls, casts, notifications) with a
 * bounded number in flight, for a duration or a number of messages, using the same client
 * code as `oslo-messaging bench`. `--tracing`: see below.
 */
import { parseArgs } from 'node:util';

import type * as Roles from '../src/cli/bench/roles.js';
import type * as CliConnection from '../src/cli/connection.js';
import type * as Library from '../src/index.js';
import { libraryModule } from './library.js';
import { Counter } from './counter.js';
import {
  epochMs,
  reply,
  serveCommands,
  usage,
  type ClientCommand,
  type ClientResult,
  type ServerCommand,
} from './protocol.js';

// The library as built (dist/ by default, see library.ts), typed as its sources.
const { runNotifyClient, runRpcClient } = (await import(
  libraryModule('cli/bench/roles.js')
)) as typeof Roles;
const { CliLogger } = (await import(libraryModule('cli/connection.js'))) as typeof CliConnection;
const {
  Config,
  getNotificationListener,
  getNotificationTransport,
  getRpcServer,
  getRpcTransport,
  Target,
} = (await import(libraryModule('index.js'))) as typeof Library;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    exchange: { type: 'string' },
    'rpc-topic': { type: 'string' },
    'notify-topic': { type: 'string' },
    server: { type: 'string', default: 'bench' },
    'no-rpc': { type: 'boolean', default: false },
    'no-notify': { type: 'boolean', default: false },
    /** off: `tracing: false, metrics: false`; api (default): as installed; sdk: see below. */
    tracing: { type: 'string', default: 'api' },
  },
});
const role = positionals[0];
const url = values.url ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const exchange = values.exchange ?? 'omtb';
const rpcTopic = values['rpc-topic'] ?? 'omtb_rpc';
const notifyTopic = values['notify-topic'] ?? 'omtb_notify';
const conf = Config.from({ DEFAULT: { control_exchange: exchange } });
const logger = new CliLogger(process.env['BENCH_DEBUG'] === '1');

/**
 * Tracing modes (issue 12's benchmark row). `api`: the library as an application gets it,
 * `@opentelemetry/api` installed and no SDK registered. `off`: tracing and metrics hooks
 * not added. `sdk`: the OpenTelemetry tracing SDK registered in this process before the
 * transports exist: AsyncLocalStorage context manager, BasicTracerProvider, a
 * BatchSpanProcessor feeding an exporter that drops every span.
 */
const tracingMode = values.tracing;
if (tracingMode === 'sdk') {
  const { context, trace } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [
        new BatchSpanProcessor({
          export: (_spans, done) => done({ code: 0 }),
          shutdown: () => Promise.resolve(),
        }),
      ],
    }),
  );
} else if (tracingMode !== 'api' && tracingMode !== 'off') {
  throw new Error(`--tracing ${tracingMode}: off, api or sdk`);
}
const transportOptions = {
  url,
  logger,
  ...(tracingMode === 'off' ? { tracing: false, metrics: false } : {}),
};

async function server(): Promise<void> {
  const counter = new Counter();
  const rpcTransport = getRpcTransport(conf, transportOptions);
  const notifyTransport = getNotificationTransport(conf, transportOptions);
  const endpoint = {
    bench: (_ctxt: unknown, args: { data?: unknown }) => {
      counter.record();
      return args.data ?? null;
    },
  };
  const rpc = values['no-rpc']
    ? undefined
    : getRpcServer(rpcTransport, { exchange, topic: rpcTopic, server: values.server }, [endpoint]);
  const listener = values['no-notify']
    ? undefined
    : getNotificationListener(
        notifyTransport,
        [new Target({ exchange, topic: notifyTopic })],
        [{ info: () => counter.record() }],
      );
  await rpc?.start();
  await listener?.start();
  reply({ event: 'ready' });
  await serveCommands<ServerCommand>(async (command) => {
    switch (command.cmd) {
      case 'reset':
        counter.reset();
        return {};
      case 'expect':
        return counter.expect(command.count, command.timeoutMs, command.sampleEvery);
      case 'quit':
        return {};
    }
  });
  await rpc?.close();
  await listener?.close();
  await rpcTransport.cleanup();
  await notifyTransport.cleanup();
}

async function client(): Promise<void> {
  const rpcTransport = getRpcTransport(conf, transportOptions);
  const notifyTransport = getNotificationTransport(conf, transportOptions);
  reply({ event: 'ready' });
  await serveCommands<ClientCommand>(async (command): Promise<object> => {
    if (command.cmd === 'quit') return {};
    const cpu = process.cpuUsage();
    const options = {
      messages: command.messages,
      durationMs: command.messages === undefined ? command.durationMs : undefined,
      concurrency: command.concurrency,
      payloadSize: command.payloadSize,
    };
    const startAt = epochMs();
    const summary =
      command.shape === 'notify'
        ? await runNotifyClient(notifyTransport, notifyTopic, logger, options)
        : await runRpcClient(
            rpcTransport,
            { exchange, topic: rpcTopic },
            command.shape,
            60_000,
            options,
          );
    const result: ClientResult = {
      ...usage(cpu),
      sent: summary.sent,
      errors: summary.errors,
      ...(summary.firstError === undefined ? {} : { firstError: summary.firstError }),
      startAt,
      endAt: epochMs(),
      p50: summary.latencyMs.p50,
      p90: summary.latencyMs.p90,
      p99: summary.latencyMs.p99,
    };
    return result;
  });
  await rpcTransport.cleanup();
  await notifyTransport.cleanup();
}

if (role === 'server') await server();
else if (role === 'client') await client();
else throw new Error(`unknown role ${String(role)}`);
process.exit(0);
