/**
 * `oslo-messaging republish FILE` sends captured messages again (capture records from
 * `listen --raw` or `peek --raw`), byte for byte; `oslo-messaging move QUEUE` moves the
 * messages of a queue to another queue or exchange. Both publish with confirms and
 * `mandatory`, so a message nobody would receive is reported, not lost.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import type { ConfirmChannel, GetMessage, Options } from 'amqplib';

import { brokerOf, openConnection } from '../amqp/broker.js';
import { checkQueue } from '../amqp/inspect.js';
import { deliveryOf } from '../amqp/tap.js';
import { connectionSettings, loadConfig } from '../connection.js';
import { CliFailure, ExitCode, UsageError } from '../errors.js';
import {
  CONNECTION_OPTIONS,
  flagOpt,
  intOpt,
  stringOpt,
  type CommandSpec,
  type ParsedArgs,
} from '../options.js';
import { decodeDelivery } from '../wire/decode.js';
import { parseRecord, PROPERTY_NAMES, type Delivery } from '../wire/record.js';
import { SELECT_OPTIONS, selectionOf } from '../wire/select.js';
import type { Command } from './command.js';

/** `1 message`, `3 messages`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

const TO_OPTIONS = {
  exchange: {
    type: 'string',
    value: 'NAME',
    help: "publish to this exchange ('' is the default exchange)",
  },
  'routing-key': { type: 'string', value: 'KEY', help: 'publish with this routing key' },
} as const;

const republishSpec: CommandSpec = {
  name: 'republish',
  summary: 'Publish captured messages again (from listen --raw or peek --raw).',
  description:
    "Each line of FILE ('-' for stdin) is a capture record. The body is sent byte for byte with\n" +
    'its AMQP properties, to the exchange and routing key it was captured from unless\n' +
    '--exchange / --routing-key say otherwise. Publishes are confirmed; a message that no\n' +
    'queue would receive is returned by the broker and counted, and the exit status is 1.',
  positionals: [
    { name: 'FILE', help: "capture records, one a line ('-' reads stdin)", required: true },
  ],
  options: {
    ...CONNECTION_OPTIONS,
    ...TO_OPTIONS,
    ...SELECT_OPTIONS,
    'dry-run': { type: 'boolean', help: 'print where each message would go; send nothing' },
  },
  examples: [
    'oslo-messaging listen --raw --count 100 > capture.jsonl',
    'oslo-messaging republish capture.jsonl --exchange nova --routing-key notifications.info',
  ],
};

const moveSpec: CommandSpec = {
  name: 'move',
  summary: 'Move the messages of a queue to another queue or exchange.',
  description:
    'Takes messages from QUEUE one at a time and publishes each, byte for byte with its\n' +
    'properties, to --to-queue (through the default exchange) or to --exchange with\n' +
    '--routing-key; the original is acknowledged only after the broker confirmed the copy,\n' +
    'so a failure leaves it where it was. Stops after --count, or when the queue is empty.',
  positionals: [{ name: 'QUEUE', help: 'the queue to take messages from', required: true }],
  options: {
    ...CONNECTION_OPTIONS,
    'to-queue': { type: 'string', value: 'NAME', help: 'the queue to move them to (must exist)' },
    ...TO_OPTIONS,
    count: { type: 'string', value: 'N', help: 'move at most N (default: what is there now)' },
  },
  examples: ['oslo-messaging move notifications.error --to-queue parked.errors --count 100'],
};

/** Publish options from captured properties (AMQP names back to amqplib's). */
function publishOptions(d: Delivery): Options.Publish {
  const out: Record<string, unknown> = { mandatory: true };
  for (const [amqplibName, amqpName] of Object.entries(PROPERTY_NAMES)) {
    const value = d.properties[amqpName];
    if (value !== undefined && value !== null) out[amqplibName] = value;
  }
  return out;
}

/** A confirm channel that counts what the broker returns as unroutable. */
async function publisher(conn: Awaited<ReturnType<typeof openConnection>>) {
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  let returned = 0;
  ch.on('return', () => (returned += 1));
  return {
    ch,
    get returned(): number {
      return returned;
    },
    async send(exchange: string, key: string, d: Delivery): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        ch.publish(exchange, key, d.body, publishOptions(d), (err: unknown) =>
          err === null || err === undefined
            ? resolve()
            : reject(new CliFailure('the broker refused the message (nack)')),
        );
      });
    },
  };
}

