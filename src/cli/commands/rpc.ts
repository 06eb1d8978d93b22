/**
 * `oslo-messaging call`, `cast` and `ping`: RPC requests from the command line.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';

import {
  getRpcClient,
  PING_METHOD,
  RemoteError,
  type RPCClient,
  type RPCTransport,
} from '../../index.js';
import {
  CliLogger,
  closeTransport,
  connectionSettings,
  openRpcTransport,
  unreachable,
  withDeadline,
  type ConnectionSettings,
} from '../connection.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatJson } from '../json.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  flagOpt,
  intOpt,
  jsonObjectOpt,
  nameOpt,
  type CommandSpec,
  type OptionSpec,
  type OptionValues,
  type ParsedArgs,
  PROG,
} from '../options.js';
import type { Command } from './command.js';

/** oslo sends the traceback as lines that end in newlines; older peers send one string. */
function formatTraceback(lines: readonly string[]): string {
  const text = lines.join(lines.every((l) => l.endsWith('\n')) ? '' : '\n');
  return text.endsWith('\n') ? text : `${text}\n`;
}

const TARGET_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  topic: { type: 'string', value: 'TOPIC', help: 'topic the server listens on (required)' },
  server: { type: 'string', value: 'NAME', help: 'send to this server only (topic.server)' },
  exchange: { type: 'string', value: 'NAME', help: 'exchange (default: control_exchange)' },
  retry: {
    type: 'string',
    value: 'N',
    help: 'connection retries before giving up: -1 forever, 0 none (default 0)',
  },
};

const REQUEST_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  namespace: { type: 'string', value: 'NS', help: "the endpoint's namespace" },
  version: { type: 'string', value: 'X.Y', help: 'the API version of the request' },
  args: {
    type: 'string',
    value: 'JSON',
    help: 'keyword arguments, a JSON object (default {}); big integers stay exact, NaN and Infinity are accepted, as in Python',
  },
  context: {
    type: 'string',
    value: 'JSON',
    help: 'the request context, a JSON object (default {})',
  },
};

const METHOD = [{ name: 'METHOD', help: 'the remote method', required: true }] as const;

const callSpec: CommandSpec = {
  name: 'call',
  summary: 'Invoke a remote method and print its result as JSON.',
  description:
    'A remote error prints its class and message on stderr and exits with status 1;\n' +
    'no reply within --timeout exits with status 3.',
  options: {
    ...CONNECTION_OPTIONS,
    ...TARGET_OPTIONS,
    ...REQUEST_OPTIONS,
    timeout: {
      type: 'string',
      value: 'MS',
      help: 'how long to wait for the reply (default: rpc_response_timeout, 60 s)',
    },
    format: { type: 'string', value: 'FORMAT', help: 'json (one line, default) or pretty' },
  },
  positionals: METHOD,
  examples: [`oslo-messaging call --topic compute --server host1 get_status --args '{"id": 1}'`],
};

const castSpec: CommandSpec = {
  name: 'cast',
  summary: 'Invoke a remote method without waiting for it.',
  description: 'Exits once the broker has accepted the request.',
  options: {
    ...CONNECTION_OPTIONS,
    ...TARGET_OPTIONS,
    ...REQUEST_OPTIONS,
    fanout: { type: 'boolean', help: 'send to every server listening on the topic' },
  },
  positionals: METHOD,
  examples: [`oslo-messaging cast --topic compute refresh --args '{"force": true}'`],
};

const pingSpec: CommandSpec = {
  name: 'ping',
  summary: `Call the built-in ${PING_METHOD} of an RPC server and print the round trip.`,
  description: 'The server must enable it: [DEFAULT] rpc_ping_enabled = true.',
  options: {
    ...CONNECTION_OPTIONS,
    ...TARGET_OPTIONS,
    timeout: {
      type: 'string',
      value: 'MS',
      help: 'how long to wait for each pong (default 10000)',
    },
    count: { type: 'string', value: 'N', help: 'pings to send (default 1)' },
    interval: { type: 'string', value: 'MS', help: 'pause between pings (default 1000)' },
  },
  examples: ['oslo-messaging ping --topic compute --server host1'],
};

interface Prepared {
  readonly settings: ConnectionSettings;
  readonly logger: CliLogger;
  readonly transport: RPCTransport;
  readonly client: RPCClient;
  readonly label: string;
}

