/**
 * Functional tests of the resilient RabbitMQ connection on the real broker
 * (127.0.0.1:5672, guest/guest). Every name starts with `omts_` plus random hex; every
 * queue and exchange is deleted in `t.after()`; only connections whose
 * `connection_name` this file chose are ever closed through rabbitmqctl.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import {
  MessageDeliveryFailure,
  MessageUndeliverable,
  MessagingTimeout,
} from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import {
  AmqpChannelError,
  ConnectionClosedError,
  RabbitConnection,
  type ConnectionOptions,
  type Delivery,
} from '../../src/drivers/rabbit/connection.js';

const run = promisify(execFile);
const BROKER = { hostname: '127.0.0.1', port: 5672 };
const DEAD = { hostname: '127.0.0.1', port: 1 }; // nothing listens: connection refused
const JSON_PROPS = { headers: {}, mandatory: false } as const;

const uniq = (what = ''): string => `omts_${what}${randomBytes(6).toString('hex')}`;
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A logger that records lines (printed with NODE_DEBUG=omts). */
function recordingLogger(): Logger & { lines: string[] } {
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
function connection(t: TestContext, options: Partial<ConnectionOptions> = {}): RabbitConnection {
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
function cleanup(t: TestContext, names: { queues?: string[]; exchanges?: string[] }): void {
  const todo = teardown(t);
  todo.queues.push(...(names.queues ?? []));
  todo.exchanges.push(...(names.exchanges ?? []));
}

interface Teardown {
  connections: RabbitConnection[];
  queues: string[];
  exchanges: string[];
}
const teardowns = new WeakMap<TestContext, Teardown>();

function teardown(t: TestContext): Teardown {
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
function nextEvent(
  conn: RabbitConnection,
  event: 'reconnected' | 'disconnected' | 'connected' | 'closed',
  ms = 10000,
): Promise<unknown[]> {
  const promise = once(conn, event, { signal: AbortSignal.timeout(ms) });
  promise.catch(() => undefined);
  return promise;
}

/** Deliveries collected in order; `next()` waits for the next one. */
function inbox(): {
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
async function forceClose(connectionName: string): Promise<number> {
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
async function brokerView(connectionName: string): Promise<Record<string, unknown>> {
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
async function topicQueue(
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

test(
  'publish and consume round trip, each publish resolving on its confirm',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const sub = connection(t, { role: 'consume' });
    const { exchange, queue, key } = await topicQueue(t, pub);
    const box = inbox();
    const consumer = await sub.consume(queue, box.handler);
    assert.equal(consumer.consumerTag, '1');
    assert.equal(pub.status, 'connected');

    await pub.publish(exchange, key, body({ hello: 'world' }), JSON_PROPS);
    const got = await box.next();
    assert.deepEqual(JSON.parse(got.body.toString()), { hello: 'world' });
    assert.equal(got.fields.exchange, exchange);
    assert.equal(got.fields.routingKey, key);
    assert.equal(got.fields.redelivered, false);
    assert.equal(got.fields.consumerTag, '1');
    sub.ack(got);
    sub.ack(got); // a second settle is a no-op, not a 406 that would kill the channel
    await pub.publish(exchange, key, body(2), JSON_PROPS);
    sub.ack(await box.next());
  },
);

test("every publish carries exactly oslo's AMQP properties", { timeout: 15000 }, async (t) => {
  const pub = connection(t);
  const sub = connection(t, { role: 'consume' });
  const { exchange, queue, key } = await topicQueue(t, pub);
  const box = inbox();
  await sub.consume(queue, box.handler);

  await pub.publish(exchange, key, body(1), { headers: {}, mandatory: false });
  await pub.publish(exchange, key, body(2), {
    headers: { compression: 'application/x-gzip' },
    mandatory: true,
    expiration: '60000',
  });
  const plain = await box.next();
  assert.deepEqual(plain.properties, {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: {}, // present although empty
    deliveryMode: 2,
    priority: 0,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
  });
  const withTtl = await box.next();
  assert.equal(withTtl.properties.expiration, '60000');
  assert.deepEqual(withTtl.properties.headers, { compression: 'application/x-gzip' });
  assert.equal(withTtl.properties.deliveryMode, 2);
  sub.ack(plain);
  sub.ack(withTtl);
});

test(
  'a mandatory publish nobody can route rejects with MessageUndeliverable',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const { exchange, key } = await topicQueue(t, pub);
    const unroutable = `${key}.nobody`;

    await assert.rejects(
      pub.publish(exchange, unroutable, body('lost'), { headers: {}, mandatory: true }),
      (err: unknown) =>
        err instanceof MessageUndeliverable &&
        err.exchange === exchange &&
        err.routingKey === unroutable,
    );
    // Without mandatory the broker drops it silently, as oslo's casts.
    await pub.publish(exchange, unroutable, body('dropped'), JSON_PROPS);
    // Returns are matched to the right publish while many are in flight.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        pub.publish(exchange, i % 3 === 0 ? unroutable : key, body({ i }), {
          headers: {},
          mandatory: true,
        }),
      ),
    );
    outcomes.forEach((outcome, i) => {
      if (i % 3 === 0) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof MessageUndeliverable);
      } else {
        assert.equal(outcome.status, 'fulfilled', `publish ${i}`);
      }
    });
  },
);

