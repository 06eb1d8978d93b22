import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import {
  ConfigurationError,
  ExecutorLoadFailure,
  InvalidTarget,
  MessagingException,
} from '../../src/errors.js';
import type {
  BatchNotificationMessage,
  NotificationMetadata,
} from '../../src/notify/dispatcher.js';
import { NotificationFilter } from '../../src/notify/filter.js';
import {
  getBatchNotificationListener,
  getNotificationListener,
  NotificationServer,
  type BatchNotificationServer,
} from '../../src/notify/listener.js';
import { Notifier } from '../../src/notify/notifier.js';
import { NotificationResult } from '../../src/notify/result.js';
import { Target } from '../../src/target.js';
import { getNotificationTransport, getRpcTransport } from '../../src/transport.js';
import {
  fakeTransport,
  queueDepth,
  queueExists,
  RecordingLogger,
  waitFor,
} from '../fixtures/notify/helpers.js';

const UUID36 = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$/;

interface Received {
  ctxt: unknown;
  publisherId: string | null;
  eventType: string;
  payload: unknown;
  metadata: NotificationMetadata;
}

/** An endpoint that records its `info` calls and answers with `result(call number)`. */
class InfoRecorder {
  readonly calls: Received[] = [];
  constructor(private readonly result: (n: number) => unknown = () => undefined) {}
  info(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): unknown {
    this.calls.push({ ctxt, publisherId, eventType, payload, metadata });
    return this.result(this.calls.length);
  }
}

function setup(t: TestContext, conf = {}) {
  const s = fakeTransport(conf);
  t.after(() => s.transport.cleanup());
  const notifier = (topics = ['testtopic'], driver = 'messagingv2') =>
    new Notifier(s.transport, { topics, driver, publisherId: 'testpublisher' });
  return { ...s, notifier };
}

/** Start a listener and close it when the test ends. */
async function started<S extends NotificationServer | BatchNotificationServer>(
  t: TestContext,
  server: S,
): Promise<S> {
  t.after(() => server.close());
  await server.start();
  return server;
}

// --- construction -------------------------------------------------------------------------

test('notification listener - keeps its transport, targets, endpoints and options', (t) => {
  const { transport } = setup(t);
  const targets = [new Target({ topic: 'foo' })];
  const endpoints = [{}];
  const listener = getNotificationListener(transport, targets, endpoints, { executor: 'blocking' });
  assert.ok(listener instanceof NotificationServer);
  assert.equal(listener.transport, transport);
  assert.deepEqual(listener.targets, targets);
  assert.equal(listener.endpoints, endpoints);
  assert.equal(listener.executorName, 'blocking');
  assert.equal(listener.allowRequeue, false);
  assert.equal(listener.pool, undefined);
  assert.equal(listener.state, 'new');
});

test('notification listener - an unknown executor is refused with ExecutorLoadFailure', (t) => {
  const { transport } = setup(t);
  assert.throws(
    () => getNotificationListener(transport, [], [], { executor: 'foo' as never }),
    (err: unknown) => err instanceof ExecutorLoadFailure && err.executor === 'foo',
  );
});

test('notification listener - a target without a topic is refused with InvalidTarget', (t) => {
  const { transport } = setup(t);
  assert.throws(
    () => getNotificationListener(transport, [new Target()], [{ info() {} }]),
    InvalidTarget,
  );
});

test('notification listener - an empty pool name is refused', (t) => {
  const { transport } = setup(t);
  assert.throws(() => getNotificationListener(transport, [], [], { pool: '' }), ConfigurationError);
});

const badBatches: [string, { batchSize?: number; batchTimeout?: number }][] = [
  ['batchSize 0', { batchSize: 0 }],
  ['batchSize 1.5', { batchSize: 1.5 }],
  ['batchTimeout -1', { batchTimeout: -1 }],
  ['batchTimeout NaN', { batchTimeout: Number.NaN }],
];
for (const [what, options] of badBatches) {
  test(`batch notification listener - ${what} is refused with ConfigurationError`, (t) => {
    const { transport } = setup(t);
    assert.throws(
      () => getBatchNotificationListener(transport, [], [], options),
      ConfigurationError,
    );
  });
}

test('notification listener - warns when given an RPC transport', async () => {
  const logger = new RecordingLogger();
  const transport = getRpcTransport('fake:///listener-rpc-warning', { logger });
  getNotificationListener(transport, [new Target({ topic: 'foo' })], [{}]);
  assert.equal(logger.at('warn', 'Using RPC transport for notifications').length, 1);
  await transport.cleanup();
});

