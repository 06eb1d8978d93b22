import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { DriverListener, IncomingMessage } from '../../src/drivers/driver.js';
import { ExecutorLoadFailure, TaskTimeout } from '../../src/errors.js';
import type { ExecutorName } from '../../src/executor.js';
import { silentLogger } from '../../src/log.js';
import { MessageHandlingServer } from '../../src/server.js';
import { Target } from '../../src/target.js';
import type { Transport } from '../../src/transport.js';
import { createFakeNotificationTransport, fakeQueueDepth } from '../../src/testing/index.js';

type Handler = (message: IncomingMessage) => Promise<void>;

/** The smallest server: a notification listener on one topic that runs `handler`, then acks. */
class TestServer extends MessageHandlingServer {
  readonly topic: string;
  handler: Handler;
  listenersCreated = 0;
  listenerStarts = 0;
  failListen: Error | undefined;
  listenDelayMs = 0;

  constructor(
    transport: Transport,
    topic: string,
    handler: Handler = async () => undefined,
    executor?: string,
  ) {
    super(transport, executor === undefined ? {} : { executor: executor as ExecutorName });
    this.topic = topic;
    this.handler = handler;
  }

  protected override async createListener(maxUnsettled: number): Promise<DriverListener> {
    this.listenersCreated++;
    if (this.listenDelayMs > 0) await sleep(this.listenDelayMs);
    if (this.failListen !== undefined) throw this.failListen;
    const listener = await this.transport._listenForNotifications(
      [{ target: new Target({ topic: this.topic }), priority: 'info' }],
      { pool: undefined, tap: false, maxUnsettled },
    );
    return {
      start: (onMessage) => {
        this.listenerStarts++;
        return listener.start(onMessage);
      },
      stop: () => listener.stop(),
      cleanup: () => listener.cleanup(),
    };
  }

  protected override async processMessage(message: IncomingMessage): Promise<void> {
    try {
      await this.handler(message);
    } finally {
      await message.acknowledge();
    }
  }
}

interface Env {
  transport: Transport;
  topic: string;
  server: TestServer;
  /** Publish `count` notifications with payloads 0..count-1 (or from `from`). */
  send(count: number, from?: number): Promise<void>;
}

function setup(t: TestContext, handler?: Handler, executor?: string, poolSize = 4): Env {
  const transport = createFakeNotificationTransport({
    logger: silentLogger,
    conf: { DEFAULT: { executor_thread_pool_size: poolSize } },
  });
  const topic = `server_${randomUUID().slice(0, 8)}`;
  const server = new TestServer(transport, topic, handler, executor);
  t.after(async () => {
    await server.stop();
    await server.wait();
    await transport.cleanup();
  });
  return {
    transport,
    topic,
    server,
    async send(count, from = 0) {
      for (let i = from; i < from + count; i++) {
        await transport._sendNotification(
          new Target({ topic }),
          {},
          {
            message_id: randomUUID(),
            publisher_id: 'test',
            event_type: 'test.event',
            priority: 'INFO',
            payload: i,
            timestamp: '2026-01-01 00:00:00',
          },
          { version: 2, retry: -1 },
        );
      }
    },
  };
}

async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

/** A gate that handlers wait on until the test opens it. */
function gate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

test('server - an unknown executor fails at construction with ExecutorLoadFailure', (t) => {
  const transport = createFakeNotificationTransport({ logger: silentLogger });
  t.after(() => transport.cleanup());
  assert.throws(
    () => new TestServer(transport, 't', undefined, 'greenlet'),
    (err: unknown) => {
      assert.ok(err instanceof ExecutorLoadFailure);
      assert.equal(err.executor, 'greenlet');
      return true;
    },
  );
});

test('server - start() twice starts once, concurrently or in sequence', async (t) => {
  const env = setup(t);
  env.server.listenDelayMs = 20;
  const a = env.server.start();
  const b = env.server.start();
  assert.equal(env.server.state, 'starting');
  await Promise.all([a, b]);
  await env.server.start();
  assert.equal(env.server.state, 'running');
  assert.equal(env.server.listenersCreated, 1);
  assert.equal(env.server.listenerStarts, 1);
});

test('server - handles delivered messages and acknowledges them', async (t) => {
  const seen: unknown[] = [];
  const env = setup(t, async (m) => void seen.push(m.message['payload']));
  await env.server.start();
  await env.send(3);
  await until(() => seen.length === 3);
  await env.server.close();
  assert.deepEqual(
    seen.sort((a, b) => Number(a) - Number(b)),
    [0, 1, 2],
  );
  assert.equal(fakeQueueDepth(env.transport, `${env.topic}.info`), 0);
});

test('server - stop() waits for a start in progress, then stops', async (t) => {
  const env = setup(t);
  env.server.listenDelayMs = 30;
  const starting = env.server.start();
  const stopping = env.server.stop();
  await stopping;
  await starting;
  assert.equal(env.server.state, 'stopped');
  assert.equal(env.server.listenerStarts, 1);
  // Nothing is consumed after stop(): a new message stays in the queue.
  await env.send(1);
  await sleep(30);
  assert.equal(fakeQueueDepth(env.transport, `${env.topic}.info`), 1);
});