test('a nack rejects with MessageDeliveryFailure', { timeout: 15000 }, async (t) => {
  const pub = connection(t);
  // A full queue that refuses publishes makes the broker nack.
  const { exchange, key } = await topicQueue(t, pub, {
    'x-max-length': 0,
    'x-overflow': 'reject-publish',
  });
  await assert.rejects(pub.publish(exchange, key, body('refused'), JSON_PROPS), (err: unknown) => {
    assert.ok(err instanceof MessageDeliveryFailure);
    assert.match(err.message, /nacked/);
    return true;
  });
  await pub.publish(exchange, `${key}.elsewhere`, body('fine'), JSON_PROPS);
});

test(
  'channel errors reject the operation with AmqpChannelError and the channel is replaced',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const { exchange, key } = await topicQueue(t, pub);

    // 406: the exchange exists with other flags.
    await assert.rejects(
      pub.declareExchange(exchange, 'fanout', { durable: true, autoDelete: false }),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 406,
    );
    await pub.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await pub.publish(exchange, key, body('after 406'), JSON_PROPS);

    // 404: publishing to an exchange that does not exist.
    await assert.rejects(
      pub.publish(uniq('missing_'), key, body('nowhere'), JSON_PROPS),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 404,
    );
    await pub.publish(exchange, key, body('after 404'), JSON_PROPS);

    // 404 on consume: no such queue.
    const sub = connection(t, { role: 'consume' });
    await assert.rejects(
      sub.consume(uniq('noqueue_'), () => undefined),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 404,
    );
  },
);

test(
  'exchange declares are cached per channel and issued again on a new channel',
  { timeout: 20000 },
  async (t) => {
    const name = uniq('conn_');
    const pub = connection(t, { connectionName: name });
    const admin = connection(t, { role: 'consume' });
    const exchange = uniq('x_');
    cleanup(t, { exchanges: [exchange] });
    await pub.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await pub.declareExchange(exchange, 'topic', { durable: false, autoDelete: false }); // cached

    // Deleted behind our back: the channel still thinks it declared it, so no re-declare...
    await admin.deleteExchange(exchange);
    await assert.rejects(
      pub.publish(exchange, 'k', body(1), JSON_PROPS),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 404,
    );
    // ...but the next channel declares it again before publishing to it.
    await pub.publish(exchange, 'k', body(2), JSON_PROPS);

    // The same after the broker drops the connection.
    assert.equal(await forceClose(name), 1);
    await admin.deleteExchange(exchange);
    await pub.publish(exchange, 'k', body(3), JSON_PROPS); // would be a 404 without it
  },
);

