import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';

import type { RpcIncomingMessage } from '../../src/drivers/driver.js';
import type { RequestContext, RpcReply } from '../../src/wire/messages.js';
import {
  ExecutorLoadFailure,
  InvalidTarget,
  MessagingTimeout,
  RemoteError,
} from '../../src/errors.js';
import { formatLogRecord, silentLogger, type Logger } from '../../src/log.js';
import { RPCDispatcher } from '../../src/rpc/dispatcher.js';
import { RPCServer, getRpcServer, type RPCServerOptions } from '../../src/rpc/server.js';
import { expectedExceptions } from '../../src/rpc/endpoint.js';
import { getRpcClient } from '../../src/rpc/client.js';
import { Target, type TargetFields } from '../../src/target.js';
import { getRpcTransport } from '../../src/transport.js';
import { driverOf } from '../helpers/driver-view.js';

function uniqueTopic(): string {
  return `rpc_server_${randomBytes(6).toString('hex')}`;
}

/** A logger that keeps what it is given, by level. */
function recordingLogger(): Logger & {
  lines: Record<'debug' | 'info' | 'warn' | 'error', string[]>;
} {
  const lines = {
    debug: [] as string[],
    info: [] as string[],
    warn: [] as string[],
    error: [] as string[],
  };
  const keep =
    (level: keyof typeof lines) =>
    (message: string, ...args: unknown[]) =>
      lines[level].push(formatLogRecord(message, args));
  return {
    lines,
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
  };
}

