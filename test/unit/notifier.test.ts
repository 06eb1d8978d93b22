import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CreditPool, fakeVirtualHost } from '../../src/drivers/fake/broker.js';
import { ConfigurationError } from '../../src/errors.js';
import { Notifier, type NotifierOptions } from '../../src/notify/notifier.js';
import { TestNotificationSink } from '../../src/notify/notify-drivers.js';
import type { Serializer } from '../../src/serializer.js';
import { getRpcTransport } from '../../src/transport.js';
import {
  fakeTransport,
  queueDepth,
  queueExists,
  RecordingLogger,
  waitFor,
} from '../fixtures/notify/helpers.js';

const UUID36 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$/;

const CTXT = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-n1',
  roles: ['admin'],
  is_admin: false,
  auth_token: 'SECRET-TOKEN',
  custom_key: 'dropped',
};
const SAFE_CTXT = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-n1',
  roles: ['admin'],
  is_admin: false,
};

function testNotifier(options: NotifierOptions = {}, conf = {}) {
  const setup = fakeTransport(conf);
  const notifier = new Notifier(setup.transport, { driver: 'test', ...options });
  return { ...setup, notifier };
}

/** Consume every message waiting in a fake queue and return the bodies. */
async function takeBodies(vhost: string, queueName: string): Promise<string[]> {
  const queue = fakeVirtualHost(vhost).queue(queueName);
  if (queue === undefined) return [];
  const expected = queue.messageCount;
  const bodies: string[] = [];
  const consumer = queue.consume(new CreditPool(Infinity), (delivery) => {
    bodies.push(delivery.message.body);
    delivery.ack();
  });
  await waitFor(() => bodies.length === expected, `${expected} messages from ${queueName}`);
  consumer.cancel();
  return bodies;
}

// --- the message (oslo's TestMessagingNotifier, recorded by the test driver) -------------