test(
  'after the broker closes the connection it reconnects, re-declares and the consumer resumes',
  { timeout: 20000 },
  async (t) => {
    const pub = connection(t);
    const subName = uniq('conn_');
    const queue = uniq('q_');
    const exchange = uniq('x_');
    cleanup(t, { queues: [queue], exchanges: [exchange] });
    let topologyRuns = 0;
    const declare = async (c: RabbitConnection): Promise<void> => {
      await c.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
      await c.declareQueue(queue, { durable: false, autoDelete: false });
      await c.bindQueue(queue, exchange, 'k');
    };
    const sub = connection(t, {
      role: 'consume',
      connectionName: subName,
      prefetch: 10,
      onReconnect: async (c) => {
        topologyRuns += 1;
        await declare(c);
      },
    });
    await declare(sub);
    const box = inbox();
    const consumer = await sub.consume(queue, box.handler);
    assert.equal(consumer.consumerTag, '1');

    await pub.publish(exchange, 'k', body('before'), JSON_PROPS);
    const unacked = await box.next();
    assert.equal(unacked.fields.redelivered, false);

    const reconnected = nextEvent(sub, 'reconnected');
    const disconnected = nextEvent(sub, 'disconnected');
    assert.equal(await forceClose(subName), 1);
    const [lostWith] = (await disconnected) as [Error];
    assert.match(lostWith.message, /CONNECTION_FORCED|forced close/);
    await reconnected;
    assert.equal(sub.status, 'connected');
    assert.equal(topologyRuns, 1);
    assert.equal(consumer.consumerTag, '2'); // a fresh tag on the new channel

    // The ack of a delivery from the dead channel is dropped quietly...
    sub.ack(unacked);
    // ...because the broker gave the message back: it comes again.
    const again = await box.next();
    assert.equal(again.fields.redelivered, true);
    assert.deepEqual(JSON.parse(again.body.toString()), 'before');
    sub.ack(again);

    await pub.publish(exchange, 'k', body('after'), JSON_PROPS);
    const after = await box.next();
    assert.deepEqual(JSON.parse(after.body.toString()), 'after');
    sub.ack(after);
  },
);

test(
  'a broker-initiated basic.cancel (queue deleted) is recovered: re-declare and consume again',
  { timeout: 20000 },
  async (t) => {
    const pub = connection(t);
    const admin = connection(t, { role: 'consume' });
    const queue = uniq('q_');
    cleanup(t, { queues: [queue] });
    const declare = (c: RabbitConnection): Promise<void> =>
      c.declareQueue(queue, { durable: false, autoDelete: false });
    const sub = connection(t, { role: 'consume', onReconnect: declare });
    await declare(sub);
    const box = inbox();
    await sub.consume(queue, box.handler);

    const reconnected = nextEvent(sub, 'reconnected');
    await admin.deleteQueue(queue);
    await reconnected;
    // Replies go to the default exchange, routed by queue name.
    await pub.publish('', queue, body('back'), JSON_PROPS);
    const got = await box.next();
    assert.deepEqual(JSON.parse(got.body.toString()), 'back');
    sub.ack(got);
  },
);