function fixture(
  t: TestContext,
  conf: Parameters<typeof getRpcTransport>[0] = 'fake://',
  logger: Logger = silentLogger,
) {
  const teardown: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const step of teardown.reverse()) await step();
  });
  const transport = getRpcTransport(conf, { logger });
  teardown.push(() => transport.cleanup());
  const topic = uniqueTopic();
  return {
    transport,
    topic,
    teardown,
    async serve(endpoints: object[], target: TargetFields = {}, options: RPCServerOptions = {}) {
      const server = getRpcServer(
        transport,
        { topic, server: 'server1', ...target },
        endpoints,
        options,
      );
      await server.start();
      teardown.push(() => server.close());
      return server;
    },
    client(target: TargetFields = {}) {
      return getRpcClient(transport, { topic, ...target });
    },
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// -- processing one request, with a hand-made incoming message ----------------------------

/** Exposes processMessage so single requests can be run without a driver. */
class ProbeServer extends RPCServer {
  run(message: RpcIncomingMessage): Promise<void> {
    return this.processMessage(message);
  }
}

function probe(t: TestContext, endpoints: object[], logger: Logger = silentLogger): ProbeServer {
  const transport = getRpcTransport('fake://', { logger });
  t.after(() => transport.cleanup());
  return new ProbeServer(
    transport,
    new Target({ topic: uniqueTopic(), server: 's' }),
    new RPCDispatcher(endpoints, { logger }),
  );
}

function incoming(
  message: Record<string, unknown>,
  events: unknown[],
  options: { msgId?: string; ackFails?: boolean; replyFails?: (reply: RpcReply) => boolean } = {},
): RpcIncomingMessage {
  return {
    ctxt: {},
    message,
    msgId: options.msgId,
    callMonitorTimeoutMs: undefined,
    headers: {},
    delivery: { exchange: 'openstack', routingKey: 'topic', redelivered: false },
    acknowledge: () => {
      events.push('ack');
      return options.ackFails === true
        ? Promise.reject(new Error('channel closed'))
        : Promise.resolve();
    },
    requeue: () => Promise.resolve(),
    reject: () => Promise.resolve(),
    reply: (reply) => {
      events.push({ reply });
      return options.replyFails?.(reply) === true
        ? Promise.reject(new TypeError('Circular reference detected'))
        : Promise.resolve();
    },
    heartbeat: () => Promise.resolve(),
  };
}

function failureOf(event: unknown): Record<string, unknown> {
  const reply = (event as { reply: RpcReply }).reply;
  assert.equal(typeof reply.failure, 'string');
  return JSON.parse(reply.failure as string) as Record<string, unknown>;
}

test('rpc server - acknowledges each request before dispatching it, then replies once', async (t) => {
  const events: unknown[] = [];
  const server = probe(t, [{ m: () => (events.push('method'), 'result') }]);
  await server.run(incoming({ method: 'm', args: {} }, events, { msgId: 'id1' }));
  assert.deepEqual(events, ['ack', 'method', { reply: { result: 'result' } }]);
});

test('rpc server - a request whose ack fails is neither dispatched nor answered', async (t) => {
  const events: unknown[] = [];
  const logger = recordingLogger();
  const server = probe(t, [{ m: () => events.push('method') }], logger);
  await server.run(incoming({ method: 'm' }, events, { msgId: 'id1', ackFails: true }));
  assert.deepEqual(events, ['ack']);
  assert.equal(logger.lines.error.length, 1);
});

test('rpc server - a method returning nothing replies with result null', async (t) => {
  const events: unknown[] = [];
  const server = probe(t, [{ m: () => undefined }]);
  await server.run(incoming({ method: 'm' }, events, { msgId: 'id1' }));
  assert.deepEqual(events, ['ack', { reply: { result: null } }]);
});

test('rpc server - a cast gets no reply; one that throws is logged as an error', async (t) => {
  const events: unknown[] = [];
  const logger = recordingLogger();
  const server = probe(
    t,
    [
      {
        ok: () => events.push('ok'),
        boom: () => {
          throw new Error('cast failed');
        },
      },
    ],
    logger,
  );
  await server.run(incoming({ method: 'ok' }, events));
  await server.run(incoming({ method: 'boom' }, events));
  assert.deepEqual(events, ['ack', 'ok', 'ack']);
  assert.equal(logger.lines.error.length, 1);
  assert.match(logger.lines.error[0]!, /cast failed/);
});

test('rpc server - a failing call replies with the failure in oslo format and logs an error', async (t) => {
  const events: unknown[] = [];
  const logger = recordingLogger();
  class QuotaExceeded extends Error {
    override name = 'QuotaExceeded';
  }
  const server = probe(
    t,
    [
      {
        m: () => {
          throw new QuotaExceeded('over quota');
        },
      },
    ],
    logger,
  );
  await server.run(incoming({ method: 'm' }, events, { msgId: 'id1' }));
  assert.equal(events.length, 2);
  const failure = failureOf(events[1]);
  assert.equal(failure['class'], 'QuotaExceeded');
  assert.match(String(failure['message']), /over quota/);
  assert.ok(Array.isArray(failure['tb']));
  assert.equal(logger.lines.error.length, 1);
});

test('rpc server - expected exceptions are logged at debug level and replied as the original error', async (t) => {
  const events: unknown[] = [];
  const logger = recordingLogger();
  class InstanceNotFound extends Error {
    override name = 'InstanceNotFound';
  }
  const server = probe(
    t,
    [
      {
        show: expectedExceptions(InstanceNotFound)(() => {
          throw new InstanceNotFound('no such instance');
        }),
      },
    ],
    logger,
  );
  await server.run(incoming({ method: 'show' }, events, { msgId: 'id1' }));
  const failure = failureOf(events[1]);
  assert.equal(failure['class'], 'InstanceNotFound');
  assert.match(String(failure['message']), /no such instance/);
  assert.deepEqual(logger.lines.error, []);
  assert.ok(logger.lines.debug.some((line) => /Expected exception/.test(line)));
});

test('rpc server - a missing *_ignore_errors method is logged at debug level only', async (t) => {
  const events: unknown[] = [];
  const logger = recordingLogger();
  const server = probe(t, [{}], logger);
  await server.run(incoming({ method: 'sync_ignore_errors' }, events, { msgId: 'id1' }));
  assert.equal(failureOf(events[1])['class'], 'NoSuchMethod');
  assert.deepEqual(logger.lines.error, []);
});

test('rpc server - a result that cannot be sent is replaced by a failure reply', async (t) => {
  const events: unknown[] = [];
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  const server = probe(t, [{ m: () => circular }]);
  await server.run(
    incoming({ method: 'm' }, events, {
      msgId: 'id1',
      replyFails: (reply) => reply.result === circular,
    }),
  );
  assert.equal(events.length, 3);
  assert.deepEqual(events[1], { reply: { result: circular } });
  assert.match(String(failureOf(events[2])['message']), /Circular reference/);
});

// -- construction and lifecycle -----------------------------------------------------------

test('rpc server - a target without a server or a topic is refused with InvalidTarget', (t) => {
  const transport = getRpcTransport('fake://', { logger: silentLogger });
  t.after(() => transport.cleanup());
  assert.throws(
    () => getRpcServer(transport, { topic: 'testtopic' }, []),
    (err: unknown) => err instanceof InvalidTarget && (err.target as Target).topic === 'testtopic',
  );
  assert.throws(
    () => getRpcServer(transport, { server: 'testserver' }, []),
    (err: unknown) =>
      err instanceof InvalidTarget && (err.target as Target).server === 'testserver',
  );
});

test('rpc server - an unknown executor is refused with ExecutorLoadFailure', (t) => {
  const transport = getRpcTransport('fake://', { logger: silentLogger });
  t.after(() => transport.cleanup());
  assert.throws(
    () =>
      getRpcServer(transport, { topic: 't', server: 's' }, [], { executor: 'foo' as 'blocking' }),
    (err: unknown) => err instanceof ExecutorLoadFailure && err.executor === 'foo',
  );
});

test('rpc server - start, stop, wait, and start again', async (t) => {
  const f = fixture(t);
  const server = getRpcServer(f.transport, { topic: f.topic, server: 's1' }, [
    { ping: () => 'pong' },
  ]);
  f.teardown.push(() => server.close());
  assert.equal(server.state, 'new');
  await Promise.all([server.start(), server.start()]);
  assert.equal(server.state, 'running');
  assert.equal(await f.client().call({}, 'ping'), 'pong');
  await server.stop();
  await server.wait();
  assert.equal(server.state, 'new');
  await server.start();
  assert.equal(await f.client().call({}, 'ping'), 'pong');
  await server.close();
  await server.close();
});

test('rpc server - a call in flight at stop() still gets its reply during wait()', async (t) => {
  const f = fixture(t);
  const started = deferred();
  const release = deferred();
  const server = await f.serve([
    {
      slow: async () => {
        started.resolve();
        await release.promise;
        return 'finished';
      },
    },
  ]);
  const call = f.client().call({}, 'slow');
  await started.promise;
  await server.stop();
  const waiting = server.wait();
  release.resolve();
  assert.equal(await call, 'finished');
  await waiting;
});

test('rpc server - the blocking executor handles requests one at a time, in order', async (t) => {
  const f = fixture(t);
  const seen: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const done = deferred();
  await f.serve(
    [
      {
        record: async (_c: RequestContext, args: { i: number }) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await new Promise((r) => setTimeout(r, 2));
          seen.push(args.i);
          running--;
          if (seen.length === 8) done.resolve();
        },
      },
    ],
    {},
    { executor: 'blocking' },
  );
  const client = f.client();
  for (let i = 0; i < 8; i++) await client.cast({}, 'record', { i });
  await done.promise;
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(maxRunning, 1);
});

