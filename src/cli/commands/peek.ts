/**
 * `oslo-messaging peek QUEUE`: read the backlog of a queue without removing it.
 *
 * Classic and quorum queues: `basic.get` up to `--count` messages without acknowledging
 * them, then give them all back with one `basic.nack(requeue)`; the tool holds them only
 * for that moment. Stream queues: a consumer from an offset (`--since`, else the first
 * message), which removes nothing by design.
 *
 * @module
 */
import type { Channel, ChannelModel, GetMessage } from 'amqplib';

import { brokerOf, openConnection } from '../amqp/broker.js';
import { inspectQueue, type QueueInfo } from '../amqp/inspect.js';
import { deliveryOf } from '../amqp/tap.js';
import { connectionSettings, loadConfig } from '../connection.js';
import { CliFailure, ExitCode } from '../errors.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  flagOpt,
  intOpt,
  type CommandSpec,
  type ParsedArgs,
} from '../options.js';
import { decodeDelivery } from '../wire/decode.js';
import type { Delivery } from '../wire/record.js';
import { FORMATS, renderMessage, type Format } from '../wire/render.js';
import { SELECT_OPTIONS, selectionOf } from '../wire/select.js';
import type { Command } from './command.js';

/** At most this many messages are held at once. */
const MAX_COUNT = 10_000;
/** A stream that sends nothing for this long has been read to its end. */
const STREAM_IDLE_MS = 1_000;

const spec: CommandSpec = {
  name: 'peek',
  summary: 'Show the messages waiting in a queue without removing them.',
  description:
    'Reads up to --count messages from the head of QUEUE (e.g. notifications.error) and prints\n' +
    'those that pass the filters. Classic and quorum queues: the messages are fetched without\n' +
    'acknowledging them and given back at once (basic.get, then basic.nack with requeue): they\n' +
    'stay in the queue, marked redelivered; a quorum queue puts them back at its end and counts\n' +
    'the delivery (x-delivery-count), so a delivery-limit may dead-letter messages peeked too\n' +
    'often. Stream queues are read from an offset (--since, else the first message) and\n' +
    'nothing is removed. Needs RabbitMQ; the management plugin is not used.',
  positionals: [{ name: 'QUEUE', help: 'the queue to read', required: true }],
  options: {
    ...CONNECTION_OPTIONS,
    count: {
      type: 'string',
      value: 'N',
      help: `messages to read from the head (default 10, at most ${MAX_COUNT})`,
    },
    ...SELECT_OPTIONS,
    format: {
      type: 'string',
      value: 'FORMAT',
      help: 'pretty (default), json or raw (capture records, for republish)',
    },
    raw: { type: 'boolean', help: 'the same as --format raw' },
  },
  examples: [
    'oslo-messaging peek notifications.error --count 50',
    "oslo-messaging peek notifications.info --filter 'event_type=^compute\\.' --raw > backlog.jsonl",
  ],
};

/** Fetch up to `count` messages unacknowledged, then requeue them all. */
async function getAndRequeue(ch: Channel, queue: string, count: number): Promise<Delivery[]> {
  const got: GetMessage[] = [];
  try {
    while (got.length < count) {
      const msg = await ch.get(queue, { noAck: false });
      if (msg === false) break;
      got.push(msg);
    }
  } finally {
    const last = got[got.length - 1];
    // One nack for all of them: multiple=true, requeue=true.
    if (last !== undefined) ch.nack(last, true, true);
  }
  return got.map((m) => deliveryOf(m));
}

/** Read a stream from an offset until `count` messages or its end. */
async function readStream(
  ch: Channel,
  queue: string,
  count: number,
  sinceMs: number | undefined,
): Promise<Delivery[]> {
  const out: Delivery[] = [];
  await ch.prefetch(Math.min(count, 1000));
  // An AMQP timestamp (whole seconds): amqplib would encode a Date as an empty table, which
  // the broker refuses by closing the channel.
  const offset =
    sinceMs === undefined ? 'first' : { '!': 'timestamp', value: Math.floor(sinceMs / 1000) };
  let timer: NodeJS.Timeout | undefined;
  let tag: string | undefined;
  await new Promise<void>((resolve, reject) => {
    const idle = (): void => {
      clearTimeout(timer);
      timer = setTimeout(resolve, STREAM_IDLE_MS);
    };
    idle();
    ch.consume(
      queue,
      (msg) => {
        if (msg === null) return resolve();
        if (out.length < count) out.push(deliveryOf(msg));
        ch.ack(msg);
        if (out.length >= count) resolve();
        else idle();
      },
      { noAck: false, arguments: { 'x-stream-offset': offset } },
    ).then(
      (ok) => (tag = ok.consumerTag),
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
  clearTimeout(timer);
  if (tag !== undefined) await ch.cancel(tag).catch(() => undefined);
  return out;
}

/** Read up to `count` messages of a queue, leaving them there. */
export async function peekQueue(
  conn: ChannelModel,
  info: QueueInfo,
  count: number,
  sinceMs: number | undefined,
): Promise<Delivery[]> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    return info.type === 'stream'
      ? await readStream(ch, info.name, count, sinceMs)
      : await getAndRequeue(ch, info.name, count);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

async function run(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const queue = args.positionals[0] ?? '';
  const settings = connectionSettings(values);
  const count = intOpt(values, 'count', { min: 1, max: MAX_COUNT }) ?? 10;
  const format: Format = flagOpt(values, 'raw')
    ? 'raw'
    : (choiceOpt(values, 'format', FORMATS) ?? 'pretty');
  const selection = selectionOf(values);
  const broker = brokerOf(await loadConfig(settings), settings.url, 'peek');
  const conn = await openConnection(broker, settings.connectTimeoutMs);
  try {
    const info = await inspectQueue(conn, queue);
    if (info === undefined) {
      throw new CliFailure(
        `no queue '${queue}' in virtual host '${broker.url.effectiveVirtualHost()}'`,
      );
    }
    if (info.type === 'quorum') {
      process.stderr.write(
        `note: ${queue} is a quorum queue: peeked messages go back to its end and count as a delivery\n`,
      );
    }
    const got = await peekQueue(conn, info, count, selection.sinceMs);
    for (const d of got) {
      const m = decodeDelivery(d);
      if (selection.matches(m)) process.stdout.write(renderMessage(m, d, format));
    }
    return ExitCode.OK;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The `peek` subcommand. */
export const peekCommand: Command = { spec, run };