test(
  'a failing onReconnect (406 on a re-declare) is retried with back-off until it succeeds',
  { timeout: 20000 },
  async (t) => {
    const subName = uniq('conn_');
    const queue = uniq('q_');
    cleanup(t, { queues: [queue] });
    const admin = connection(t, { role: 'consume' });
    let topologyRuns = 0;
    const declare = (c: RabbitConnection): Promise<void> =>
      c.declareQueue(queue, { durable: false, autoDelete: false });
    const sub = connection(t, {
      role: 'consume',
      connectionName: subName,
      onReconnect: async (c) => {
        topologyRuns += 1;
        await declare(c);
      },
    });
    await declare(sub);
    const box = inbox();
    await sub.consume(queue, box.handler);
    const failures: Error[] = [];
    sub.on('connect-failed', (err) => failures.push(err));

    // While it is away, someone declares the queue with other arguments: its re-declare
    // gets 406 PRECONDITION_FAILED, and so does every retry until the queue is fixed.
    const reconnected = nextEvent(sub, 'reconnected');
    const firstFailure = new Promise<void>((resolve) =>
      sub.once('connect-failed', () => resolve()),
    );
    await admin.deleteQueue(queue); // the broker cancels sub's consumer: it reconnects
    await admin.declareQueue(queue, {
      durable: false,
      autoDelete: false,
      arguments: { 'x-max-length': 5 },
    });
    await firstFailure;
    assert.equal(sub.status, 'reconnecting');
    await admin.deleteQueue(queue);
    await reconnected;
    assert.ok(failures.length >= 1);
    assert.ok(
      failures.every((err) => /PRECONDITION_FAILED|406/.test(err.message)),
      String(failures),
    );
    assert.ok(topologyRuns >= 2);

    const pub = connection(t);
    await pub.publish('', queue, body('fixed'), JSON_PROPS);
    const got = await box.next();
    assert.deepEqual(JSON.parse(got.body.toString()), 'fixed');
    sub.ack(got);
  },
);

test('fails over from a dead first host to the next one', { timeout: 15000 }, async (t) => {
  const conn = connection(t, { hosts: [DEAD, BROKER], randomizeHostOrder: false });
  const failures: Array<{ port: number; retryInMs: number }> = [];
  conn.on('connect-failed', (_err, at, retryInMs) => failures.push({ port: at.port, retryInMs }));
  const connected = nextEvent(conn, 'connected');
  await conn.connect();
  await connected;
  assert.deepEqual(failures, [{ port: 1, retryInMs: 50 }]);
  assert.deepEqual(conn.endpoint, BROKER);
  await conn.declareQueue(uniq('q_'), { durable: false, autoDelete: true, exclusive: true });
});

test(
  'back-off grows by the step up to the maximum while round-robin or shuffle moves host',
  { timeout: 15000 },
  async (t) => {
    const DEAD2 = { hostname: '127.0.0.1', port: 2 };
    const DEAD3 = { hostname: '127.0.0.1', port: 3 };
    const roundRobin = connection(t, {
      hosts: [DEAD, DEAD2],
      randomizeHostOrder: false,
      retryIntervalMs: 20,
      retryBackoffMs: 30,
      intervalMaxMs: 90,
    });
    const seen: Array<[number, number]> = [];
    roundRobin.on('connect-failed', (_err, at, retryInMs) => seen.push([at.port, retryInMs]));
    await assert.rejects(roundRobin.connect({ retry: 5 }), /after 5 tries/);
    assert.deepEqual(seen, [
      [1, 20],
      [2, 50],
      [1, 80],
      [2, 90],
      [1, 90],
      [2, 90],
    ]);

    const shuffle = connection(t, {
      hosts: [DEAD, DEAD2, DEAD3],
      failoverStrategy: 'shuffle',
      retryIntervalMs: 1,
      retryBackoffMs: 0,
    });
    const ports: number[] = [];
    shuffle.on('connect-failed', (_err, at) => ports.push(at.port));
    await assert.rejects(shuffle.connect({ retry: 11 }), MessageDeliveryFailure);
    assert.equal(ports.length, 12);
    for (let i = 1; i < ports.length; i++)
      assert.notEqual(ports[i], ports[i - 1], 'a failed host is left');
  },
);