test('notification listener - allowRequeue is refused at construction when the transport says it cannot requeue', (t) => {
  const { transport } = setup(t);
  Object.defineProperty(transport, 'capabilities', {
    value: { ...transport.capabilities, requeue: false },
  });
  const targets = [new Target({ topic: 'foo' })];
  assert.throws(
    () => getNotificationListener(transport, targets, [{ info() {} }], { allowRequeue: true }),
    MessagingException,
  );
  // Without allowRequeue the listener is fine.
  getNotificationListener(transport, targets, [{ info() {} }]);
});

// --- dispatch over the fake transport -------------------------------------------------------

for (const driver of ['messagingv2', 'messaging']) {
  test(`notification listener - one topic: the endpoint gets what a ${driver} notifier sent`, async (t) => {
    const { transport, notifier } = setup(t);
    const endpoint = new InfoRecorder();
    await started(
      t,
      getNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint]),
    );
    await notifier(['testtopic'], driver).info(
      { user_id: 'u-1', auth_token: 'x' },
      'an_event.start',
      'test message',
    );
    await waitFor(() => endpoint.calls.length === 1, 'one notification');
    const [call] = endpoint.calls;
    assert.ok(call !== undefined);
    // The context as the receiver restores it: sanitised, plus oslo's client_timeout.
    assert.deepEqual(call.ctxt, { user_id: 'u-1', client_timeout: null });
    assert.equal(call.publisherId, 'testpublisher');
    assert.equal(call.eventType, 'an_event.start');
    assert.equal(call.payload, 'test message');
    assert.deepEqual(Object.keys(call.metadata), ['message_id', 'timestamp']);
    assert.match(call.metadata.message_id, UUID36);
    assert.match(call.metadata.timestamp, TIMESTAMP);
  });
}

test('notification listener - two topics', async (t) => {
  const { transport, notifier } = setup(t);
  const endpoint = new InfoRecorder();
  const targets = [new Target({ topic: 'topic1' }), new Target({ topic: 'topic2' })];
  await started(t, getNotificationListener(transport, targets, [endpoint]));
  await notifier(['topic1']).info({ user_name: 'bob' }, 'an_event.start1', 'test');
  await notifier(['topic2']).info({ user_name: 'bob2' }, 'an_event.start2', 'test');
  await waitFor(() => endpoint.calls.length === 2, 'two notifications');
  assert.deepEqual(endpoint.calls.map((c) => c.eventType).sort(), [
    'an_event.start1',
    'an_event.start2',
  ]);
});

test('notification listener - targets on two exchanges', async (t) => {
  const { transport, url } = setup(t);
  const endpoint = new InfoRecorder();
  const targets = [
    new Target({ topic: 'topic1', exchange: 'exchange1' }),
    new Target({ topic: 'topic2', exchange: 'exchange2' }),
  ];
  await started(t, getNotificationListener(transport, targets, [endpoint]));
  for (const [exchange, topic] of [
    ['exchange1', 'topic1'],
    ['exchange2', 'topic2'],
  ] as const) {
    // Notifier targets never name an exchange: the control exchange is used.
    const sender = getNotificationTransport({ DEFAULT: { control_exchange: exchange } }, { url });
    t.after(() => sender.cleanup());
    await new Notifier(sender, { driver: 'messagingv2', topics: [topic] }).info(
      {},
      `sent.on.${exchange}`,
      {},
    );
  }
  await waitFor(() => endpoint.calls.length === 2, 'two notifications');
  assert.deepEqual(endpoint.calls.map((c) => c.eventType).sort(), [
    'sent.on.exchange1',
    'sent.on.exchange2',
  ]);
});

test('notification listener - every endpoint with the method gets the notification', async (t) => {
  const { transport, notifier } = setup(t);
  const first = new InfoRecorder();
  const second = new InfoRecorder(() => NotificationResult.HANDLED);
  await started(
    t,
    getNotificationListener(transport, [new Target({ topic: 'testtopic' })], [first, second]),
  );
  await notifier().info({}, 'an_event.start', 'test');
  await waitFor(() => second.calls.length === 1, 'the second endpoint');
  assert.equal(first.calls.length, 1);
  assert.deepEqual(first.calls[0], second.calls[0]);
});