async function* records(path: string): AsyncGenerator<{ line: number; delivery: Delivery }> {
  const input = path === '-' ? process.stdin : createReadStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n += 1;
      if (text.trim() === '') continue;
      try {
        yield { line: n, delivery: parseRecord(text) };
      } catch (err) {
        throw new UsageError(`${path}:${n}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UsageError(`no such file: ${path}`);
    throw err;
  }
}

async function runRepublish(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const path = args.positionals[0] ?? '-';
  const settings = connectionSettings(values);
  const exchange = stringOpt(values, 'exchange');
  const routingKey = stringOpt(values, 'routing-key');
  const dryRun = flagOpt(values, 'dry-run');
  const selection = selectionOf(values);
  const broker = brokerOf(await loadConfig(settings), settings.url, 'republish');
  const conn = dryRun ? undefined : await openConnection(broker, settings.connectTimeoutMs);
  let sent = 0;
  try {
    const pub = conn === undefined ? undefined : await publisher(conn);
    for await (const { delivery } of records(path)) {
      if (!selection.matches(decodeDelivery(delivery))) continue;
      const x = exchange ?? delivery.exchange;
      const key = routingKey ?? delivery.routingKey;
      if (pub === undefined) {
        process.stdout.write(
          `would publish ${delivery.body.length} bytes to exchange '${x}' key '${key}'\n`,
        );
      } else {
        await pub.send(x, key, delivery);
      }
      sent += 1;
    }
    if (pub !== undefined) {
      // Returns arrive before the confirm of the same message; all are in by now.
      process.stderr.write(
        `republished ${plural(sent, 'message')}${pub.returned > 0 ? `, ${pub.returned} unroutable` : ''}\n`,
      );
      if (pub.returned > 0) {
        throw new CliFailure(
          `${pub.returned} of ${sent} messages reached no queue (returned by the broker): check --exchange and --routing-key`,
        );
      }
    }
    return ExitCode.OK;
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

async function runMove(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const source = args.positionals[0] ?? '';
  const settings = connectionSettings(values);
  const toQueue = stringOpt(values, 'to-queue');
  const exchange = stringOpt(values, 'exchange');
  const routingKey = stringOpt(values, 'routing-key');
  if ((toQueue === undefined) === (exchange === undefined || routingKey === undefined)) {
    throw new UsageError('give --to-queue, or --exchange and --routing-key');
  }
  const limit = intOpt(values, 'count', { min: 1 });
  const broker = brokerOf(await loadConfig(settings), settings.url, 'move');
  const conn = await openConnection(broker, settings.connectTimeoutMs);
  let moved = 0;
  try {
    const from = await checkQueue(conn, source);
    if (from === undefined) throw new CliFailure(`no queue '${source}'`);
    if (toQueue !== undefined && (await checkQueue(conn, toQueue)) === undefined) {
      throw new CliFailure(`no queue '${toQueue}': create it first (move never declares queues)`);
    }
    if (toQueue === source)
      throw new UsageError('the source and the destination are the same queue');
    const pub = await publisher(conn);
    const getter = await conn.createChannel();
    getter.on('error', () => undefined);
    // What is there now: messages that arrive while moving wait for the next run.
    const count = limit ?? from.messages;
    while (moved < count) {
      const msg: GetMessage | false = await getter.get(source, { noAck: false });
      if (msg === false) break;
      const d = deliveryOf(msg);
      const before = pub.returned;
      try {
        await pub.send(
          toQueue === undefined ? (exchange ?? '') : '',
          toQueue ?? routingKey ?? '',
          d,
        );
      } catch (err) {
        getter.nack(msg, false, true);
        throw err;
      }
      if (pub.returned > before) {
        getter.nack(msg, false, true);
        throw new CliFailure(
          `moved ${moved}; the next message reached no queue: check --exchange and --routing-key`,
        );
      }
      getter.ack(msg);
      moved += 1;
    }
    await getter.close();
    process.stderr.write(`moved ${plural(moved, 'message')} from ${source}\n`);
    return ExitCode.OK;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The `republish` subcommand. */
export const republishCommand: Command = { spec: republishSpec, run: runRepublish };
/** The `move` subcommand. */
export const moveCommand: Command = { spec: moveSpec, run: runMove };