test(
  "retry budgets: 0 fails at once, N fails after N retries with oslo's message",
  { timeout: 15000 },
  async (t) => {
    const conn = connection(t, { hosts: [DEAD] });
    const started = Date.now();
    await assert.rejects(
      conn.publish('', 'q', body(1), JSON_PROPS, { retry: 0 }),
      (err: unknown) => {
        assert.ok(err instanceof MessageDeliveryFailure);
        assert.match(
          err.message,
          /^Unable to connect to AMQP server on 127\.0\.0\.1:1 after 0 tries: .*ECONNREFUSED/,
        );
        return true;
      },
    );
    assert.ok(Date.now() - started < 1000, 'retry=0 must not wait');

    let attempts = 0;
    conn.on('connect-failed', () => (attempts += 1));
    await assert.rejects(conn.publish('', 'q', body(1), JSON_PROPS, { retry: 2 }), /after 2 tries/);
    assert.equal(attempts, 3);
    assert.notEqual(conn.status, 'connected');

    // Forever, but bounded by a timeout or a signal.
    await assert.rejects(
      conn.publish('', 'q', body(1), JSON_PROPS, { timeoutMs: 300 }),
      MessagingTimeout,
    );
    const aborter = new AbortController();
    setTimeout(() => aborter.abort(new Error('caller gave up')), 100);
    await assert.rejects(
      conn.declareQueue('q', { durable: false, autoDelete: false }, { signal: aborter.signal }),
      /caller gave up/,
    );
    // Nobody needs the connection any more: the loop stops.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(conn.status, 'idle');
  },
);

test(
  'a wrong password fails the attempt; the budget turns it into MessageDeliveryFailure',
  { timeout: 15000 },
  async (t) => {
    const conn = connection(t, { hosts: [{ ...BROKER, username: 'guest', password: 'wrong' }] });
    await assert.rejects(conn.connect({ retry: 0 }), (err: unknown) => {
      assert.ok(err instanceof MessageDeliveryFailure);
      assert.match(err.message, /ACCESS_REFUSED|403/);
      return true;
    });
  },
);

for (const loginMethod of ['PLAIN', 'AMQPLAIN'] as const) {
  test(
    `login ${loginMethod} works and the broker sees our client properties and heartbeat`,
    { timeout: 15000 },
    async (t) => {
      const name = uniq('conn_');
      const conn = connection(t, {
        hosts: [{ ...BROKER, username: 'guest', password: 'guest' }],
        loginMethod,
        connectionName: name,
        heartbeatSeconds: 7,
      });
      await conn.connect();
      const view = await brokerView(name);
      assert.equal(view.auth_mechanism, loginMethod);
      assert.equal(view.timeout, 7);
      assert.equal(view.frame_max, 131072);
      const props = new Map((view.client_properties as unknown[][]).map((p) => [p[0], p[2]]));
      assert.equal(props.get('connection_name'), name);
      const caps = new Map((props.get('capabilities') as unknown[][]).map((p) => [p[0], p[2]]));
      for (const cap of [
        'authentication_failure_close',
        'connection.blocked',
        'consumer_cancel_notify',
      ]) {
        assert.equal(caps.get(cap), true, cap);
      }
    },
  );
}

test('heartbeat 0 disables heartbeats', { timeout: 15000 }, async (t) => {
  const name = uniq('conn_');
  const conn = connection(t, { connectionName: name, heartbeatSeconds: 0 });
  await conn.connect();
  assert.equal((await brokerView(name)).timeout, 0);
});

test(
  'TCP no-delay: a confirmed publish takes far less than the 40 ms of Nagle plus delayed ACK',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const { exchange, key } = await topicQueue(t, pub);
    await pub.publish(exchange, key, body('warm up'), JSON_PROPS);
    // amqplib writes a message under 2 KB in one piece, which Nagle lets through; a larger
    // one goes out as two writes, and Nagle holds the second until the broker's delayed ACK.
    const padding = 'x'.repeat(4096);
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const start = performance.now();
      await pub.publish(exchange, key, body({ i, padding }), JSON_PROPS);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    assert.ok(median < 20, `median publish round trip ${median.toFixed(1)} ms`);
  },
);