const METHODS = [
  ['audit', 'AUDIT'],
  ['debug', 'DEBUG'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['warning', 'WARN'],
  ['error', 'ERROR'],
  ['critical', 'CRITICAL'],
  ['sample', 'SAMPLE'],
] as const;

for (const [method, priority] of METHODS) {
  test(`notifier - ${method}() sends priority ${priority} with oslo's message fields, in order`, async () => {
    const { notifier, transport } = testNotifier({ publisherId: 'test.localhost' });
    await notifier[method](CTXT, 'test.notify', { foo: 'bar' });
    const [sent, ...rest] = notifier.sent;
    assert.equal(rest.length, 0);
    assert.ok(sent !== undefined);
    assert.equal(sent.priority, priority);
    assert.equal(sent.retry, -1);
    assert.deepEqual(Object.keys(sent.message), [
      'message_id',
      'publisher_id',
      'event_type',
      'priority',
      'payload',
      'timestamp',
    ]);
    assert.match(sent.message.message_id, UUID36);
    assert.match(sent.message.timestamp, TIMESTAMP);
    assert.deepEqual(
      { ...sent.message, message_id: '', timestamp: '' },
      {
        message_id: '',
        publisher_id: 'test.localhost',
        event_type: 'test.notify',
        priority,
        payload: { foo: 'bar' },
        timestamp: '',
      },
    );
    assert.deepEqual(sent.ctxt, SAFE_CTXT);
    await transport.cleanup();
  });
}

test('notifier - the timestamp is now, in UTC, with a space and microseconds', async () => {
  const { notifier } = testNotifier();
  const before = Date.now();
  await notifier.info({}, 'e', {});
  const after = Date.now();
  const ts = notifier.sent[0]?.message.timestamp ?? '';
  const parsed = Date.parse(ts.replace(' ', 'T') + 'Z');
  assert.ok(parsed >= before - 1 && parsed <= after, ts);
});

test('notifier - every notification gets a new message_id', async () => {
  const { notifier } = testNotifier();
  await notifier.info({}, 'e', {});
  await notifier.info({}, 'e', {});
  const [a, b] = notifier.sent;
  assert.notEqual(a?.message.message_id, b?.message.message_id);
});

// oslo's publisher id and retry scenarios.
const publisherCases: [
  string,
  NotifierOptions,
  { publisherId?: string | null; retry?: number },
  string | null,
][] = [
  ['from the constructor', { publisherId: 'test' }, {}, 'test'],
  ['from prepare()', {}, { publisherId: 'test.localhost' }, 'test.localhost'],
  [
    'prepare() overrides the constructor',
    { publisherId: 'test' },
    { publisherId: 'test.localhost' },
    'test.localhost',
  ],
  ['prepare() with null clears it', { publisherId: 'test' }, { publisherId: null }, null],
  ['none at all is null on the wire', {}, {}, null],
];
for (const [what, ctor, prep, expected] of publisherCases) {
  test(`notifier - publisher id ${what}`, async () => {
    const { notifier: base } = testNotifier(ctor);
    const notifier = Object.keys(prep).length > 0 ? base.prepare(prep) : base;
    await notifier.info({}, 'e', {});
    assert.equal(notifier.sent[0]?.message.publisher_id, expected);
  });
}

const retryCases: [string, NotifierOptions, { retry?: number }, object, number][] = [
  ['defaults to [oslo_messaging_notifications] retry (-1)', {}, {}, {}, -1],
  ['is read from the configuration', {}, {}, { oslo_messaging_notifications: { retry: 3 } }, 3],
  [
    'from the constructor wins over the configuration',
    { retry: 5 },
    {},
    { oslo_messaging_notifications: { retry: 3 } },
    5,
  ],
  ['from prepare()', {}, { retry: 0 }, {}, 0],
  ['prepare() without retry keeps it', { retry: 5 }, {}, {}, 5],
];
for (const [what, ctor, prep, conf, expected] of retryCases) {
  test(`notifier - retry ${what}`, async () => {
    const { notifier: base } = testNotifier(ctor, conf);
    const notifier = base.prepare(prep);
    assert.equal(notifier.retry, expected);
    await notifier.info({}, 'e', {});
    assert.equal(notifier.sent[0]?.retry, expected);
  });
}

test('notifier - prepare() shares drivers, topics and the test sink', async () => {
  const { notifier } = testNotifier({ publisherId: 'a', topics: ['t1'] });
  const prepared = notifier.prepare({ publisherId: 'b' });
  assert.notEqual(prepared, notifier);
  assert.equal(prepared.testSink, notifier.testSink);
  assert.deepEqual(prepared.topics, ['t1']);
  assert.deepEqual(prepared.driverNames, ['test']);
  await notifier.info({}, 'e', {});
  await prepared.info({}, 'e', {});
  assert.deepEqual(
    notifier.sent.map((s) => s.message.publisher_id),
    ['a', 'b'],
  );
  assert.equal(notifier.publisherId, 'a');
});

test('notifier - a TestNotificationSink can be shared and cleared', async () => {
  const sink = new TestNotificationSink();
  const { transport } = fakeTransport();
  const a = new Notifier(transport, { driver: 'test', testSink: sink, publisherId: 'a' });
  const b = new Notifier(transport, { driver: ['test'], testSink: sink, publisherId: 'b' });
  await a.info({}, 'e', {});
  await b.error({}, 'e', {});
  assert.deepEqual(
    sink.notifications.map((n) => [n.message.publisher_id, n.priority]),
    [
      ['a', 'INFO'],
      ['b', 'ERROR'],
    ],
  );
  sink.clear();
  assert.deepEqual(a.sent, []);
});

// --- drivers and topics from configuration ------------------------------------------------

test('notifier - with no driver configured nothing is sent and isEnabled() is false', async () => {
  const { notifier, transport, vhost } = testNotifier({ driver: [] });
  assert.equal(notifier.isEnabled(), false);
  await notifier.info(CTXT, 'e', {});
  assert.deepEqual(notifier.sent, []);
  assert.equal(queueExists(vhost, 'notifications.info'), false);
  // The default configuration has no driver either.
  const unconfigured = new Notifier(transport);
  assert.deepEqual(unconfigured.driverNames, []);
  assert.equal(unconfigured.isEnabled(), false);
});

test('notifier - drivers and topics come from [oslo_messaging_notifications]', () => {
  const { transport } = fakeTransport({
    oslo_messaging_notifications: { driver: ['log', 'test'], topics: ['topic1', 'topic2'] },
  });
  const notifier = new Notifier(transport, { publisherId: 'test.localhost' });
  assert.deepEqual(notifier.driverNames, ['log', 'test']);
  assert.deepEqual(notifier.topics, ['topic1', 'topic2']);
  const overridden = new Notifier(transport, { driver: 'noop', topics: ['t'] });
  assert.deepEqual(overridden.driverNames, ['noop']);
  assert.deepEqual(overridden.topics, ['t']);
});

const enabledCases: [string[], boolean][] = [
  [['noop'], false],
  [['noop', 'noop'], false],
  [['messagingv2'], true],
  [['noop', 'log'], true],
  [['routing'], true],
];
for (const [drivers, enabled] of enabledCases) {
  test(`notifier - isEnabled() is ${enabled} with drivers [${drivers.join(', ')}]`, () => {
    const { transport } = fakeTransport();
    assert.equal(new Notifier(transport, { driver: drivers }).isEnabled(), enabled);
  });
}

test('notifier - an unknown driver name is refused with ConfigurationError', () => {
  const { transport } = fakeTransport();
  assert.throws(() => new Notifier(transport, { driver: 'messagingv3' }), ConfigurationError);
  assert.throws(
    () =>
      new Notifier(
        fakeTransport({ oslo_messaging_notifications: { driver: ['bogus'] } }).transport,
      ),
    (err: unknown) =>
      err instanceof ConfigurationError && err.option === 'oslo_messaging_notifications.driver',
  );
});

for (const retry of [-2, 1.5, Number.NaN]) {
  test(`notifier - retry ${retry} is refused with ConfigurationError`, () => {
    const { transport } = fakeTransport();
    assert.throws(() => new Notifier(transport, { driver: 'test', retry }), ConfigurationError);
    const notifier = new Notifier(transport, { driver: 'test' });
    assert.throws(() => notifier.prepare({ retry }), ConfigurationError);
  });
}

test('notifier - warns when given an RPC transport', () => {
  const logger = new RecordingLogger();
  const transport = getRpcTransport('fake:///rpc-warning', { logger });
  new Notifier(transport, { driver: 'noop' });
  assert.equal(logger.at('warn', 'Using RPC transport for notifications').length, 1);
  const { transport: notification, logger: quiet } = fakeTransport();
  new Notifier(notification, { driver: 'noop' });
  assert.equal(quiet.at('warn').length, 0);
});

// --- context and payload ------------------------------------------------------------------

test('notifier - a dict context keeps only the allow-listed keys (14.0.3)', async () => {
  const all = {
    user_id: 1,
    project_id: 1,
    domain_id: 1,
    user_domain_id: 1,
    project_domain_id: 1,
    is_admin: 1,
    request_id: 1,
    roles: 1,
    user_name: 1,
    project_name: 1,
    domain_name: 1,
    user_domain_name: 1,
    project_domain_name: 1,
    service_user_id: 1,
    service_user_domain_id: 1,
    service_user_domain_name: 1,
    service_project_id: 1,
    service_project_name: 1,
    service_project_domain_id: 1,
    service_project_domain_name: 1,
    service_roles: 1,
    global_request_id: 1,
    system_scope: 1,
    user: 1,
    domain: 1,
    user_domain: 1,
    project_domain: 1,
  };
  const { notifier } = testNotifier();
  await notifier.info({ ...all, auth_token: 't', custom_key: 'x', password: 'p' }, 'e', {});
  assert.deepEqual(notifier.sent[0]?.ctxt, all);
});

test('notifier - a null or undefined context is sent as an empty one', async () => {
  const { notifier } = testNotifier();
  await notifier.info(null, 'e', {});
  await notifier.info(undefined, 'e', {});
  assert.deepEqual(
    notifier.sent.map((s) => s.ctxt),
    [{}, {}],
  );
});

test('notifier - a context object is filtered through toDict() and rebuilt with fromDict()', async () => {
  class RequestContext {
    constructor(readonly fields: Record<string, unknown>) {}
    static fromDict(dict: Record<string, unknown>): RequestContext {
      return new RequestContext({ auth_token: null, ...dict });
    }
    toDict(): Record<string, unknown> {
      return { ...this.fields };
    }
  }
  const { notifier } = testNotifier();
  await notifier.info(new RequestContext({ user_id: 'u-2', auth_token: 'SECRET' }), 'e', {});
  // As on 14.0.3: removed fields come back with their defaults when the rebuilt object is
  // flattened with its full toDict().
  assert.deepEqual(notifier.sent[0]?.ctxt, { auth_token: null, user_id: 'u-2' });
});

test('notifier - the serializer sees the payload with the caller context, then the sanitised context', async () => {
  const calls: unknown[][] = [];
  const serializer: Serializer = {
    serializeEntity: (ctxt, entity) => {
      calls.push(['serializeEntity', ctxt, entity]);
      return 'sbar';
    },
    deserializeEntity: (_ctxt, entity) => entity,
    serializeContext: (ctxt) => {
      calls.push(['serializeContext', ctxt]);
      return { user_name: 'alice' };
    },
    deserializeContext: (ctxt) => ctxt,
  };
  const { notifier } = testNotifier({ serializer, publisherId: 'test.localhost' });
  const ctxt = { user_name: 'bob', auth_token: 'x' };
  await notifier.info(ctxt, 'test.notify', 'bar');
  assert.deepEqual(calls, [
    ['serializeEntity', ctxt, 'bar'],
    ['serializeContext', { user_name: 'bob' }],
  ]);
  const [sent] = notifier.sent;
  assert.deepEqual(sent?.ctxt, { user_name: 'alice' });
  assert.equal(sent?.message.payload, 'sbar');
});

test('notifier - the payload is made JSON-ready as oslo does (dates, sets, maps)', async () => {
  const { notifier } = testNotifier();
  await notifier.info({}, 'e', {
    when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)),
    tags: new Set(['a', 'b']),
    byId: new Map([['x', 1]]),
  });
  assert.deepEqual(notifier.sent[0]?.message.payload, {
    when: '2024-05-06T07:08:09.123000',
    tags: ['a', 'b'],
    byId: { x: 1 },
  });
});

