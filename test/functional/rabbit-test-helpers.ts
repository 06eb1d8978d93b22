/**
 * Helpers of the rabbit driver's functional tests: broker inspection with `rabbitmqctl`,
 * a raw amqplib connection for tapping and injecting messages, targeted connection
 * closes, and cleanup by name. Tests bind only 127.0.0.1 and use names starting with
 * `omtr_` and random hex.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { format, promisify } from 'node:util';

import amqplib from 'amqplib';

import type { RabbitDriver } from '../../src/drivers/rabbit/rabbit-driver.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Transport } from '../../src/transport.js';

const run = promisify(execFile);

export const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672/';
export const TRANSPORT_URL = 'rabbit://guest:guest@127.0.0.1:5672/';

/** `omtr_<prefix>_<12 hex>`. */
export function uniqueName(prefix: string): string {
  return `omtr_${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Runs rabbitmqctl (quiet); returns stdout. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}

async function listJson<T>(what: string, fields: string[]): Promise<T[]> {
  const out = await rabbitmqctl(what, ...fields, '--formatter', 'json');
  const text = out.trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

export interface BrokerQueue {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  /** `{ name: value }` from rabbitmqctl's `[name, type, value]` triples. */
  arguments: Record<string, unknown>;
  type: string;
  messages: number;
  consumers: number;
}

export async function listQueues(): Promise<BrokerQueue[]> {
  const raw = await listJson<
    Omit<BrokerQueue, 'arguments'> & { arguments: [string, string, unknown][] }
  >('list_queues', [
    'name',
    'durable',
    'auto_delete',
    'exclusive',
    'arguments',
    'type',
    'messages',
    'consumers',
  ]);
  return raw.map((q) => ({
    ...q,
    arguments: Object.fromEntries(q.arguments.map(([k, , v]) => [k, v])),
  }));
}

export interface BrokerExchange {
  name: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
}

export async function listExchanges(): Promise<BrokerExchange[]> {
  return listJson<BrokerExchange>('list_exchanges', ['name', 'type', 'durable', 'auto_delete']);
}

export interface BrokerBinding {
  source_name: string;
  destination_name: string;
  destination_kind: string;
  routing_key: string;
}

export async function listBindings(): Promise<BrokerBinding[]> {
  return listJson<BrokerBinding>('list_bindings', [
    'source_name',
    'destination_name',
    'destination_kind',
    'routing_key',
  ]);
}

export interface BrokerConsumer {
  queue_name: string;
  consumer_tag: string;
  ack_required: boolean;
  prefetch_count: number;
  arguments: unknown[];
}

export async function listConsumers(): Promise<BrokerConsumer[]> {
  return listJson<BrokerConsumer>('list_consumers', [
    'queue_name',
    'consumer_tag',
    'ack_required',
    'prefetch_count',
    'arguments',
  ]);
}

/** The rabbit driver behind a transport. */
export async function rabbitDriver(transport: Transport): Promise<RabbitDriver> {
  return (await transport._loadDriver()) as RabbitDriver;
}

/**
 * Close, from the broker side, the connections whose client property `connection_name`
 * is one of `names` (only ours: other tests may run at the same time). Returns how many
 * were closed.
 */
export async function closeConnections(
  names: readonly string[],
  reason = 'omtr fault test',
): Promise<number> {
  // close_connection takes the connection's pid as the table output writes it
  // (`<rabbit@host.1.2.3>`), not its name.
  const out = await rabbitmqctl(
    'list_connections',
    'pid',
    'client_properties',
    '--no-table-headers',
  );
  let closed = 0;
  for (const line of out.split('\n')) {
    const name = /\{"connection_name","([^"]*)"\}/.exec(line)?.[1];
    if (name === undefined || !names.includes(name)) continue;
    const pid = line.split('\t')[0] ?? '';
    // A connection that went away meanwhile is not counted.
    const done = await rabbitmqctl('close_connection', pid, reason).then(
      () => true,
      () => false,
    );
    if (done) closed++;
  }
  return closed;
}

/** A raw amqplib connection and channel (tests only: the library itself never does this). */
export async function rawChannel(): Promise<{
  connection: amqplib.ChannelModel;
  channel: amqplib.ConfirmChannel;
  close(): Promise<void>;
}> {
  const connection = await amqplib.connect(BROKER_URL);
  connection.on('error', () => undefined);
  const channel = await connection.createConfirmChannel();
  channel.on('error', () => undefined);
  return {
    connection,
    channel,
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}

/** Delete queues and exchanges by name, ignoring what is already gone. */
export async function deleteAll(
  queues: Iterable<string>,
  exchanges: Iterable<string> = [],
): Promise<void> {
  const connection = await amqplib.connect(BROKER_URL);
  connection.on('error', () => undefined);
  try {
    for (const name of queues) {
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteQueue(name).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const name of exchanges) {
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteExchange(name).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Delete every queue bound to `exchange` (topic, server, notification and pool queues),
 * every queue whose name starts with one of `prefixes`, and the exchange itself.
 */
export async function deleteByExchange(
  exchange: string,
  prefixes: readonly string[] = [],
): Promise<void> {
  const bindings = await listBindings();
  const queues = new Set(
    bindings
      .filter((b) => b.source_name === exchange && b.destination_kind === 'queue')
      .map((b) => b.destination_name),
  );
  if (prefixes.length > 0) {
    for (const q of await listQueues()) {
      if (prefixes.some((p) => q.name.startsWith(p))) queues.add(q.name);
    }
  }
  await deleteAll(queues, [exchange]);
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The tests' logger: silent, or everything on stderr with `OMTR_LOG=1`. */
export const testLogger: Logger =
  process.env['OMTR_LOG'] === '1'
    ? {
        debug: (m, ...a) => console.error(`DEBUG ${format(m, ...a)}`),
        info: (m, ...a) => console.error(`INFO ${format(m, ...a)}`),
        warn: (m, ...a) => console.error(`WARN ${format(m, ...a)}`),
        error: (m, ...a) => console.error(`ERROR ${format(m, ...a)}`),
      }
    : silentLogger;
