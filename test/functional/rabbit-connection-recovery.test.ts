/**
 * RabbitConnection on the real broker, part 2: failover across hosts, heartbeats, recovery
 * after broker-side closes and cancels, close semantics, TLS. Part 1 is rabbit-connection.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import { MessageDeliveryFailure, MessagingTimeout } from '../../src/errors.js';
import { ConnectionClosedError } from '../../src/drivers/rabbit/connection.js';
import {
  run,
  BROKER,
  DEAD,
  JSON_PROPS,
  uniq,
  body,
  connection,
  nextEvent,
  inbox,
  forceClose,
  brokerView,
  topicQueue,
} from './rabbit-connection-helpers.js';

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
