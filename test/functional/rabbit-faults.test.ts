/**
 * Faults on the real broker, in the middle of a stream of notifications and calls:
 *
 * 1. The broker closes our connections (`rabbitmqctl close_connection`, selected by our
 *    `connection_name`s only: other tests may run at the same time), listeners first,
 *    then the client's send and reply connections, then all of them.
 * 2. The broker application restarts (`rabbitmqctl stop_app`, then `start_app`; the
 *    server process is never killed).
 *
 * Counted: notifications sent, confirmed (the publish resolved), failed, received
 * (distinct and total); lost = confirmed and never received, which must be 0. Calls are
 * answered, or fail with `MessagingTimeout` / `MessageDeliveryFailure`, each within its
 * timeout. Afterwards every connection is back and consuming.
 *
 * The restart test stops the whole broker for a few seconds, so it runs only when no
 * other process has a connection open (it skips otherwise) and always starts the broker
 * again, even when it fails. Test files must therefore not run concurrently with this
 * one: `node --test` runs files one at a time on this project's 2-core machines; with
 * more cores, pass `--test-concurrency=1` when running test/functional together with
 * other broker tests.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { format } from 'node:util';

import { pyDumps } from '../../src/wire/pyjson.js';
import { MAX_PENDING_PUBLISHES } from '../../src/drivers/rabbit/publisher.js';
import { MessageDeliveryFailure, MessagingTimeout } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { getNotificationListener } from '../../src/notify/listener.js';
import { getRpcServer } from '../../src/rpc/server.js';
import { Target } from '../../src/target.js';
import { getRpcTransport, type Transport } from '../../src/transport.js';
import {
  TRANSPORT_URL,
  closeConnections,
  deleteAll,
  deleteByExchange,
  eventually,
  rabbitDriver,
  rabbitmqctl,
  rawChannel,
  testLogger,
  uniqueName,
} from './rabbit-test-helpers.js';
import { driverOf, type DriverView } from '../helpers/driver-view.js';

const CALL_TIMEOUT_MS = 4000;

interface Counts {
  notificationsSent: number;
  confirmed: number;
  publishFailed: number;
  receivedDistinct: number;
  receivedTotal: number;
  lost: number;
  calls: number;
  answered: number;
  timedOut: number;
  deliveryFailed: number;
  otherErrors: string[];
  slowestCallMs: number;
}

interface Stream {
  counts(): Counts;
  /** Stop sending, then wait (bounded) for every outstanding send and every confirmed notification. */
  finish(settleMs: number): Promise<Counts>;
}

async function setUp(t: TestContext, query: string) {
  const exchange = uniqueName('fault');
  const topic = uniqueName('fault_rpc');
  const notifTopic = uniqueName('fault_n');
  const url = `${TRANSPORT_URL}?${query}`;
  const make = (): Transport =>
    getRpcTransport({ DEFAULT: { control_exchange: exchange } }, { url, logger: testLogger });
  const serverTransport = make();
  const clientTransport = make();
  const received = new Map<number, number>();
  const rpcServer = getRpcServer(serverTransport, { topic, server: 's1' }, [
    { echo: (_ctxt: unknown, args: { seq: number }) => args.seq },
  ]);
  const listener = getNotificationListener(
    serverTransport,
    [new Target({ topic: notifTopic })],
    [
      {
        info: (_c: unknown, _p: unknown, _e: unknown, payload: { seq: number }) => {
          received.set(payload.seq, (received.get(payload.seq) ?? 0) + 1);
        },
      },
    ],
  );
  t.after(async () => {
    const replyQueue = (await rabbitDriver(clientTransport)).replyQueueName;
    await rpcServer.close().catch(() => undefined);
    await listener.close().catch(() => undefined);
    await clientTransport.cleanup();
    await serverTransport.cleanup();
    await deleteByExchange(exchange, [`${topic}_fanout_`]);
    await deleteAll(replyQueue === undefined ? [] : [replyQueue], [`${topic}_fanout`]);
  });
  await rpcServer.start();
  await listener.start();
  const client = driverOf(clientTransport);
  // Warm up: the reply queue exists and a round trip works before faults start.
  assert.equal(await call(client, topic, -1), -1);
  return { exchange, topic, notifTopic, serverTransport, clientTransport, client, received };
}

