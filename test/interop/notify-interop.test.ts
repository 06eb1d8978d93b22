/**
 * Notification interop: this library and Python oslo.messaging 14.0.3 on the same
 * RabbitMQ. Python Notifier -> TS listeners and TS Notifier -> Python listeners, with
 * the `messagingv2` and `messaging` (v1) drivers, every priority, pools, requeue, batch
 * listeners and filters; payloads with unicode and nesting compared exactly.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  getBatchNotificationListener,
  getNotificationListener,
  getNotificationTransport,
  NotificationFilter,
  NotificationResult,
  Notifier,
  Target,
  type BatchNotificationMessage,
  type NotificationEndpoint,
  type NotificationMetadata,
  type NotificationTransport,
} from '../../src/index.js';
import {
  Inbox,
  InteropScope,
  PRIORITIES,
  quietLogger,
  SUITE_PEER,
  type Peer,
  type PeerEvent,
} from './helpers.js';

type Dict = Record<string, unknown>;

const T = { timeout: 60_000 };

/** A context as services send it; a 14.0.3 notifier keeps only allow-listed keys. */
const CTXT: Dict = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-omti-n',
  roles: ['admin', 'reader'],
  is_admin: false,
  global_request_id: 'req-global',
  auth_token: 'SECRET-TOKEN',
  custom_key: 'not on the allow-list',
};
/**
 * What a listener gets from a TS notifier (which filters as 14.0.3 does): the allow-listed
 * keys, and oslo's `client_timeout: null`.
 */
const FROM_TS_CTXT: Dict = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-omti-n',
  roles: ['admin', 'reader'],
  is_admin: false,
  global_request_id: 'req-global',
  client_timeout: null,
};
/** What a listener gets from a Python notifier: upstream HEAD sends no context (spec §8). */
const RECEIVED_CTXT: Dict = SUITE_PEER === 'head' ? { client_timeout: null } : FROM_TS_CTXT;
/** Why a test of what a Python notifier sends as context cannot run against HEAD. */
const HEAD_SENDS_NO_CONTEXT =
  SUITE_PEER === 'head'
    ? 'upstream HEAD sends notifications without their context (spec §8)'
    : false;

const PAYLOAD: Dict = {
  name: 'café ☃ 😀',
  id: 7,
  ratio: 0.25,
  ok: true,
  missing: null,
  tags: ['a', 'ü', ['nested', { deep: [1, 2, { deeper: 'ß' }] }]],
  nested: { level1: { level2: { level3: ['x', 'y'] } } },
  empty: {},
};

/** The 8 Notifier methods and the priority each sends (`warning` is an alias of `warn`). */
const METHODS = [...PRIORITIES, 'warning'] as const;
const priorityOf = (method: string): string => (method === 'warning' ? 'warn' : method);

const UUID36 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/;

interface Received {
  endpoint: string;
  priority: string;
  ctxt: unknown;
  publisherId: string | null;
  eventType: string;
  payload: unknown;
  metadata: NotificationMetadata;
}

type Decide = (received: Received) => unknown;

/** An endpoint implementing every priority that records what it gets into `inbox`. */
function recordingEndpoint(
  inbox: Inbox<Received>,
  name: string,
  options: { decide?: Decide; filterRule?: NotificationFilter } = {},
): NotificationEndpoint {
  const endpoint: Record<string, unknown> = {};
  for (const priority of PRIORITIES) {
    endpoint[priority] = (
      ctxt: unknown,
      publisherId: string | null,
      eventType: string,
      payload: unknown,
      metadata: NotificationMetadata,
    ): unknown => {
      const received = {
        endpoint: name,
        priority,
        ctxt,
        publisherId,
        eventType,
        payload,
        metadata,
      };
      inbox.push(received);
      return options.decide?.(received);
    };
  }
  if (options.filterRule !== undefined) endpoint['filterRule'] = options.filterRule;
  return endpoint;
}

interface Setup {
  scope: InteropScope;
  topic: string;
  transport: NotificationTransport;
}

function setup(t: TestContext): Setup {
  const scope = new InteropScope(t);
  const topic = scope.name('notif');
  scope.trackNotificationTopic(topic);
  const transport = getNotificationTransport(scope.conf(), { logger: quietLogger() });
  scope.defer(() => transport.cleanup());
  return { scope, topic, transport };
}