// --- publishing on the transport ---------------------------------------------------------

test('notifier - messagingv2 publishes the 2.0 envelope to <topic>.<priority>, once per topic', async () => {
  const { transport, vhost } = fakeTransport();
  const notifier = new Notifier(transport, {
    driver: 'messagingv2',
    topics: ['foo', 'bar'],
    publisherId: 'compute.host1',
  });
  await notifier.info(CTXT, 'compute.instance.create.end', { state: 'active', name: 'café' });
  for (const topic of ['foo', 'bar']) {
    const [body, ...rest] = await takeBodies(vhost, `${topic}.info`);
    assert.equal(rest.length, 0);
    const outer = JSON.parse(body ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(outer), ['oslo.version', 'oslo.message']);
    assert.equal(outer['oslo.version'], '2.0');
    assert.equal(typeof outer['oslo.message'], 'string');
    assert.ok(body?.includes('caf\\\\u00e9'), 'non-ASCII escaped twice, as Python does');
    const inner = JSON.parse(outer['oslo.message'] as string) as Record<string, unknown>;
    assert.deepEqual(Object.keys(inner).slice(0, 7), [
      'message_id',
      'publisher_id',
      'event_type',
      'priority',
      'payload',
      'timestamp',
      '_unique_id',
    ]);
    assert.equal(inner['priority'], 'INFO');
    assert.equal(inner['publisher_id'], 'compute.host1');
    assert.match(inner['message_id'] as string, UUID36);
    assert.match(inner['_unique_id'] as string, /^[0-9a-f]{32}$/);
    const contextKeys = Object.keys(inner).filter((k) => k.startsWith('_context_'));
    assert.deepEqual(
      contextKeys.sort(),
      Object.keys(SAFE_CTXT)
        .map((k) => `_context_${k}`)
        .sort(),
    );
  }
  await transport.cleanup();
});