function call(client: DriverView, topic: string, seq: number): Promise<unknown> {
  return client.send(
    new Target({ topic, server: 's1' }),
    {},
    { method: 'echo', args: { seq } },
    {
      waitForReply: true,
      timeoutMs: CALL_TIMEOUT_MS,
    },
  );
}

/** Sends a notification every `notifyEveryMs` and a call every `callEveryMs` until finished. */
function startStream(
  client: DriverView,
  env: { topic: string; notifTopic: string; received: Map<number, number> },
  notifyEveryMs: number,
  callEveryMs: number,
): Stream {
  const confirmed = new Set<number>();
  const pending = new Set<Promise<unknown>>();
  const c: Counts = {
    notificationsSent: 0,
    confirmed: 0,
    publishFailed: 0,
    receivedDistinct: 0,
    receivedTotal: 0,
    lost: 0,
    calls: 0,
    answered: 0,
    timedOut: 0,
    deliveryFailed: 0,
    otherErrors: [],
    slowestCallMs: 0,
  };
  let running = true;
  const track = (p: Promise<unknown>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const notify = (): void => {
    // Bounded: while the broker is away at most this many sends wait.
    if (pending.size > 1000) return;
    const seq = c.notificationsSent++;
    track(
      client
        .sendNotification(
          new Target({ topic: env.notifTopic }),
          {},
          {
            message_id: crypto.randomUUID(),
            publisher_id: 'omtr.fault',
            event_type: 'omtr.fault.tick',
            priority: 'INFO',
            payload: { seq },
            timestamp: '2026-11-29 05:04:52.838860',
          },
          2,
          undefined,
        )
        .then(
          () => void confirmed.add(seq),
          (err: unknown) => {
            c.publishFailed++;
            c.otherErrors.push(`notify: ${String(err)}`);
          },
        ),
    );
  };
  const rpc = (): void => {
    const seq = c.calls++;
    const started = Date.now();
    track(
      call(client, env.topic, seq).then(
        (result) => {
          c.slowestCallMs = Math.max(c.slowestCallMs, Date.now() - started);
          if (result === seq) c.answered++;
          else c.otherErrors.push(`call ${seq}: wrong result ${String(result)}`);
        },
        (err: unknown) => {
          c.slowestCallMs = Math.max(c.slowestCallMs, Date.now() - started);
          if (err instanceof MessagingTimeout) c.timedOut++;
          else if (err instanceof MessageDeliveryFailure) c.deliveryFailed++;
          else c.otherErrors.push(`call ${seq}: ${String(err)}`);
        },
      ),
    );
  };
  const notifyTimer = setInterval(notify, notifyEveryMs);
  const callTimer = setInterval(rpc, callEveryMs);
  const snapshot = (): Counts => {
    c.confirmed = confirmed.size;
    c.receivedDistinct = [...confirmed].filter((seq) => env.received.has(seq)).length;
    c.receivedTotal = [...env.received.values()].reduce((a, b) => a + b, 0);
    c.lost = c.confirmed - c.receivedDistinct;
    return { ...c, otherErrors: [...c.otherErrors] };
  };
  return {
    counts: snapshot,
    async finish(settleMs) {
      if (running) {
        running = false;
        clearInterval(notifyTimer);
        clearInterval(callTimer);
      }
      const deadline = Date.now() + settleMs;
      while (pending.size > 0 && Date.now() < deadline) await sleep(50);
      // Everything confirmed must arrive; wait for it, within bounds.
      while (snapshot().lost > 0 && Date.now() < deadline) await sleep(100);
      return snapshot();
    },
  };
}

function report(t: TestContext, label: string, counts: Counts): void {
  const { otherErrors, ...numbers } = counts;
  t.diagnostic(`${label}: ${JSON.stringify(numbers)}`);
  if (otherErrors.length > 0) t.diagnostic(`${label}: ${otherErrors.slice(0, 5).join(' | ')}`);
}

function assertCounts(counts: Counts, minSent: number, minAnswered: number): void {
  assert.ok(counts.notificationsSent >= minSent, `sent ${counts.notificationsSent} notifications`);
  assert.deepEqual(counts.otherErrors, [], 'no unexpected errors');
  assert.equal(counts.publishFailed, 0, 'retry -1: every notification is eventually confirmed');
  assert.equal(counts.confirmed, counts.notificationsSent, 'all confirmed');
  assert.equal(counts.lost, 0, 'no confirmed notification is lost');
  assert.equal(
    counts.answered + counts.timedOut + counts.deliveryFailed,
    counts.calls,
    'every call settled',
  );
  assert.ok(
    counts.answered >= counts.calls * minAnswered,
    `answered ${counts.answered}/${counts.calls} calls (the others timed out or failed, as allowed)`,
  );
  assert.ok(
    counts.slowestCallMs <= CALL_TIMEOUT_MS + 1000,
    `every call settled within its timeout (slowest ${counts.slowestCallMs} ms)`,
  );
}

async function ourConnections(transports: Transport[]): Promise<string[]> {
  const names: string[] = [];
  for (const tr of transports) {
    const byRole = (await rabbitDriver(tr)).connectionNames();
    for (const name of [byRole.send, byRole.reply, ...byRole.listeners]) if (name) names.push(name);
  }
  return names;
}

async function openConnectionNames(): Promise<Set<string>> {
  const out = await rabbitmqctl('list_connections', 'client_properties', '--formatter', 'json');
  const conns = JSON.parse(out.trim() || '[]') as { client_properties: unknown[] }[];
  const names = new Set<string>();
  for (const conn of conns) {
    const entry = conn.client_properties.find(
      (p): p is [string, string, string] => Array.isArray(p) && p[0] === 'connection_name',
    );
    if (entry !== undefined) names.add(entry[2]);
  }
  return names;
}

test('rabbit faults - broker-closed connections mid-stream: no confirmed notification lost, every call settles in time', async (t) => {
  const env = await setUp(t, 'kombu_reconnect_delay=0.5');
  const serverNames = (await rabbitDriver(env.serverTransport)).connectionNames();
  const stream = startStream(env.client, env, 10, 50);
  try {
    await sleep(1500);
    // 1. The server's listen connections (RPC server and notification listener).
    assert.equal(await closeConnections(serverNames.listeners), 2);
    await sleep(1500);
    // 2. The client's send and reply connections.
    const clientNames = (await rabbitDriver(env.clientTransport)).connectionNames();
    const clientSide = [clientNames.send, clientNames.reply].filter(
      (n): n is string => n !== undefined,
    );
    assert.equal(await closeConnections(clientSide), 2);
    await sleep(1500);
    // 3. Everything of ours at once, the server's send connection (replies) included.
    const all = await ourConnections([env.serverTransport, env.clientTransport]);
    assert.equal(all.length, 5);
    assert.equal(await closeConnections(all), 5);
    await sleep(2000);
  } finally {
    const counts = await stream.finish(30_000);
    report(t, 'connection closes', counts);
    assertCounts(counts, 300, 0.5);
  }
  // Every connection is back (same names) and consuming: one more round trip each way.
  const names = await ourConnections([env.serverTransport, env.clientTransport]);
  await eventually(
    async () => {
      const open = await openConnectionNames();
      return names.every((n) => open.has(n));
    },
    15_000,
    'every connection to be re-established',
  );
  assert.equal(await call(env.client, env.topic, 424242), 424242);
});

test('rabbit faults - broker restart (stop_app, start_app) mid-stream with durable queues: no confirmed notification lost', async (t) => {
  const others = [...(await openConnectionNames())].filter(
    (name) => !name.includes(`:${process.pid}:`),
  );
  if (others.length > 0) {
    t.skip(`other clients are connected (${others.length}); a broker restart would disturb them`);
    return;
  }
  // Durable queues keep persistent messages over a restart; the reply and fanout queues
  // are transient and re-declared after the reconnect.
  const env = await setUp(
    t,
    'amqp_durable_queues=true&kombu_reconnect_delay=0.5&rabbit_retry_backoff=1',
  );
  const stream = startStream(env.client, env, 10, 100);
  let stopped = false;
  try {
    await sleep(1500);
    stopped = true;
    await rabbitmqctl('stop_app');
    await sleep(2000);
    await rabbitmqctl('start_app');
    await rabbitmqctl('await_startup');
    stopped = false;
    await sleep(4000);
  } finally {
    // Never leave the broker stopped, whatever failed above.
    if (stopped) {
      await rabbitmqctl('start_app').catch(() => undefined);
      await rabbitmqctl('await_startup').catch(() => undefined);
    }
    const counts = await stream.finish(60_000);
    report(t, 'broker restart', counts);
    // Calls sent while the broker is down may time out; those before and after must not.
    assertCounts(counts, 300, 0.3);
  }
  assert.equal(await call(env.client, env.topic, 4242), 4242);
});

/** A logger that keeps every line with its level. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec =
    (level: string) =>
    (message: string, ...args: unknown[]): void => {
      const line = `${level} ${format(message, ...args)}`;
      lines.push(line);
      if (process.env['OMTR_LOG'] === '1') console.error(line);
    };
  return { lines, debug: rec('DEBUG'), info: rec('INFO'), warn: rec('WARN'), error: rec('ERROR') };
}

test('rabbit faults - a reply queue deleted during a call: the client re-declares it and the retried reply arrives', async (t) => {
  const env = await setUp(t, 'kombu_reconnect_delay=0.5');
  const server = getRpcServer(env.serverTransport, { topic: `${env.topic}_slow`, server: 's1' }, [
    {
      slow: async () => {
        await sleep(1500);
        return 'late but delivered';
      },
    },
  ]);
  t.after(() => server.close());
  await server.start();
  const replyQueue = (await rabbitDriver(env.clientTransport)).replyQueueName!;
  const pending = env.client.send(
    new Target({ topic: `${env.topic}_slow`, server: 's1' }),
    {},
    { method: 'slow', args: {} },
    { waitForReply: true, timeoutMs: 15_000 },
  );
  await sleep(300);
  await deleteAll([replyQueue]);
  assert.equal(await pending, 'late but delivered');
  t.after(() => deleteAll([`${env.topic}_slow`, `${env.topic}_slow.s1`]));
});

test('rabbit faults - a reply to a missing queue is retried every 250 ms, abandoned after kombu_missing_consumer_retry_timeout, then dropped at once', async (t) => {
  const exchange = uniqueName('fault_noq');
  const topic = uniqueName('fault_noq_rpc');
  const logger = recordingLogger();
  const transport = getRpcTransport(
    { DEFAULT: { control_exchange: exchange } },
    { url: `${TRANSPORT_URL}?kombu_missing_consumer_retry_timeout=1`, logger },
  );
  const server = getRpcServer(transport, { topic, server: 's1' }, [{ echo: () => 'unheard' }]);
  const raw = await rawChannel();
  t.after(async () => {
    await server.close();
    await transport.cleanup();
    await raw.close();
    await deleteByExchange(exchange, [`${topic}_fanout_`]);
    await deleteAll([], [`${topic}_fanout`]);
  });
  await server.start();
  const goneQueue = uniqueName('fault_gone_reply');
  const request = (n: number): Buffer =>
    Buffer.from(
      pyDumps({
        'oslo.version': '2.0',
        'oslo.message': pyDumps({
          method: 'echo',
          args: {},
          _msg_id: `${n}`.repeat(32),
          _reply_q: goneQueue,
          _timeout: null,
          _unique_id: `${n}`.repeat(31) + 'a',
        }),
      }),
    );
  const publish = async (n: number): Promise<void> => {
    raw.channel.publish(exchange, topic, request(n), {
      contentType: 'application/json',
      headers: {},
    });
    await raw.channel.waitForConfirms();
  };
  const retries = (): number =>
    logger.lines.filter((l) => l.includes('could not be sent due to a missing queue')).length;
  const started = Date.now();
  await publish(1);
  await eventually(
    () => logger.lines.some((l) => l.includes('Abandoning...')),
    5000,
    'the reply to be abandoned',
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 3000, `abandoned after about 1 s (${elapsed} ms)`);
  assert.ok(retries() >= 2 && retries() <= 6, `retried every 250 ms (${retries()} retries)`);
  assert.ok(
    logger.lines.some(
      (l) =>
        l.startsWith('ERROR') &&
        l.includes(
          `The reply ${'1'.repeat(32)} failed to send after 1 seconds due to a missing queue (${goneQueue}). Abandoning...`,
        ),
    ),
    "oslo's log line",
  );
  // The queue is now known to be gone: the next reply to it is dropped without retries.
  const before = retries();
  await publish(2);
  await eventually(
    () =>
      logger.lines.some((l) =>
        l.includes(`${goneQueue} doesn't exist, drop reply to ${'2'.repeat(32)}`),
      ),
    5000,
    'the second reply to be dropped',
  );
  assert.equal(retries(), before, 'no retries for an obsolete reply queue');
});

test('rabbit faults - retry budgets: 0 and N fail with MessageDeliveryFailure, a pending-publish bound holds while the broker is away', async (t) => {
  // Nothing listens on port 1 of 127.0.0.1: every attempt is refused at once.
  const transport = getRpcTransport(
    {},
    {
      url: 'rabbit://guest:guest@127.0.0.1:1/?rabbit_retry_interval=1&rabbit_retry_backoff=0',
      logger: testLogger,
    },
  );
  t.after(() => transport.cleanup());
  const driver = driverOf(transport);
  const notify = (retry: number | undefined): Promise<void> =>
    driver.sendNotification(
      new Target({ topic: 'omtr_unreachable' }),
      {},
      {
        message_id: crypto.randomUUID(),
        publisher_id: null,
        event_type: 'omtr.x',
        priority: 'INFO',
        payload: null,
        timestamp: '2026-11-29 05:04:52',
      },
      2,
      retry,
    );
  for (const [retry, minMs, maxMs] of [
    [0, 0, 900],
    [2, 1800, 6000],
  ] as const) {
    const started = Date.now();
    await assert.rejects(notify(retry), (err: unknown) => {
      assert.ok(err instanceof MessageDeliveryFailure, String(err));
      assert.match(
        err.message,
        new RegExp(`^Unable to connect to AMQP server on 127\\.0\\.0\\.1:1 after ${retry} tries`),
      );
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= minMs && elapsed <= maxMs, `retry ${retry}: ${elapsed} ms`);
  }
  await assert.rejects(
    driver.send(
      new Target({ topic: 'omtr_unreachable' }),
      {},
      { method: 'm', args: {} },
      { waitForReply: false, retry: 0 },
    ),
    MessageDeliveryFailure,
  );
  // A call to an unreachable broker fails within its timeout.
  const started = Date.now();
  await assert.rejects(
    driver.send(
      new Target({ topic: 'omtr_unreachable' }),
      {},
      { method: 'm', args: {} },
      { waitForReply: true, timeoutMs: 1500 },
    ),
    MessagingTimeout,
  );
  assert.ok(Date.now() - started < 2500, 'the call settled in time');

  // retry -1 waits for the broker, but only up to MAX_PENDING_PUBLISHES at once.
  const waiting = Array.from({ length: MAX_PENDING_PUBLISHES }, () => notify(undefined));
  const outcomes = Promise.allSettled(waiting);
  await assert.rejects(notify(undefined), (err: unknown) => {
    assert.ok(err instanceof MessageDeliveryFailure, String(err));
    assert.match(err.message, /Too many messages/);
    return true;
  });
  await transport.cleanup();
  const settled = await outcomes;
  assert.ok(
    settled.every((o) => o.status === 'rejected' && o.reason instanceof MessageDeliveryFailure),
    'cleanup rejects them',
  );
});

test('rabbit faults - failover past an unreachable host, PLAIN and AMQPLAIN logins, and the kombu:// alias', async (t) => {
  const urls = [
    'rabbit://guest:guest@127.0.0.1:1,guest:guest@127.0.0.1:5672/?rabbit_retry_interval=1',
    'rabbit://guest:guest@127.0.0.1:1,guest:guest@127.0.0.1:5672/?rabbit_retry_interval=1&kombu_failover_strategy=shuffle',
    'rabbit://guest:guest@127.0.0.1:5672/?rabbit_login_method=PLAIN',
    'rabbit://guest:guest@127.0.0.1:5672/?rabbit_login_method=AMQPLAIN',
    'kombu://guest:guest@127.0.0.1:5672/',
  ];
  for (const url of urls) {
    const exchange = uniqueName('fault_conn');
    const topic = uniqueName('fault_conn_rpc');
    const transport = getRpcTransport(
      { DEFAULT: { control_exchange: exchange } },
      { url, logger: testLogger },
    );
    const server = getRpcServer(transport, { topic, server: 's1' }, [
      { echo: (_c: unknown, a: object) => a },
    ]);
    t.after(async () => {
      const replyQueue = (await rabbitDriver(transport)).replyQueueName;
      await server.close();
      await transport.cleanup();
      await deleteByExchange(exchange, [`${topic}_fanout_`]);
      await deleteAll(replyQueue === undefined ? [] : [replyQueue], [`${topic}_fanout`]);
    });
    await server.start();
    const driver = driverOf(transport);
    assert.deepEqual(
      await driver.send(
        new Target({ topic }),
        {},
        { method: 'echo', args: { url } },
        { waitForReply: true, timeoutMs: 10_000 },
      ),
      { url },
      url,
    );
  }
});