test('server - wait() after stop() lets in-flight handlers finish before it resolves', async (t) => {
  const release = gate();
  const started: unknown[] = [];
  const finished: unknown[] = [];
  const env = setup(t, async (m) => {
    started.push(m.message['payload']);
    await release.wait();
    finished.push(m.message['payload']);
  });
  await env.server.start();
  await env.send(3);
  await until(() => started.length === 3);
  await env.server.stop();
  let waited = false;
  const waiting = env.server.wait().then(() => (waited = true));
  await sleep(20);
  assert.equal(waited, false, 'wait() is still waiting for the handlers');
  release.open();
  await waiting;
  assert.equal(finished.length, 3);
  assert.equal(env.server.state, 'new');
});

test('server - wait() without stop() waits until stop() is called', async (t) => {
  const env = setup(t);
  await env.server.start();
  let waited = false;
  const waiting = env.server.wait().then(() => (waited = true));
  await sleep(20);
  assert.equal(waited, false);
  await env.server.stop();
  await waiting;
  assert.equal(waited, true);
});

test('server - stop() and wait() are idempotent, also before any start()', async (t) => {
  const env = setup(t);
  await env.server.stop();
  await env.server.wait();
  assert.equal(env.server.state, 'new');
  await env.server.start();
  await Promise.all([env.server.stop(), env.server.stop()]);
  await env.server.stop();
  await Promise.all([env.server.wait(), env.server.wait()]);
  await env.server.wait();
  await env.server.stop();
  assert.equal(env.server.state, 'new');
});

test('server - can be restarted after wait(), and consumes again', async (t) => {
  const seen: unknown[] = [];
  const env = setup(t, async (m) => void seen.push(m.message['payload']));
  await env.server.start();
  await env.send(1);
  await until(() => seen.length === 1);
  await env.server.close();
  await env.send(1, 1);
  await env.server.start();
  assert.equal(env.server.state, 'running');
  await until(() => seen.length === 2);
  assert.deepEqual(seen, [0, 1]);
  assert.equal(env.server.listenersCreated, 2);
});

test('server - start() right after stop() waits for the previous run, then starts once', async (t) => {
  const release = gate();
  let started = false;
  const env = setup(t, () => {
    started = true;
    return release.wait();
  });
  await env.server.start();
  await env.send(1);
  await until(() => started);
  await env.server.stop();
  const a = env.server.start();
  const b = env.server.start();
  await sleep(10);
  assert.equal(env.server.listenersCreated, 1, 'the restart waits for in-flight handlers');
  release.open();
  await Promise.all([a, b]);
  assert.equal(env.server.state, 'running');
  assert.equal(env.server.listenersCreated, 2);
  assert.equal(env.server.listenerStarts, 2);
});

test('server - stop() called while a restart is pending stops the new run', async (t) => {
  const env = setup(t);
  await env.server.start();
  await env.server.stop();
  const restarting = env.server.start();
  const stopping = env.server.stop();
  await restarting;
  await stopping;
  assert.equal(env.server.state, 'stopped');
  await env.server.wait();
  assert.equal(env.server.state, 'new');
});

test('server - a failed start rejects, releases waiters, and the server can start again', async (t) => {
  const env = setup(t);
  const failure = new Error('declare refused');
  env.server.failListen = failure;
  const waiting = env.server.wait();
  const starting = env.server.start();
  const waitingDuringStart = env.server.wait();
  await assert.rejects(starting, (err) => err === failure);
  assert.equal(env.server.state, 'new');
  await waiting;
  await waitingDuringStart;
  await env.server.stop();
  env.server.failListen = undefined;
  await env.server.start();
  assert.equal(env.server.state, 'running');
});

test('server - close() is stop() then wait()', async (t) => {
  const release = gate();
  const finished: unknown[] = [];
  const env = setup(t, async (m) => {
    await release.wait();
    finished.push(m.message['payload']);
  });
  await env.server.start();
  await env.send(2);
  await until(() => env.server.state === 'running');
  await sleep(10);
  const closing = env.server.close();
  await sleep(10);
  release.open();
  await closing;
  assert.equal(env.server.state, 'new');
  assert.equal(finished.length, 2);
});

test('server - await using closes the server at the end of the scope', async (t) => {
  const env = setup(t);
  {
    await using server = env.server;
    await server.start();
    assert.equal(server.state, 'running');
  }
  assert.equal(env.server.state, 'new');
});

test('server - wait(timeoutMs) rejects with TaskTimeout while a handler hangs', async (t) => {
  const release = gate();
  let started = false;
  const env = setup(t, async () => {
    started = true;
    await release.wait();
  });
  await env.server.start();
  await env.send(1);
  await until(() => started);
  await env.server.stop();
  await assert.rejects(env.server.wait(20), TaskTimeout);
  // The wait itself goes on: once the handler finishes, wait() resolves.
  release.open();
  await env.server.wait(5000);
  assert.equal(env.server.state, 'new');
});

test('server - an error thrown by processMessage is logged, not fatal', async (t) => {
  let calls = 0;
  const env = setup(t, async () => {
    calls++;
    throw new Error('handler bug');
  });
  await env.server.start();
  await env.send(2);
  await until(() => calls === 2);
  await env.server.close();
  assert.equal(fakeQueueDepth(env.transport, `${env.topic}.info`), 0);
});

test('server - messages not yet handled at stop() are still handled by wait()', async (t) => {
  const seen: unknown[] = [];
  const env = setup(
    t,
    async (m) => {
      await sleep(5);
      seen.push(m.message['payload']);
    },
    'blocking',
  );
  await env.server.start();
  await env.send(5);
  await until(() => seen.length >= 1);
  await env.server.close();
  // Everything delivered before stop() was handled; the rest stayed in the queue.
  assert.equal(seen.length + fakeQueueDepth(env.transport, `${env.topic}.info`), 5);
});