test('notification listener - endpoints get only their priorities; only those queues are consumed', async (t) => {
  const { transport, notifier, vhost } = setup(t);
  const infos = new InfoRecorder();
  const errors: string[] = [];
  await started(
    t,
    getNotificationListener(
      transport,
      [new Target({ topic: 'prio' })],
      [infos, { error: (_c: unknown, _p: unknown, e: string) => errors.push(e) }],
    ),
  );
  assert.equal(queueExists(vhost, 'prio.info'), true);
  assert.equal(queueExists(vhost, 'prio.error'), true);
  assert.equal(queueExists(vhost, 'prio.warn'), false);
  const n = notifier(['prio']);
  await n.error({}, 'went.wrong', {});
  await n.info({}, 'went.right', {});
  await waitFor(() => errors.length === 1 && infos.calls.length === 1, 'both notifications');
  assert.deepEqual(errors, ['went.wrong']);
  assert.equal(infos.calls[0]?.eventType, 'went.right');
});

test('notification listener - a filterRule keeps other notifications from its endpoint', async (t) => {
  const { transport } = setup(t);
  const filtered = new InfoRecorder();
  Object.assign(filtered, {
    filterRule: new NotificationFilter({
      publisherId: '^owire\\.',
      eventType: '^owire\\.filtered\\.',
      context: { project_id: '^p-' },
      payload: { state: '^active$' },
    }),
  });
  const all = new InfoRecorder();
  await started(
    t,
    getNotificationListener(transport, [new Target({ topic: 'filtered' })], [filtered, all]),
  );
  const n = new Notifier(transport, {
    driver: 'messagingv2',
    topics: ['filtered'],
    publisherId: 'owire.h1',
  });
  await n.info({ project_id: 'p-1' }, 'owire.filtered.hit', { state: 'active' });
  await n.info({ project_id: 'p-1' }, 'owire.filtered.miss', { state: 'deleted' });
  await waitFor(() => all.calls.length === 2, 'both notifications');
  assert.deepEqual(
    filtered.calls.map((c) => c.eventType),
    ['owire.filtered.hit'],
  );
});

// --- acknowledge and requeue -----------------------------------------------------------------

for (const [what, firstCall] of [
  ['returns REQUEUE', () => NotificationResult.REQUEUE],
  [
    'throws',
    () => {
      throw new Error('boom');
    },
  ],
] as const) {
  test(`notification listener - with allowRequeue, an endpoint that ${what} gets the message again`, async (t) => {
    const { transport, notifier, vhost } = setup(t);
    const endpoint = new InfoRecorder((n) => (n === 1 ? firstCall() : NotificationResult.HANDLED));
    const listener = await started(
      t,
      getNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
        allowRequeue: true,
      }),
    );
    await notifier().info({}, 'an_event.start', 'test');
    await waitFor(() => endpoint.calls.length === 2, 'the redelivery');
    assert.deepEqual(endpoint.calls[1], endpoint.calls[0]);
    await listener.close();
    assert.equal(queueDepth(vhost, 'testtopic.info'), 0);
    assert.equal(endpoint.calls.length, 2);
  });

  test(`notification listener - without allowRequeue, an endpoint that ${what} has the message acknowledged`, async (t) => {
    const { transport, notifier, vhost } = setup(t);
    const endpoint = new InfoRecorder(firstCall);
    const listener = await started(
      t,
      getNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint]),
    );
    await notifier().info({}, 'an_event.start', 'test');
    await waitFor(() => endpoint.calls.length === 1, 'the notification');
    await listener.close();
    // Acknowledged: not redelivered and not left in the queue.
    assert.equal(endpoint.calls.length, 1);
    assert.equal(queueDepth(vhost, 'testtopic.info'), 0);
  });
}

test('notification listener - REQUEUE from one endpoint stops the ones after it', async (t) => {
  const { transport, notifier } = setup(t);
  const first = new InfoRecorder((n) => (n === 1 ? NotificationResult.REQUEUE : undefined));
  const second = new InfoRecorder();
  await started(
    t,
    getNotificationListener(transport, [new Target({ topic: 'testtopic' })], [first, second], {
      allowRequeue: true,
    }),
  );
  await notifier().info({}, 'an_event.start', 'test');
  await waitFor(() => second.calls.length === 1, 'the redelivery to reach the second endpoint');
  assert.equal(first.calls.length, 2);
});

