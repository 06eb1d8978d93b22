/**
 * `oslo-messaging listen`: tail notifications, as they are on the wire.
 *
 * On RabbitMQ the tool taps: its own consumer on a private queue bound to the same
 * `<topic>.<priority>` keys, so it sees every message's exchange, routing key and exact
 * body, and takes none from the real consumers. With `--pool`, or on `fake://`, it is a
 * library notification listener instead.
 *
 * @module
 */
import {
  PRIORITIES,
  TransportURL,
  type NotificationPriority,
  type RabbitOptions,
} from '../../index.js';
import { brokerOf, openConnection } from '../amqp/broker.js';
import { openTap } from '../amqp/tap.js';
import {
  connectionSettings,
  loadConfig,
  onInterrupt,
  unlessInterrupted,
  type ConnectionSettings,
} from '../connection.js';
import { CliFailure, ExitCode, UsageError } from '../errors.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  flagOpt,
  intOpt,
  listOpt,
  nameOpt,
  type CommandSpec,
  type OptionValues,
  type ParsedArgs,
} from '../options.js';
import { decodeDelivery, type WireMessage } from '../wire/decode.js';
import type { Delivery } from '../wire/record.js';
import { FORMATS, renderMessage, type Format } from '../wire/render.js';
import { SELECT_OPTIONS, selectionOf, type Selection } from '../wire/select.js';
import type { Command } from './command.js';
import { listenWithLibrary } from './listen-library.js';

const spec: CommandSpec = {
  name: 'listen',
  summary: 'Print notifications as they are published, with where they came from.',
  description:
    'On RabbitMQ the tool taps: a private queue of its own, bound to the same <topic>.<priority>\n' +
    'keys, gets a copy of every notification; the real consumers keep theirs, and the queue\n' +
    'goes away when the tool exits. Each message shows its exchange, routing key, priority\n' +
    'and message id; --format raw prints it as received, one JSON line each (see republish).\n' +
    'With --pool the tool joins that listener pool instead and takes its share (a library\n' +
    'listener; also what runs on fake://). Filters are Python regular expressions matched\n' +
    "at the start, as oslo's NotificationFilter.",
  options: {
    ...CONNECTION_OPTIONS,
    topic: {
      type: 'string',
      multiple: true,
      value: 'TOPIC',
      help: 'topic to listen on (default: topics from the configuration, i.e. notifications)',
    },
    exchange: { type: 'string', value: 'NAME', help: 'exchange (default: control_exchange)' },
    priority: {
      type: 'string',
      multiple: true,
      value: 'PRIORITY',
      help: `only these priorities: ${PRIORITIES.join(', ')} (default all)`,
    },
    ...SELECT_OPTIONS,
    format: {
      type: 'string',
      value: 'FORMAT',
      help: 'pretty (default), json (one decoded object a line) or raw (as received, one JSON line each)',
    },
    raw: { type: 'boolean', help: 'the same as --format raw' },
    count: { type: 'string', value: 'N', help: 'exit after N notifications' },
    timeout: {
      type: 'string',
      value: 'MS',
      help: 'exit after MS; with --count, fewer than N by then exits with status 3',
    },
    pool: { type: 'string', value: 'NAME', help: 'join this listener pool instead of tapping' },
    quiet: { type: 'boolean', short: 'q', help: "don't print the 'listening' line on stderr" },
  },
  examples: [
    "oslo-messaging listen --event-type '^compute\\.instance\\.' --format json",
    'oslo-messaging listen --topic versioned_notifications --priority error --count 1',
    "oslo-messaging listen --raw --filter 'payload.state=^error' > capture.jsonl",
  ],
};

function priorities(values: OptionValues): NotificationPriority[] {
  const given = listOpt(values, 'priority').map((p) => (p === 'warning' ? 'warn' : p));
  for (const p of given) {
    if (!(PRIORITIES as readonly string[]).includes(p)) {
      throw new UsageError(`--priority must be one of ${PRIORITIES.join(', ')}, got '${p}'`);
    }
  }
  return given.length === 0 ? [...PRIORITIES] : [...new Set(given as NotificationPriority[])];
}

/** Counts and prints what passes the selection; resolves `done` at `--count`. */
export class Printer {
  seen = 0;
  readonly done: Promise<void>;
  #resolve!: () => void;
  readonly #count: number | undefined;
  readonly #format: Format;
  readonly #selection: Selection;