test('notifier - messaging (v1) publishes the same dict without an envelope', async () => {
  const { transport, vhost } = fakeTransport();
  const notifier = new Notifier(transport, {
    driver: 'messaging',
    topics: ['v1'],
    publisherId: 'owire.v1host',
  });
  await notifier.info(CTXT, 'owire.v1.event', { n: 1 });
  const [body] = await takeBodies(vhost, 'v1.info');
  const msg = JSON.parse(body ?? '') as Record<string, unknown>;
  assert.equal(msg['oslo.version'], undefined);
  assert.equal(msg['event_type'], 'owire.v1.event');
  assert.equal(msg['priority'], 'INFO');
  assert.deepEqual(msg['payload'], { n: 1 });
  assert.equal(msg['_context_auth_token'], undefined);
  assert.equal(msg['_context_user_id'], 'u-1');
  await transport.cleanup();
});

test('notifier - warning() routes to <topic>.warn, never .warning', async () => {
  const { transport, vhost } = fakeTransport();
  const notifier = new Notifier(transport, { driver: 'messagingv2' });
  await notifier.warning({}, 'e', {});
  await notifier.warn({}, 'e', {});
  assert.equal(queueDepth(vhost, 'notifications.warn'), 2);
  assert.equal(queueExists(vhost, 'notifications.warning'), false);
  await transport.cleanup();
});

