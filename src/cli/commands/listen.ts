/**
 * `oslo-messaging listen`: tail notifications.
 *
 * @module
 */
import {
  getNotificationListener,
  NotificationFilter,
  NotificationResult,
  PRIORITIES,
  Target,
  type NotificationListenerOptions,
  type NotificationMetadata,
  type NotificationPriority,
} from '../../index.js';
import {
  CliLogger,
  closeTransport,
  connectionSettings,
  onInterrupt,
  openNotificationTransport,
  unlessInterrupted,
  unreachable,
  withDeadline,
} from '../connection.js';
import { CliFailure, ExitCode, UsageError } from '../errors.js';
import { formatJson } from '../json.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  flagOpt,
  intOpt,
  listOpt,
  nameOpt,
  stringOpt,
  type CommandSpec,
  type ParsedArgs,
} from '../options.js';
import type { Command } from './command.js';

const spec: CommandSpec = {
  name: 'listen',
  summary: 'Print notifications as they are published.',
  description:
    'By default the listener taps: it consumes a private temporary queue bound to the same\n' +
    '<topic>.<priority> keys, so every consumer already there still gets every notification,\n' +
    'and the queue goes away when the tool exits. With --pool it joins that pool instead\n' +
    "(a queue named after the pool, shared with the pool's other listeners): it then takes\n" +
    'its share of the messages, including those the filters skip.\n' +
    "Filters are Python regular expressions matched at the start, as oslo's NotificationFilter.",
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
    'event-type': { type: 'string', value: 'REGEX', help: 'only event types matching this' },
    publisher: { type: 'string', value: 'REGEX', help: 'only publisher ids matching this' },
    format: {
      type: 'string',
      value: 'FORMAT',
      help: 'pretty (default) or json (one JSON object per line)',
    },
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
  ],
};

/** A received notification as the tool prints it (oslo's field names). */
interface Received {
  message_id: string;
  timestamp: string;
  priority: string;
  publisher_id: string | null;
  event_type: string;
  payload: unknown;
  context: unknown;
}

function priorities(values: ParsedArgs['values']): NotificationPriority[] {
  const given = listOpt(values, 'priority').map((p) => (p === 'warning' ? 'warn' : p));
  for (const p of given) {
    if (!(PRIORITIES as readonly string[]).includes(p)) {
      throw new UsageError(`--priority must be one of ${PRIORITIES.join(', ')}, got '${p}'`);
    }
  }
  return given.length === 0 ? [...PRIORITIES] : [...new Set(given as NotificationPriority[])];
}

function render(n: Received, format: 'pretty' | 'json'): string {
  if (format === 'json') return `${formatJson(n)}\n`;
  const head = [n.timestamp, n.priority.padEnd(8), n.event_type, `publisher=${n.publisher_id}`];
  const body = formatJson(n.payload, 2).replace(/^/gm, '  ');
  return `${head.join('  ')}  id=${n.message_id}\n${body}\n`;
}

async function run(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const settings = connectionSettings(values);
  const wanted = priorities(values);
  const format = choiceOpt(values, 'format', ['pretty', 'json'] as const) ?? 'pretty';
  const count = intOpt(values, 'count', { min: 1 });
  const timeoutMs = intOpt(values, 'timeout', { min: 1 });
  const pool = nameOpt(values, 'pool');
  const exchange = nameOpt(values, 'exchange');
  const eventType = stringOpt(values, 'event-type');
  const publisher = stringOpt(values, 'publisher');
  const filterRule =
    eventType === undefined && publisher === undefined
      ? undefined
      : new NotificationFilter({
          ...(eventType === undefined ? {} : { eventType }),
          ...(publisher === undefined ? {} : { publisherId: publisher }),
        });
  const givenTopics = listOpt(values, 'topic');
  if (givenTopics.some((t) => t === '')) throw new UsageError('--topic must not be empty');

  const logger = new CliLogger(settings.debug);
  const transport = await openNotificationTransport(settings, logger);
  const topics = givenTopics.length > 0 ? givenTopics : [...transport.conf.notifications().topics];
  const targets = topics.map((topic) => new Target({ topic, exchange }));

  let seen = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const handle = (
    priority: NotificationPriority,
    ctxt: unknown,
    publisherId: string | null,
    eventTypeValue: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): NotificationResult => {
    // Delivered after the count was reached: give it back (to the pool) untouched.
    if (count !== undefined && seen >= count) return NotificationResult.REQUEUE;
    seen += 1;
    process.stdout.write(
      render(
        {
          message_id: metadata.message_id,
          timestamp: metadata.timestamp,
          priority: priority.toUpperCase(),
          publisher_id: publisherId,
          event_type: eventTypeValue,
          payload,
          context: ctxt,
        },
        format,
      ),
    );
    if (count !== undefined && seen >= count) resolveDone();
    return NotificationResult.HANDLED;
  };
  const endpoint: Record<string, unknown> = filterRule === undefined ? {} : { filterRule };
  for (const priority of wanted) {
    endpoint[priority] = (...a: [unknown, string | null, string, unknown, NotificationMetadata]) =>
      handle(priority, ...a);
  }

  const options: NotificationListenerOptions & { tap?: boolean } = {
    // One at a time, in arrival order: the output reads like a log.
    executor: 'blocking',
    // Only a pool member gives back what arrives after --count; a tap queue is private.
    allowRequeue: pool !== undefined,
    ...(pool === undefined ? { tap: true } : { pool }),
  };
  const listener = getNotificationListener(transport, targets, [endpoint], options);
  const interrupt = onInterrupt();
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  try {
    await unlessInterrupted(
      withDeadline(listener.start(), settings.connectTimeoutMs, () =>
        unreachable(transport, settings.connectTimeoutMs),
      ),
      interrupt,
    );
    started = true;
    logger.live = true;
    if (!flagOpt(values, 'quiet')) {
      const keys = topics.map((t) => `${t}.{${wanted.join(',')}}`).join(' ');
      const how = pool === undefined ? 'tap' : `pool ${pool}`;
      const where = exchange ?? transport.controlExchange;
      process.stderr.write(`listening on ${where}: ${keys} (${how}); Ctrl-C to stop\n`);
    }
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([
      done.then(() => 'done' as const),
      interrupt.promise,
      timedOut,
    ]);
    if (outcome === 'timeout' && count !== undefined && seen < count) {
      throw new CliFailure(
        `received ${seen} of ${count} notifications within ${timeoutMs} ms`,
        ExitCode.TIMEOUT,
      );
    }
    return ExitCode.OK;
  } finally {
    clearTimeout(timer);
    interrupt.dispose();
    // A listener that never started has nothing to give back; close() would first wait
    // for the start that is still retrying.
    if (started) {
      await withDeadline(listener.close(), 5_000, () => new Error('close timed out')).catch(
        () => undefined,
      );
    }
    await closeTransport(transport, started ? 5_000 : 1_000);
  }
}

/** The `listen` subcommand. */
export const listenCommand: Command = { spec, run };