async function tsListener(
  { scope, topic, transport }: Setup,
  endpoints: NotificationEndpoint[],
  options: { pool?: string; allowRequeue?: boolean } = {},
): Promise<void> {
  const listener = getNotificationListener(transport, [new Target({ topic })], endpoints, {
    executor: 'threading',
    ...options,
  });
  scope.defer(() => listener.close());
  await listener.start();
}

async function pyNotify(notifier: Peer, command: Dict): Promise<void> {
  const sent = await notifier.request({
    op: 'notify',
    publisher_id: 'interop.py',
    ctxt: CTXT,
    payload: PAYLOAD,
    ...command,
  });
  assert.equal(sent.ok, true, JSON.stringify(sent));
}

function pyNotifications(
  listener: Peer,
  matches: (e: PeerEvent) => boolean = () => true,
): PeerEvent[] {
  return listener.all('notification').filter(matches);
}

// ---------------------------------------------------------------------------------------
// Python Notifier -> TS listener

test(
  'Python messagingv2 and messaging notifications of every priority reach a TS listener intact',
  T,
  async (t) => {
    const s = setup(t);
    const inbox = new Inbox<Received>('TS listener');
    await tsListener(s, [recordingEndpoint(inbox, 'all')]);
    const notifier = await s.scope.peer('notifier');
    for (const driver of ['messagingv2', 'messaging']) {
      for (const method of METHODS) {
        await pyNotify(notifier, {
          driver,
          topics: [s.topic],
          priority: method,
          event_type: `interop.${driver}.${method}`,
        });
      }
    }
    const all = await inbox.waitForCount(() => true, 2 * METHODS.length);
    for (const driver of ['messagingv2', 'messaging']) {
      for (const method of METHODS) {
        const eventType = `interop.${driver}.${method}`;
        const got = all.filter((r) => r.eventType === eventType);
        assert.equal(got.length, 1, eventType);
        const r = got[0]!;
        assert.equal(r.priority, priorityOf(method), eventType);
        assert.equal(r.publisherId, 'interop.py');
        assert.deepEqual(r.payload, PAYLOAD);
        assert.deepEqual(r.ctxt, RECEIVED_CTXT);
        assert.match(r.metadata.message_id, UUID36);
        assert.match(r.metadata.timestamp, TIMESTAMP);
      }
    }
  },
);

test(
  'Python notifications reach a TS pool, a Python pool and a TS plain listener, one copy each, all equal',
  T,
  async (t) => {
    const s = setup(t);
    const tsPool = s.scope.pool('pool_ts');
    const pyPool = s.scope.pool('pool_py');
    const plain = new Inbox<Received>('TS plain listener');
    const pooled = new Inbox<Received>('TS pool listener');
    await tsListener(s, [recordingEndpoint(plain, 'plain')]);
    await tsListener(s, [recordingEndpoint(pooled, 'pool')], { pool: tsPool });
    const pyListener = await s.scope.peer('listener', ['--topics', s.topic, '--pool', pyPool]);
    const notifier = await s.scope.peer('notifier');

    const eventTypes = ['interop.pool.one', 'interop.pool.two', 'interop.pool.request_context'];
    await pyNotify(notifier, { topics: [s.topic], priority: 'info', event_type: eventTypes[0] });
    await pyNotify(notifier, { topics: [s.topic], priority: 'error', event_type: eventTypes[1] });
    // An oslo.context RequestContext: flattened with its full to_dict() keys.
    const { custom_key: _dropped, ...requestContext } = CTXT;
    await pyNotify(notifier, {
      topics: [s.topic],
      priority: 'info',
      event_type: eventTypes[2],
      ctxt: requestContext,
      request_context: true,
    });
    await Promise.all([
      plain.waitForCount(() => true, 3),
      pooled.waitForCount(() => true, 3),
      pyListener.events.waitForCount((e) => e.event === 'notification', 3),
    ]);
    for (const eventType of eventTypes) {
      const py = pyNotifications(pyListener, (e) => e['event_type'] === eventType);
      assert.equal(py.length, 1, eventType);
      const expected = {
        priority: py[0]!['priority'],
        ctxt: py[0]!['ctxt'],
        publisherId: py[0]!['publisher_id'],
        eventType,
        payload: py[0]!['payload'],
        metadata: py[0]!['metadata'],
      };
      for (const inbox of [plain, pooled]) {
        const got = inbox.filter((r) => r.eventType === eventType);
        assert.equal(got.length, 1, eventType);
        const { endpoint: _endpoint, ...received } = got[0]!;
        assert.deepEqual(received, expected, eventType);
      }
    }
    const rc = pooled.filter((r) => r.eventType === eventTypes[2])[0]!.ctxt as Dict;
    if (SUITE_PEER !== 'head') {
      // HEAD sends an object context only with a newer oslo.context (redacted_copy).
      assert.equal(rc['user'], 'u-1');
      assert.equal(rc['auth_token'], null); // sanitised, then rebuilt with its default
    }
  },
);