test(
  '1000 concurrent publishes are pipelined on one channel and all arrive',
  { timeout: 20000 },
  async (t) => {
    const pub = connection(t);
    const sub = connection(t, { role: 'consume', prefetch: 100 });
    const { exchange, queue, key } = await topicQueue(t, pub);
    const seen = new Set<number>();
    let done!: () => void;
    const allIn = new Promise<void>((resolve) => (done = resolve));
    await sub.consume(queue, (d) => {
      seen.add(JSON.parse(d.body.toString()) as number);
      sub.ack(d);
      if (seen.size === 1000) done();
    });
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => pub.publish(exchange, key, body(i), JSON_PROPS)),
    );
    const elapsed = performance.now() - started;
    await allIn;
    assert.equal(seen.size, 1000);
    assert.ok(elapsed < 5000, `1000 confirmed publishes took ${elapsed.toFixed(0)} ms`);
  },
);

test(
  'prefetch bounds the unacknowledged deliveries per consumer',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const sub = connection(t, { role: 'consume', prefetch: 2 });
    const { exchange, queue, key } = await topicQueue(t, pub);
    const box = inbox();
    await sub.consume(queue, box.handler);
    await Promise.all([1, 2, 3, 4, 5].map((i) => pub.publish(exchange, key, body(i), JSON_PROPS)));
    const first = await box.next();
    await box.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(box.received.length, 2);
    sub.ack(first);
    await box.next();
    assert.equal(box.received.length, 3);
  },
);

test(
  'requeue and cancel: a rejected message comes back; a cancelled consumer gets nothing more',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const sub = connection(t, { role: 'consume' });
    const { exchange, queue, key } = await topicQueue(t, pub);
    const box = inbox();
    const consumer = await sub.consume(queue, box.handler);
    await pub.publish(exchange, key, body('once'), JSON_PROPS);
    sub.reject(await box.next(), true);
    const again = await box.next();
    assert.equal(again.fields.redelivered, true);
    sub.reject(again, false); // dropped for good

    await sub.cancel(consumer);
    assert.equal(consumer.consumerTag, undefined);
    await sub.cancel(consumer); // idempotent
    await pub.publish(exchange, key, body('nobody'), JSON_PROPS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(box.received.length, 2);
    // The message waits in the queue for the next consumer.
    const box2 = inbox();
    await sub.consume(queue, box2.handler);
    assert.deepEqual(JSON.parse((await box2.next()).body.toString()), 'nobody');
  },
);