test('notifier - both messaging drivers together publish twice per topic', async () => {
  const { transport, vhost } = fakeTransport();
  const notifier = new Notifier(transport, {
    driver: ['messaging', 'messagingv2'],
    topics: ['a', 'b'],
  });
  await notifier.error({}, 'e', {});
  assert.equal(queueDepth(vhost, 'a.error'), 2);
  assert.equal(queueDepth(vhost, 'b.error'), 2);
  await transport.cleanup();
});

test('notifier - with no topics the messaging driver publishes nothing', async () => {
  const { transport, vhost } = fakeTransport();
  const notifier = new Notifier(transport, { driver: ['messagingv2', 'test'], topics: [] });
  await notifier.info({}, 'e', {});
  assert.equal(notifier.sent.length, 1);
  assert.deepEqual(fakeVirtualHost(vhost).queueNames(), []);
  await transport.cleanup();
});

// --- failures are logged, not thrown ------------------------------------------------------

test('notifier - a failed publish is logged and the promise resolves', async () => {
  const { transport, logger } = fakeTransport();
  const notifier = new Notifier(transport, {
    driver: ['messagingv2', 'test'],
    topics: ['t1', 't2'],
  });
  await transport.cleanup();
  await notifier.info({}, 'compute.failed', {});
  // Each topic fails on its own; the other drivers still run.
  assert.equal(logger.at('error', 'Could not send notification to t1').length, 1);
  assert.equal(logger.at('error', 'Could not send notification to t2').length, 1);
  assert.equal(notifier.sent.length, 1);
});