test('notification listener - a notification stays queued for a listener started later', async (t) => {
  const { transport, notifier, vhost } = setup(t);
  // The notifier declares <topic>.<priority> itself, so nothing is lost before a listener exists.
  await notifier(['late']).info({}, 'early.bird', {});
  assert.equal(queueDepth(vhost, 'late.info'), 1);
  const endpoint = new InfoRecorder();
  await started(t, getNotificationListener(transport, [new Target({ topic: 'late' })], [endpoint]));
  await waitFor(() => endpoint.calls.length === 1, 'the queued notification');
});

// --- pools ----------------------------------------------------------------------------------

test('notification listener - each pool gets every notification, as does the unpooled listener', async (t) => {
  const { transport, notifier, vhost } = setup(t);
  const targets = [new Target({ topic: 'topic' })];
  const pool1 = new InfoRecorder();
  const pool2 = new InfoRecorder();
  const unpooled = new InfoRecorder();
  await started(t, getNotificationListener(transport, targets, [pool1], { pool: 'pool1' }));
  await started(t, getNotificationListener(transport, targets, [pool2], { pool: 'pool2' }));
  await started(t, getNotificationListener(transport, targets, [unpooled]));
  const n = notifier(['topic']);
  await n.info({ user_name: 'bob0' }, 'an_event.start', 'test message0');
  await n.info({ user_name: 'bob1' }, 'an_event.start', 'test message1');
  await waitFor(
    () => pool1.calls.length === 2 && pool2.calls.length === 2 && unpooled.calls.length === 2,
    'two notifications in each pool',
  );
  for (const r of [pool1, pool2, unpooled]) {
    assert.deepEqual(
      r.calls.map((c) => c.payload),
      ['test message0', 'test message1'],
    );
  }
  // A pool's queue is named exactly after the pool.
  assert.equal(queueExists(vhost, 'pool1'), true);
  assert.equal(queueExists(vhost, 'pool2'), true);
});

test('notification listener - listeners in the same pool share its notifications', async (t) => {
  const { transport, notifier } = setup(t);
  const targets = [new Target({ topic: 'topic' })];
  const pool1 = new InfoRecorder();
  const a = new InfoRecorder();
  const b = new InfoRecorder();
  await started(t, getNotificationListener(transport, targets, [pool1], { pool: 'pool1' }));
  await started(t, getNotificationListener(transport, targets, [a], { pool: 'pool2' }));
  await started(t, getNotificationListener(transport, targets, [b], { pool: 'pool2' }));
  const n = notifier(['topic']);
  const count = 25;
  for (let i = 0; i < count; i++)
    await n.info({ user_name: `bob${i}` }, 'an_event.start', `test message${i}`);
  await waitFor(
    () => pool1.calls.length === count && a.calls.length + b.calls.length === count,
    'all notifications',
  );
  const shared = [...a.calls, ...b.calls].map((c) => c.payload as string);
  // Each message exactly once across the pool's listeners.
  assert.equal(new Set(shared).size, count);
  assert.deepEqual(
    pool1.calls.map((c) => c.payload),
    Array.from({ length: count }, (_, i) => `test message${i}`),
  );
});

// --- batches ---------------------------------------------------------------------------------

/** A batch endpoint recording the lists its `info` gets. */
class BatchRecorder {
  readonly batches: BatchNotificationMessage[][] = [];
  constructor(private readonly result: (n: number) => unknown = () => undefined) {}
  info(messages: BatchNotificationMessage[]): unknown {
    this.batches.push(messages);
    return this.result(this.batches.length);
  }
  get sizes(): number[] {
    return this.batches.map((b) => b.length);
  }
  get total(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }
}

test('batch notification listener - delivers batches of batchSize', async (t) => {
  const { transport, notifier } = setup(t);
  const endpoint = new BatchRecorder();
  await started(
    t,
    getBatchNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
      batchSize: 5,
    }),
  );
  const n = notifier();
  for (let i = 0; i < 10; i++) await n.info({ user_name: 'bob' }, 'an_event.start', 'test message');
  await waitFor(() => endpoint.total === 10, 'ten notifications');
  assert.deepEqual(endpoint.sizes, [5, 5]);
  const [first] = endpoint.batches[0] ?? [];
  assert.deepEqual(
    { ...first, metadata: undefined },
    {
      ctxt: { user_name: 'bob', client_timeout: null },
      publisher_id: 'testpublisher',
      event_type: 'an_event.start',
      payload: 'test message',
      metadata: undefined,
    },
  );
});