  constructor(count: number | undefined, format: Format, selection: Selection) {
    this.#count = count;
    this.#format = format;
    this.#selection = selection;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** True once `--count` messages were printed. */
  get full(): boolean {
    return this.#count !== undefined && this.seen >= this.#count;
  }

  /** Print the message if it is wanted; false when it was not (filtered, or past the count). */
  offer(m: WireMessage, d: Delivery | undefined): boolean {
    if (this.full || !this.#selection.matches(m)) return false;
    this.seen += 1;
    process.stdout.write(renderMessage(m, d, this.#format));
    if (this.full) this.#resolve();
    return true;
  }
}

/** What both ways of listening need. */
export interface ListenPlan {
  readonly settings: ConnectionSettings;
  readonly topics: readonly string[];
  readonly exchange: string | undefined;
  readonly priorities: readonly NotificationPriority[];
  readonly pool: string | undefined;
  readonly printer: Printer;
  readonly quiet: boolean;
}

async function run(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const settings = connectionSettings(values);
  const wanted = priorities(values);
  const format: Format = flagOpt(values, 'raw')
    ? 'raw'
    : (choiceOpt(values, 'format', FORMATS) ?? 'pretty');
  const count = intOpt(values, 'count', { min: 1 });
  const timeoutMs = intOpt(values, 'timeout', { min: 1 });
  const pool = nameOpt(values, 'pool');
  const exchange = nameOpt(values, 'exchange');
  const selection = selectionOf(values);
  const givenTopics = listOpt(values, 'topic');
  if (givenTopics.some((t) => t === '')) throw new UsageError('--topic must not be empty');

  const interrupt = onInterrupt();
  try {
    const conf = await loadConfig(settings, exchange);
    const urlText =
      settings.url ?? conf.notifications().transport_url ?? conf.defaults().transport_url;
    const onRabbit =
      TransportURL.parse(urlText === '' ? 'rabbit://' : urlText).driverName === 'rabbit';
    if (format === 'raw' && (!onRabbit || pool !== undefined)) {
      throw new UsageError('--format raw needs the tap on RabbitMQ: not with --pool or fake://');
    }
    const topics = givenTopics.length > 0 ? givenTopics : [...conf.notifications().topics];
    const plan: ListenPlan = {
      settings,
      topics,
      exchange,
      priorities: wanted,
      pool,
      printer: new Printer(count, format, selection),
      quiet: flagOpt(values, 'quiet'),
    };
    const stop =
      onRabbit && pool === undefined
        ? await unlessInterrupted(startTap(plan, conf), interrupt)
        : await listenWithLibrary(plan, interrupt);
    try {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([
        plan.printer.done.then(() => 'done' as const),
        interrupt.promise,
        timedOut,
        stop.failed,
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout' && count !== undefined && plan.printer.seen < count) {
        throw new CliFailure(
          `received ${plan.printer.seen} of ${count} notifications within ${timeoutMs} ms`,
          ExitCode.TIMEOUT,
        );
      }
      return ExitCode.OK;
    } finally {
      await stop.close();
    }
  } finally {
    interrupt.dispose();
  }
}

/** A started listener: `failed` rejects if it dies; `close` stops it and never rejects. */
export interface Started {
  readonly failed: Promise<never>;
  close(): Promise<void>;
}

async function startTap(
  plan: ListenPlan,
  conf: Awaited<ReturnType<typeof loadConfig>>,
): Promise<Started> {
  const broker = brokerOf(conf, plan.settings.url, 'listen');
  const conn = await openConnection(broker, plan.settings.connectTimeoutMs);
  const exchange = plan.exchange ?? broker.controlExchange;
  const rabbit = conf.group<RabbitOptions>('oslo_messaging_rabbit', broker.url.query);
  const keys = plan.topics.flatMap((t) => plan.priorities.map((p) => `${t}.${p}`));
  const failed = new Promise<never>((_resolve, reject) => {
    conn.on('close', (err?: Error) =>
      reject(
        new CliFailure(
          `the broker closed the connection${err === undefined ? '' : `: ${err.message}`}`,
        ),
      ),
    );
  });
  failed.catch(() => undefined);
  try {
    const tap = await openTap(
      conn,
      {
        exchange,
        routingKeys: keys,
        declare: { durable: rabbit.amqp_durable_queues, autoDelete: rabbit.amqp_auto_delete },
      },
      'oslo-messaging-cli.listen',
      (d) => plan.printer.offer(decodeDelivery(d), d),
    );
    if (!plan.quiet) {
      const shown = plan.topics.map((t) => `${t}.{${plan.priorities.join(',')}}`).join(' ');
      process.stderr.write(
        `listening on ${exchange}: ${shown} (tap ${tap.queue}); Ctrl-C to stop\n`,
      );
    }
    return {
      failed,
      close: async () => {
        await tap.close();
        await conn.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw err;
  }
}

/** The `listen` subcommand. */
export const listenCommand: Command = { spec, run, handlesSignals: true };