test(
  'a TS listener that returns REQUEUE (or throws) gets the Python notification again',
  T,
  async (t) => {
    const s = setup(t);
    const inbox = new Inbox<Received>('TS requeue listener');
    const seen = new Set<string>();
    const decide: Decide = (r) => {
      const first = !seen.has(r.metadata.message_id);
      seen.add(r.metadata.message_id);
      if (!first) return NotificationResult.HANDLED;
      if (r.eventType === 'interop.requeue.me') return NotificationResult.REQUEUE;
      if (r.eventType === 'interop.raise.me') throw new Error('endpoint failure, requeue me');
      return NotificationResult.HANDLED;
    };
    await tsListener(s, [recordingEndpoint(inbox, 'all', { decide })], { allowRequeue: true });
    const notifier = await s.scope.peer('notifier');
    for (const eventType of ['interop.requeue.me', 'interop.raise.me', 'interop.handled']) {
      await pyNotify(notifier, { topics: [s.topic], priority: 'info', event_type: eventType });
    }
    const requeued = await inbox.waitForCount((r) => r.eventType === 'interop.requeue.me', 2);
    const raised = await inbox.waitForCount((r) => r.eventType === 'interop.raise.me', 2);
    // Handled concurrently with the redeliveries: wait for it rather than race it.
    await inbox.waitForCount((r) => r.eventType === 'interop.handled', 1);
    for (const [a, b] of [requeued, raised]) {
      assert.equal(a!.metadata.message_id, b!.metadata.message_id);
      assert.deepEqual(b!.payload, PAYLOAD);
      assert.deepEqual(b!.ctxt, RECEIVED_CTXT);
    }
    assert.equal(inbox.filter((r) => r.eventType === 'interop.handled').length, 1);
  },
);

test('a TS batch listener gets Python notifications in batches of batchSize', T, async (t) => {
  const s = setup(t);
  const notifier = await s.scope.peer('notifier');
  // The notifier declares <topic>.info itself, so these wait in the queue.
  for (let i = 0; i < 5; i++) {
    await pyNotify(notifier, {
      topics: [s.topic],
      priority: 'info',
      event_type: `interop.batch.${i}`,
      payload: { i, text: 'café ☃ 😀' },
    });
  }
  const batches = new Inbox<BatchNotificationMessage[]>('TS batch listener');
  const listener = getBatchNotificationListener(
    s.transport,
    [new Target({ topic: s.topic })],
    [{ info: (messages: BatchNotificationMessage[]) => batches.push(messages) }],
    { executor: 'threading', batchSize: 3, batchTimeout: 1000 },
  );
  s.scope.defer(() => listener.close());
  await listener.start();
  await batches.waitForCount((b) => b.length > 0, 1);
  const all = (): BatchNotificationMessage[] => batches.items.flat();
  await batches.waitForCount(() => all().length >= 5, 1);
  assert.deepEqual(
    batches.items.map((b) => b.length),
    [3, 2],
  );
  assert.deepEqual(
    all().map((m) => m.event_type),
    [0, 1, 2, 3, 4].map((i) => `interop.batch.${i}`),
  );
  const first = all()[0]!;
  assert.equal(first.publisher_id, 'interop.py');
  assert.deepEqual(first.payload, { i: 0, text: 'café ☃ 😀' });
  assert.deepEqual(first.ctxt, RECEIVED_CTXT);
  assert.match(first.metadata.message_id, UUID36);
});