test(
  'with republishUnconfirmed no publish is lost when the broker drops the connection mid-stream',
  { timeout: 30000 },
  async (t) => {
    const name = uniq('conn_');
    const pub = connection(t, { connectionName: name });
    const sub = connection(t, { role: 'consume', prefetch: 200 });
    const { exchange, queue, key } = await topicQueue(t, pub);
    const seen = new Set<number>();
    await sub.consume(queue, (d) => {
      seen.add(JSON.parse(d.body.toString()) as number);
      sub.ack(d);
    });

    let next = 0;
    let stop = false;
    const confirmed: number[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        const id = next++;
        await pub.publish(exchange, key, body(id), JSON_PROPS, { republishUnconfirmed: true });
        confirmed.push(id);
      }
    };
    const workers = Array.from({ length: 20 }, () => worker());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reconnected = nextEvent(pub, 'reconnected');
    assert.equal(await forceClose(name), 1);
    await reconnected;
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await Promise.all(workers);

    const deadline = Date.now() + 5000;
    while (confirmed.some((id) => !seen.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(confirmed.length > 100, `only ${confirmed.length} publishes`);
    assert.deepEqual(
      confirmed.filter((id) => !seen.has(id)),
      [],
      'every confirmed publish arrived',
    );
  },
);

test(
  'close() rejects waiting operations with ConnectionClosedError, is idempotent and ends the state',
  { timeout: 15000 },
  async (t) => {
    const dead = connection(t, { hosts: [DEAD] });
    const waiting = dead.publish('', 'q', body(1), JSON_PROPS); // retries forever
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(dead.status, 'connecting');
    const closing = dead.close();
    await assert.rejects(waiting, ConnectionClosedError);
    await Promise.all([closing, dead.close(), dead.closed()]);
    assert.equal(dead.status, 'closed');
    await assert.rejects(dead.publish('', 'q', body(1), JSON_PROPS), ConnectionClosedError);
    await assert.rejects(dead.connect(), ConnectionClosedError);

    const live = connection(t, { role: 'consume' });
    const queue = uniq('q_');
    await live.declareQueue(queue, { durable: false, autoDelete: true });
    await live.consume(queue, () => undefined);
    const closedEvent = nextEvent(live, 'closed');
    await live.close();
    await closedEvent;
    assert.equal(live.status, 'closed');
  },
);

test(
  'a process whose connections are closed exits by itself: no timer or socket is left',
  { timeout: 20000 },
  async () => {
    const moduleUrl = new URL('../../src/drivers/rabbit/connection.ts', import.meta.url).href;
    const script = `
    const { RabbitConnection } = await import(${JSON.stringify(moduleUrl)});
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const live = new RabbitConnection({ hosts: [{ hostname: '127.0.0.1', port: 5672 }], role: 'publish', logger: quiet });
    await live.publish('', 'omts_nobody_${randomBytes(4).toString('hex')}', Buffer.from('1'), { headers: {}, mandatory: false });
    const dead = new RabbitConnection({ hosts: [{ hostname: '127.0.0.1', port: 1 }], role: 'consume', logger: quiet,
      onReconnect: async () => {}, retryIntervalMs: 20000, intervalMaxMs: 20000 });
    const pending = dead.connect().catch((e) => e.name);
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all([live.close(), dead.close()]);
    console.log(await pending);
  `;
    const started = Date.now();
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        timeout: 15000,
      },
    );
    assert.equal(stdout.trim(), 'ConnectionClosedError');
    assert.ok(Date.now() - started < 10000);
  },
);

/** A self-signed certificate for 127.0.0.1, in a temporary directory removed after the test. */
async function selfSigned(t: TestContext, name: string): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'omts_tls_'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return { cert, key };
}

/** A TLS listener on 127.0.0.1 that forwards to the broker (the shared broker has no TLS port). */
async function tlsProxy(t: TestContext, cert: string, key: string): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createTlsServer(
    { cert: await readFile(cert), key: await readFile(key) },
    (client) => {
      const upstream = netConnect(BROKER.port, BROKER.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

test(
  'TLS: amqps with the CA verified (and the host name), without a CA, and a wrong CA refused',
  { timeout: 20000 },
  async (t) => {
    const server = await selfSigned(t, 'omts-broker');
    const other = await selfSigned(t, 'omts-other');
    const port = await tlsProxy(t, server.cert, server.key);
    const hosts = [{ hostname: '127.0.0.1', port }];

    const verified = connection(t, {
      hosts,
      ssl: { enabled: true, caFile: server.cert, verifyHostname: true, version: 'TLSv1_2' },
    });
    await verified.publish('', uniq('nobody_'), body('over TLS'), JSON_PROPS);

    // oslo: without ssl_ca_file the broker's certificate is not checked.
    const unverified = connection(t, { hosts, ssl: { enabled: true } });
    await unverified.connect();

    const refused = connection(t, { hosts, ssl: { enabled: true, caFile: other.cert } });
    await assert.rejects(refused.connect({ retry: 0 }), (err: unknown) => {
      assert.ok(err instanceof MessageDeliveryFailure);
      assert.match(err.message, /certificate/i);
      return true;
    });
    // Before the proxy goes away in the after hooks.
    await Promise.all([verified.close(), unverified.close(), refused.close()]);
  },
);