test('notifier - an unserialisable payload is logged and nothing is sent', async () => {
  const { transport, logger, vhost } = fakeTransport();
  const notifier = new Notifier(transport, { driver: ['messagingv2', 'test'] });
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  await notifier.info({}, 'e', { circular });
  await notifier.info({}, 'e', { fn: () => 1 });
  assert.equal(logger.at('error', 'not serialisable').length, 2);
  assert.deepEqual(notifier.sent, []);
  assert.equal(queueDepth(vhost, 'notifications.info'), 0);
  await transport.cleanup();
});

test('notifier - a serializer that throws rejects the call', async () => {
  const serializer: Serializer = {
    serializeEntity: () => {
      throw new Error('cannot serialise');
    },
    deserializeEntity: (_c, e) => e,
    serializeContext: (c) => c as Record<string, unknown>,
    deserializeContext: (c) => c,
  };
  const { notifier } = testNotifier({ serializer });
  await assert.rejects(notifier.info({}, 'e', {}), /cannot serialise/);
});

// --- the log driver ------------------------------------------------------------------------

test('notifier - the log driver logs the JSON notification at the priority level', async () => {
  const { transport, logger } = fakeTransport();
  const notifier = new Notifier(transport, { driver: 'log', publisherId: 'test.localhost' });
  await notifier.info(CTXT, 'test.notify', 'bar');
  await notifier.warn({}, 'test.warned', {});
  await notifier.error({}, 'test.failed', {});
  await notifier.critical({}, 'test.critical', {});
  await notifier.debug({}, 'test.debugged', {});
  const [line] = logger.at('info', 'oslo.messaging.notification.test.notify ');
  assert.ok(line !== undefined);
  const json = line.text.slice(line.text.indexOf('{'));
  const logged = JSON.parse(json) as Record<string, unknown>;
  assert.equal(logged['publisher_id'], 'test.localhost');
  assert.equal(logged['priority'], 'INFO');
  assert.equal(logged['payload'], 'bar');
  assert.ok(json.includes('", "'), 'Python json.dumps separators');
  assert.equal(logger.at('warn', 'test.warned').length, 1);
  assert.equal(logger.at('error', 'test.failed').length, 1);
  assert.equal(logger.at('error', 'test.critical').length, 1);
  assert.equal(logger.at('debug', 'test.debugged').length, 1);
});

test('notifier - the log driver masks passwords', async () => {
  const { transport, logger } = fakeTransport();
  const notifier = new Notifier(transport, { driver: 'log' });
  await notifier.info({}, 'e', {
    password: 'passw0rd',
    nested: { admin_pass: 'x', ok: 'y' },
    list: [{ token: 't' }],
  });
  const text = logger.at('info')[0]?.text ?? '';
  assert.ok(!text.includes('passw0rd'));
  assert.ok(text.includes('"password": "***"'));
  assert.ok(text.includes('"admin_pass": "***"'));
  assert.ok(text.includes('"ok": "y"'));
  assert.ok(text.includes('"token": "***"'));
});

test('notifier - the log driver drops sample and audit notifications, warning once', async () => {
  const { transport, logger } = fakeTransport();
  const notifier = new Notifier(transport, { driver: 'log' });
  await notifier.sample({}, 'cpu', { cpu: 70 });
  await notifier.sample({}, 'cpu', { cpu: 71 });
  await notifier.audit({}, 'audited', {});
  assert.equal(
    logger.lines.filter((l) => l.text.includes('oslo.messaging.notification.')).length,
    0,
  );
  assert.equal(logger.at('warn', 'priority specified sample').length, 1);
  assert.equal(logger.at('warn', 'priority specified audit').length, 1);
});

test('notifier - the noop driver sends nothing', async () => {
  const { transport, logger, vhost } = fakeTransport();
  const notifier = new Notifier(transport, { driver: 'noop' });
  await notifier.info(CTXT, 'e', {});
  assert.deepEqual(fakeVirtualHost(vhost).queueNames(), []);
  assert.deepEqual(logger.lines, []);
});