test(
  'a TS NotificationFilter written as for Python selects the same Python notifications',
  { ...T, skip: HEAD_SENDS_NO_CONTEXT },
  async (t) => {
    const s = setup(t);
    const inbox = new Inbox<Received>('TS filter listener');
    const filterRule = new NotificationFilter({
      publisherId: '^interop\\.',
      eventType: '^interop\\.filtered\\.',
      context: { project_id: '^p-' },
      payload: { state: '^active$' },
    });
    // The filtered endpoint comes first: once `all` has seen a message, `filtered` has
    // already decided about it.
    await tsListener(s, [
      recordingEndpoint(inbox, 'filtered', { filterRule }),
      recordingEndpoint(inbox, 'all'),
    ]);
    const notifier = await s.scope.peer('notifier');
    const sends: Dict[] = [
      { event_type: 'interop.filtered.hit', payload: { state: 'active' } },
      { event_type: 'interop.filtered.miss', payload: { state: 'deleted' } },
      { event_type: 'interop.filtered.state-suffix', payload: { state: 'active-ish' } },
      { event_type: 'interop.filtered.nonstring', payload: { state: 1 } },
      {
        event_type: 'interop.filtered.other-publisher',
        payload: { state: 'active' },
        publisher_id: 'other.py',
      },
      {
        event_type: 'interop.filtered.other-project',
        payload: { state: 'active' },
        ctxt: { ...CTXT, project_id: 'x-1' },
      },
      { event_type: 'interop.other.event', payload: { state: 'active' } },
      { event_type: 'interop.filtered.hit2', payload: { state: 'active', extra: 'ü' } },
    ];
    for (const send of sends)
      await pyNotify(notifier, { topics: [s.topic], priority: 'info', ...send });
    await inbox.waitForCount((r) => r.endpoint === 'all', sends.length);
    assert.deepEqual(
      inbox
        .filter((r) => r.endpoint === 'filtered')
        .map((r) => r.eventType)
        .sort(),
      ['interop.filtered.hit', 'interop.filtered.hit2'],
    );
  },
);

// ---------------------------------------------------------------------------------------
// TS Notifier -> Python listener

test(
  'TS messagingv2 and messaging notifications of every priority reach a Python listener intact',
  T,
  async (t) => {
    const s = setup(t);
    const listener = await s.scope.peer('listener', ['--topics', s.topic]);
    for (const driver of ['messagingv2', 'messaging']) {
      const notifier = new Notifier(s.transport, {
        publisherId: 'interop.ts',
        driver,
        topics: [s.topic],
      });
      for (const method of METHODS) {
        await notifier[method](CTXT, `interop.${driver}.${method}`, PAYLOAD);
      }
    }
    await listener.events.waitForCount((e) => e.event === 'notification', 2 * METHODS.length);
    for (const driver of ['messagingv2', 'messaging']) {
      for (const method of METHODS) {
        const eventType = `interop.${driver}.${method}`;
        const got = pyNotifications(listener, (e) => e['event_type'] === eventType);
        assert.equal(got.length, 1, eventType);
        const e = got[0]!;
        assert.equal(e['priority'], priorityOf(method), eventType);
        assert.equal(e['publisher_id'], 'interop.ts');
        assert.deepEqual(e['payload'], PAYLOAD);
        assert.deepEqual(e['ctxt'], FROM_TS_CTXT);
        const metadata = e['metadata'] as NotificationMetadata;
        assert.match(metadata.message_id, UUID36);
        assert.match(metadata.timestamp, TIMESTAMP);
      }
    }
  },
);

test(
  'TS notifications reach a Python pool, a TS pool and a Python plain listener, one copy each',
  T,
  async (t) => {
    const s = setup(t);
    const pyPool = s.scope.pool('pool_py');
    const tsPool = s.scope.pool('pool_ts');
    const pooled = new Inbox<Received>('TS pool listener');
    await tsListener(s, [recordingEndpoint(pooled, 'pool')], { pool: tsPool });
    const [pyPlain, pyPooled] = await Promise.all([
      s.scope.peer('listener', ['--topics', s.topic]),
      s.scope.peer('listener', ['--topics', s.topic, '--pool', pyPool]),
    ]);
    const notifier = new Notifier(s.transport, {
      publisherId: 'interop.ts',
      driver: 'messagingv2',
      topics: [s.topic],
    });
    await notifier.info(CTXT, 'interop.pool.one', PAYLOAD);
    await notifier.critical(CTXT, 'interop.pool.two', PAYLOAD);
    const [ts] = await Promise.all([
      pooled.waitForCount(() => true, 2),
      pyPlain.events.waitForCount((e) => e.event === 'notification', 2),
      pyPooled.events.waitForCount((e) => e.event === 'notification', 2),
    ]);
    const expected = ['interop.pool.one', 'interop.pool.two'];
    assert.deepEqual(ts.map((r) => r.eventType).sort(), expected);
    for (const peer of [pyPlain, pyPooled]) {
      const got = pyNotifications(peer);
      assert.deepEqual(got.map((e) => e['event_type']).sort(), expected);
      assert.deepEqual(got[0]!['payload'], PAYLOAD);
    }
  },
);

