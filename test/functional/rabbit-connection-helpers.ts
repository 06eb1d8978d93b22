/** Helpers of the RabbitConnection functional tests (two files). */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { type TestContext } from 'node:test';

import type { Logger } from '../../src/log.js';
import {
  RabbitConnection,
  type ConnectionOptions,
  type Delivery,
} from '../../src/drivers/rabbit/connection.js';

export const run = promisify(execFile);
export const BROKER = { hostname: '127.0.0.1', port: 5672 };
export const DEAD = { hostname: '127.0.0.1', port: 1 }; // nothing listens: connection refused
export const JSON_PROPS = { headers: {}, mandatory: false } as const;

export const uniq = (what = ''): string => `omts_${what}${randomBytes(6).toString('hex')}`;
export const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A logger that records lines (printed with NODE_DEBUG=omts). */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put =
    (level: string) =>
    (message: string, ...args: unknown[]): void => {
      let i = 0;
      const line = `${level} ${message.replace(/%[sd]/g, () => String(args[i++]))}`;
      lines.push(line);
      if (process.env.NODE_DEBUG?.includes('omts') === true) console.error(line);
    };
  return { lines, debug: put('DEBUG'), info: put('INFO'), warn: put('WARN'), error: put('ERROR') };
}

/**
 * A connection with fast back-off. After the test, every connection made here is closed
 * first, then the names given to {@link cleanup} are deleted (so no consumer of ours sees
 * its queue vanish).
 */
export function connection(
  t: TestContext,
  options: Partial<ConnectionOptions> = {},
): RabbitConnection {
  const conn = new RabbitConnection({
    hosts: [BROKER],
    role: 'publish',
    connectionName: uniq('conn_'),
    retryIntervalMs: 50,
    retryBackoffMs: 50,
    intervalMaxMs: 200,
    reconnectDelayMs: 50,
    connectTimeoutMs: 3000,
    logger: recordingLogger(),
    ...options,
  });
  teardown(t).connections.push(conn);
  return conn;
}

/** Deletes these queues and exchanges after the test (after its connections closed). */
export function cleanup(t: TestContext, names: { queues?: string[]; exchanges?: string[] }): void {
  const todo = teardown(t);
  todo.queues.push(...(names.queues ?? []));
  todo.exchanges.push(...(names.exchanges ?? []));
}

export interface Teardown {
  connections: RabbitConnection[];
  queues: string[];
  exchanges: string[];
}
export const teardowns = new WeakMap<TestContext, Teardown>();

export function teardown(t: TestContext): Teardown {
  let todo = teardowns.get(t);
  if (todo === undefined) {
    const registered: Teardown = { connections: [], queues: [], exchanges: [] };
    todo = registered;
    teardowns.set(t, registered);
    t.after(async () => {
      await Promise.all(registered.connections.map((c) => c.close()));
      if (registered.queues.length + registered.exchanges.length === 0) return;
      const admin = new RabbitConnection({
        hosts: [BROKER],
        role: 'consume',
        connectionName: uniq('cleanup_'),
        logger: recordingLogger(),
      });
      try {
        for (const q of registered.queues) await admin.deleteQueue(q, { timeoutMs: 5000 });
        for (const x of registered.exchanges) await admin.deleteExchange(x, { timeoutMs: 5000 });
      } finally {
        await admin.close();
      }
    });
  }
  return todo;
}

/** Resolves with the event's arguments; rejects after `ms` (never unhandled). */
export function nextEvent(
  conn: RabbitConnection,
  event: 'reconnected' | 'disconnected' | 'connected' | 'closed',
  ms = 10000,
): Promise<unknown[]> {
  const promise = once(conn, event, { signal: AbortSignal.timeout(ms) });
  promise.catch(() => undefined);
  return promise;
}

/** Deliveries collected in order; `next()` waits for the next one. */
export function inbox(): {
  handler: (d: Delivery) => void;
  next: (timeoutMs?: number) => Promise<Delivery>;
  received: Delivery[];
} {
  const received: Delivery[] = [];
  let read = 0;
  const waiting: Array<() => void> = [];
  return {
    received,
    handler: (d) => {
      received.push(d);
      waiting.splice(0).forEach((wake) => wake());
    },
    next: async (timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (read >= received.length) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no delivery in time');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received[read++]!;
    },
  };
}

/** Closes, through rabbitmqctl, the broker connections with this connection_name (ours only). */
export async function forceClose(connectionName: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', [
    'list_connections',
    'pid',
    'client_properties',
    '--quiet',
    '--no-table-headers',
  ]);
  const marker = `{"connection_name",${JSON.stringify(connectionName)}}`;
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.split('\t')[0]!);
  for (const pid of pids) {
    await run('rabbitmqctl', ['close_connection', pid, 'omts test: forced close']);
  }
  return pids.length;
}

/** What the broker says about the connection with this connection_name. */
export async function brokerView(connectionName: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('rabbitmqctl', [
    'list_connections',
    'client_properties',
    'timeout',
    'auth_mechanism',
    'frame_max',
    '--formatter',
    'json',
    '-q',
  ]);
  const rows = JSON.parse(stdout) as Array<
    Record<string, unknown> & { client_properties: unknown[][] }
  >;
  const row = rows.find((r) =>
    r.client_properties.some((p) => p[0] === 'connection_name' && p[2] === connectionName),
  );
  assert.ok(row, `no broker connection named ${connectionName}`);
  return row;
}

/** A queue bound to a fresh topic exchange, declared on `conn` and deleted after the test. */
export async function topicQueue(
  t: TestContext,
  conn: RabbitConnection,
  args: Record<string, unknown> = {},
): Promise<{ exchange: string; queue: string; key: string }> {
  const exchange = uniq('x_');
  const queue = uniq('q_');
  const key = `${queue}.key`;
  cleanup(t, { queues: [queue], exchanges: [exchange] });
  await conn.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await conn.declareQueue(queue, { durable: false, autoDelete: false, arguments: args });
  await conn.bindQueue(queue, exchange, key);
  return { exchange, queue, key };
}