/** Read the target options and make the transport and client. */
async function prepare(values: OptionValues, withRequest: boolean): Promise<Prepared> {
  const settings = connectionSettings(values);
  const topic = nameOpt(values, 'topic');
  if (topic === undefined) throw new UsageError('--topic is required');
  const server = nameOpt(values, 'server');
  const exchange = nameOpt(values, 'exchange');
  const retry = intOpt(values, 'retry', { min: -1 }) ?? 0;
  const namespace = withRequest ? nameOpt(values, 'namespace') : undefined;
  const version = withRequest ? nameOpt(values, 'version') : undefined;
  const timeout =
    values['timeout'] === undefined ? undefined : intOpt(values, 'timeout', { min: 1 });
  const logger = new CliLogger(settings.debug);
  const transport = await openRpcTransport(settings, logger);
  try {
    const client = getRpcClient(
      transport,
      {
        topic,
        server,
        exchange,
        namespace,
        version,
        fanout: flagOpt(values, 'fanout') || undefined,
      },
      { retry, timeout },
    );
    return {
      settings,
      logger,
      transport,
      client,
      label: server === undefined ? topic : `${topic}.${server}`,
    };
  } catch (err) {
    await closeTransport(transport);
    throw err;
  }
}

async function runCall(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const method = args.positionals[0] ?? '';
  const format = choiceOpt(values, 'format', ['json', 'pretty'] as const) ?? 'json';
  const callArgs = jsonObjectOpt(values, 'args');
  const context = jsonObjectOpt(values, 'context');
  const { settings, transport, client } = await prepare(values, true);
  try {
    const timeoutMs = client.timeout ?? transport.conf.defaults().rpc_response_timeout * 1000;
    // The call's own timeout bounds it; the extra margin only catches a stuck connect.
    const result = await withDeadline(
      client.call(context, method, callArgs),
      timeoutMs + settings.connectTimeoutMs,
      () => unreachable(transport, timeoutMs + settings.connectTimeoutMs),
    );
    const text = formatJson(result ?? null, format === 'pretty' ? 2 : 0);
    process.stdout.write(`${text}\n`);
    return ExitCode.OK;
  } catch (err) {
    // The remote traceback, as Python's client would log it, before the one-line error.
    if (settings.debug && err instanceof RemoteError && err.traceback.length > 0) {
      process.stderr.write(`${PROG}: remote traceback:\n${formatTraceback(err.traceback)}`);
    }
    throw err;
  } finally {
    await closeTransport(transport);
  }
}

async function runCast(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const method = args.positionals[0] ?? '';
  const callArgs = jsonObjectOpt(values, 'args');
  const context = jsonObjectOpt(values, 'context');
  const { settings, transport, client } = await prepare(values, true);
  try {
    await withDeadline(client.cast(context, method, callArgs), settings.connectTimeoutMs, () =>
      unreachable(transport, settings.connectTimeoutMs),
    );
    return ExitCode.OK;
  } finally {
    await closeTransport(transport);
  }
}

async function runPing(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const count = intOpt(values, 'count', { min: 1 }) ?? 1;
  const interval = intOpt(values, 'interval', { min: 0 }) ?? 1000;
  const timeoutMs = intOpt(values, 'timeout', { min: 1 }) ?? 10_000;
  const { settings, transport, client, label } = await prepare(values, false);
  const pinger = client.prepare({ timeout: timeoutMs });
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(interval);
      const start = performance.now();
      const reply = await withDeadline(
        pinger.call({}, PING_METHOD),
        timeoutMs + settings.connectTimeoutMs,
        () => unreachable(transport, timeoutMs + settings.connectTimeoutMs),
      );
      const ms = performance.now() - start;
      times.push(ms);
      const text = typeof reply === 'string' ? reply : formatJson(reply);
      process.stdout.write(`${text} from ${label}: time=${ms.toFixed(2)} ms\n`);
    }
    if (count > 1) {
      const min = Math.min(...times);
      const max = Math.max(...times);
      const avg = times.reduce((a, b) => a + b, 0) / times.length;
      process.stdout.write(
        `${count} pings: min/avg/max = ${min.toFixed(2)}/${avg.toFixed(2)}/${max.toFixed(2)} ms\n`,
      );
    }
    return ExitCode.OK;
  } finally {
    await closeTransport(transport);
  }
}

/** The `call` subcommand. */
export const callCommand: Command = { spec: callSpec, run: runCall };
/** The `cast` subcommand. */
export const castCommand: Command = { spec: castSpec, run: runCast };
/** The `ping` subcommand. */
export const pingCommand: Command = { spec: pingSpec, run: runPing };