test('a Python listener requeues a TS notification and gets it again', T, async (t) => {
  const s = setup(t);
  const listener = await s.scope.peer('listener', [
    '--topics',
    s.topic,
    '--allow-requeue',
    '--requeue-once-event',
    'interop.requeue.me',
    '--raise-once-event',
    'interop.raise.me',
  ]);
  const notifier = new Notifier(s.transport, {
    publisherId: 'interop.ts',
    driver: 'messagingv2',
    topics: [s.topic],
  });
  await notifier.info(CTXT, 'interop.requeue.me', PAYLOAD);
  await notifier.info(CTXT, 'interop.raise.me', PAYLOAD);
  for (const [eventType, firstOutcome] of [
    ['interop.requeue.me', 'requeue'],
    ['interop.raise.me', 'raise'],
  ] as const) {
    const [a, b] = await listener.events.waitForCount(
      (e) => e.event === 'notification' && e['event_type'] === eventType,
      2,
    );
    assert.deepEqual([a!['outcome'], b!['outcome']], [firstOutcome, 'handled']);
    assert.equal(
      (a!['metadata'] as NotificationMetadata).message_id,
      (b!['metadata'] as NotificationMetadata).message_id,
    );
    assert.deepEqual(b!['payload'], PAYLOAD);
  }
});

test('a Python NotificationFilter selects the same TS notifications', T, async (t) => {
  const s = setup(t);
  const filter = {
    publisher_id: '^interop\\.',
    event_type: '^interop\\.filtered\\.',
    context: { project_id: '^p-' },
    payload: { state: '^active$' },
  };
  const listener = await s.scope.peer('listener', [
    '--topics',
    s.topic,
    '--filter',
    JSON.stringify(filter),
  ]);
  const notifier = new Notifier(s.transport, {
    publisherId: 'interop.ts',
    driver: 'messagingv2',
    topics: [s.topic],
  });
  const other = new Notifier(s.transport, {
    publisherId: 'other.ts',
    driver: 'messagingv2',
    topics: [s.topic],
  });
  await notifier.info(CTXT, 'interop.filtered.hit', { state: 'active' });
  await notifier.info(CTXT, 'interop.filtered.miss', { state: 'deleted' });
  await notifier.info(CTXT, 'interop.filtered.nonstring', { state: 1 });
  await other.info(CTXT, 'interop.filtered.other-publisher', { state: 'active' });
  await notifier.info({ ...CTXT, project_id: 'x-1' }, 'interop.filtered.other-project', {
    state: 'active',
  });
  await notifier.info(CTXT, 'interop.other.event', { state: 'active' });
  await listener.events.waitForCount(
    (e) => e.event === 'notification' && e['endpoint'] === 'all',
    6,
  );
  assert.deepEqual(
    pyNotifications(listener, (e) => e['endpoint'] === 'filtered').map((e) => e['event_type']),
    ['interop.filtered.hit'],
  );
});

test('a TS batch listener returning REQUEUE gets the whole Python batch again', T, async (t) => {
  const s = setup(t);
  const notifier = await s.scope.peer('notifier');
  for (let i = 0; i < 3; i++) {
    await pyNotify(notifier, {
      topics: [s.topic],
      priority: 'warn',
      event_type: `interop.rebatch.${i}`,
    });
  }
  const batches = new Inbox<BatchNotificationMessage[]>('TS batch listener');
  const listener = getBatchNotificationListener(
    s.transport,
    [new Target({ topic: s.topic })],
    [
      {
        warn: (messages: BatchNotificationMessage[]) => {
          batches.push(messages);
          return batches.items.length === 1
            ? NotificationResult.REQUEUE
            : NotificationResult.HANDLED;
        },
      },
    ],
    { executor: 'threading', batchSize: 3, batchTimeout: 1000, allowRequeue: true },
  );
  s.scope.defer(() => listener.close());
  await listener.start();
  const ids = (b: BatchNotificationMessage[]): string[] =>
    b.map((m) => m.metadata.message_id).sort();
  const [first] = await batches.waitForCount(() => true, 1);
  assert.equal(first!.length, 3);
  // Every message of the requeued batch comes back (in one batch or more).
  await batches.waitForCount(() => batches.items.slice(1).flat().length >= 3, 1);
  assert.deepEqual(ids(batches.items.slice(1).flat()), ids(first!));
});