test('rpc server - a concurrent executor runs calls side by side', async (t) => {
  const f = fixture(t);
  const arrived = deferred();
  let count = 0;
  const release = deferred();
  await f.serve([
    {
      gather: async () => {
        if (++count === 3) arrived.resolve();
        await release.promise;
        return count;
      },
    },
  ]);
  const client = f.client();
  const calls = [1, 2, 3].map(() => client.call({}, 'gather'));
  await arrived.promise;
  release.resolve();
  assert.deepEqual(await Promise.all(calls), [3, 3, 3]);
});

// -- ping and call-monitor heartbeats ------------------------------------------------------

test('rpc server - answers oslo_rpc_server_ping with pong when rpc_ping_enabled', async (t) => {
  const f = fixture(t, { DEFAULT: { transport_url: 'fake://', rpc_ping_enabled: true } });
  await f.serve([{ other: () => 1 }]);
  assert.equal(await f.client().call({}, 'oslo_rpc_server_ping'), 'pong');
});

test('rpc server - without rpc_ping_enabled, ping is an unsupported method', async (t) => {
  const f = fixture(t);
  await f.serve([{ target: new Target({ namespace: 'ns' }), other: () => 1 }]);
  await assert.rejects(
    f.client().call({}, 'oslo_rpc_server_ping'),
    (err: unknown) => err instanceof RemoteError && err.excType === 'UnsupportedVersion',
  );
});

test('rpc server - heartbeats keep a call alive beyond its call-monitor timeout', async (t) => {
  const f = fixture(t);
  // The call monitor travels in whole seconds (oslo's _timeout); 2 s is the smallest that
  // makes a server send heartbeats, every second.
  await f.serve([
    {
      long: async () => {
        await new Promise((r) => setTimeout(r, 3200));
        return 'survived';
      },
    },
  ]);
  const client = getRpcClient(f.transport, { topic: f.topic }, { callMonitorTimeout: 2000 });
  assert.equal(await client.call({}, 'long', {}, { timeout: 60_000 }), 'survived');
});

test('rpc server - the call monitor fails a call fast when the server hangs without heartbeats', async (t) => {
  const f = fixture(t);
  // A server that takes the request and never answers: no reply, no heartbeat.
  const driver = driverOf(f.transport);
  const listener = await driver.listen(new Target({ topic: f.topic, server: 'hung' }), {
    maxUnsettled: 16,
  });
  const received = deferred();
  await listener.start((message) => {
    void message.acknowledge();
    received.resolve();
  });
  f.teardown.push(() => listener.cleanup());
  const client = getRpcClient(f.transport, { topic: f.topic }, { callMonitorTimeout: 2000 });
  await assert.rejects(client.call({}, 'anything', {}, { timeout: 600_000 }), (err: unknown) => {
    assert.ok(err instanceof MessagingTimeout);
    assert.match(err.message, /call monitor/);
    return true;
  });
  await received.promise;
});

// -- access policy over the wire --------------------------------------------------------------

test('rpc server - no Object.prototype member, private or constructor method is reachable by a client', async (t) => {
  const f = fixture(t);
  let ran = 0;
  class Endpoint {
    visible(): string {
      return 'visible';
    }
    _private(): void {
      ran++;
    }
  }
  await f.serve([new Endpoint()]);
  const client = f.client();
  for (const method of [
    ...Object.getOwnPropertyNames(Object.prototype),
    '_private',
    'constructor',
  ]) {
    await assert.rejects(
      client.call({}, method),
      (err: unknown) => err instanceof RemoteError && err.excType === 'NoSuchMethod',
      method,
    );
  }
  assert.equal(ran, 0);
  assert.equal(await client.call({}, 'visible'), 'visible');
});