test('batch notification listener - batchTimeout delivers a partial batch', async (t) => {
  const { transport, notifier } = setup(t);
  // Published before the listener starts, so the full batches are all there at once.
  const n = notifier();
  for (let i = 0; i < 12; i++) await n.info({}, 'an_event.start', `m${i}`);
  const endpoint = new BatchRecorder();
  await started(
    t,
    getBatchNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
      batchSize: 5,
      batchTimeout: 50,
    }),
  );
  await waitFor(() => endpoint.total === 12, 'twelve notifications');
  assert.deepEqual(endpoint.sizes, [5, 5, 2]);
  assert.deepEqual(
    endpoint.batches.flat().map((m) => m.payload),
    Array.from({ length: 12 }, (_, i) => `m${i}`),
  );
});

test('batch notification listener - a batch that throws is requeued whole and delivered again', async (t) => {
  const { transport, notifier, vhost } = setup(t);
  const n = notifier();
  for (let i = 0; i < 10; i++) await n.info({}, 'an_event.start', `m${i}`);
  const endpoint = new BatchRecorder((call) => {
    if (call === 2) throw new Error('boom!');
  });
  const listener = await started(
    t,
    getBatchNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
      batchSize: 5,
      allowRequeue: true,
      executor: 'blocking',
    }),
  );
  await waitFor(() => endpoint.batches.length === 3, 'the requeued batch');
  const ids = endpoint.batches.map((b) => b.map((m) => m.metadata.message_id).sort());
  assert.deepEqual(ids[2], ids[1]);
  await listener.close();
  assert.equal(queueDepth(vhost, 'testtopic.info'), 0);
});

test('batch notification listener - without allowRequeue a failed batch is acknowledged', async (t) => {
  const { transport, notifier, vhost } = setup(t);
  const n = notifier();
  for (let i = 0; i < 5; i++) await n.info({}, 'an_event.start', `m${i}`);
  const endpoint = new BatchRecorder(() => NotificationResult.REQUEUE);
  const listener = await started(
    t,
    getBatchNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
      batchSize: 5,
    }),
  );
  await waitFor(() => endpoint.batches.length === 1, 'the batch');
  await listener.close();
  assert.deepEqual(endpoint.sizes, [5]);
  assert.equal(queueDepth(vhost, 'testtopic.info'), 0);
});

test('batch notification listener - stopping hands over the partial batch; nothing is lost', async (t) => {
  const { transport, notifier, vhost } = setup(t);
  const n = notifier();
  for (let i = 0; i < 3; i++) await n.info({}, 'an_event.start', `m${i}`);
  const endpoint = new BatchRecorder();
  const listener = await started(
    t,
    getBatchNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
      batchSize: 10,
    }),
  );
  await waitFor(
    () => queueDepth(vhost, 'testtopic.info') === 0,
    'the listener to take every message',
  );
  assert.equal(endpoint.batches.length, 0);
  await listener.close();
  assert.deepEqual(endpoint.sizes, [3]);
  assert.equal(queueDepth(vhost, 'testtopic.info'), 0);
});

test('batch notification listener - priorities are batched separately', async (t) => {
  const { transport, notifier } = setup(t);
  const n = notifier();
  await n.info({}, 'i.1', {});
  await n.error({}, 'e.1', {});
  await n.info({}, 'i.2', {});
  const seen: Record<string, string[][]> = { info: [], error: [] };
  const endpoint = {
    info: (ms: BatchNotificationMessage[]) => void seen['info']?.push(ms.map((m) => m.event_type)),
    error: (ms: BatchNotificationMessage[]) =>
      void seen['error']?.push(ms.map((m) => m.event_type)),
  };
  const listener = await started(
    t,
    getBatchNotificationListener(transport, [new Target({ topic: 'testtopic' })], [endpoint], {
      batchSize: 3,
    }),
  );
  await waitFor(
    () => (seen['info']?.flat().length ?? 0) + (seen['error']?.flat().length ?? 0) === 3,
    'three',
  );
  await listener.close();
  assert.deepEqual(seen['info']?.flat().sort(), ['i.1', 'i.2']);
  assert.deepEqual(seen['error']?.flat(), ['e.1']);
});