test(
  'notifications to several topics reach listeners on several targets, both ways',
  T,
  async (t) => {
    const s = setup(t);
    const second = s.scope.name('notif2');
    s.scope.trackNotificationTopic(second);
    const topics = [s.topic, second];
    const inbox = new Inbox<Received>('TS listener');
    const listener = getNotificationListener(
      s.transport,
      topics.map((topic) => new Target({ topic })),
      [recordingEndpoint(inbox, 'all')],
      { executor: 'threading' },
    );
    s.scope.defer(() => listener.close());
    await listener.start();
    const pyListener = await s.scope.peer('listener', [
      '--topics',
      topics.join(','),
      '--pool',
      s.scope.pool('pool_py'),
    ]);
    const pyNotifier = await s.scope.peer('notifier');

    await pyNotify(pyNotifier, { topics, priority: 'audit', event_type: 'interop.topics.py' });
    const notifier = new Notifier(s.transport, {
      publisherId: 'interop.ts',
      driver: 'messagingv2',
      topics,
    });
    await notifier.audit(CTXT, 'interop.topics.ts', PAYLOAD);
    // One publish per topic: each listener gets two copies of each notification.
    const ts = await inbox.waitForCount(() => true, 4);
    const py = await pyListener.events.waitForCount((e) => e.event === 'notification', 4);
    const count = (types: unknown[]): Record<string, number> =>
      types.reduce<Record<string, number>>((acc, type) => {
        acc[String(type)] = (acc[String(type)] ?? 0) + 1;
        return acc;
      }, {});
    const expected = { 'interop.topics.py': 2, 'interop.topics.ts': 2 };
    assert.deepEqual(count(ts.map((r) => r.eventType)), expected);
    assert.deepEqual(count(py.map((e) => e['event_type'])), expected);
  },
);

test('notification payloads larger than an AMQP frame arrive intact, both ways', T, async (t) => {
  const s = setup(t);
  const big = {
    text: 'é☃😀-'.repeat(60_000),
    list: Array.from({ length: 20_000 }, (_, i) => ({ i })),
  };
  const inbox = new Inbox<Received>('TS listener');
  await tsListener(s, [recordingEndpoint(inbox, 'all')], { pool: s.scope.pool('pool_ts') });
  const pyListener = await s.scope.peer('listener', [
    '--topics',
    s.topic,
    '--pool',
    s.scope.pool('pool_py'),
  ]);
  const pyNotifier = await s.scope.peer('notifier');
  await pyNotify(pyNotifier, {
    topics: [s.topic],
    priority: 'info',
    event_type: 'big.py',
    payload: big,
  });
  const notifier = new Notifier(s.transport, {
    publisherId: 'interop.ts',
    driver: 'messagingv2',
    topics: [s.topic],
  });
  await notifier.info(CTXT, 'big.ts', big);
  const ts = await inbox.waitForCount(() => true, 2);
  const py = await pyListener.events.waitForCount((e) => e.event === 'notification', 2);
  for (const r of ts) assert.deepEqual(r.payload, big, r.eventType);
  for (const e of py) assert.deepEqual(e['payload'], big, String(e['event_type']));
});

test('a notification without a publisher id arrives with a null one, both ways', T, async (t) => {
  const s = setup(t);
  const inbox = new Inbox<Received>('TS listener');
  await tsListener(s, [recordingEndpoint(inbox, 'all')], { pool: s.scope.pool('pool_ts') });
  const pyListener = await s.scope.peer('listener', [
    '--topics',
    s.topic,
    '--pool',
    s.scope.pool('pool_py'),
  ]);
  const pyNotifier = await s.scope.peer('notifier');
  await pyNotify(pyNotifier, {
    topics: [s.topic],
    priority: 'info',
    event_type: 'anon.py',
    publisher_id: null,
  });
  await new Notifier(s.transport, { driver: 'messagingv2', topics: [s.topic] }).info(
    CTXT,
    'anon.ts',
    PAYLOAD,
  );
  const ts = await inbox.waitForCount(() => true, 2);
  const py = await pyListener.events.waitForCount((e) => e.event === 'notification', 2);
  assert.deepEqual(
    ts.map((r) => r.publisherId),
    [null, null],
  );
  assert.deepEqual(
    py.map((e) => e['publisher_id']),
    [null, null],
  );
});
