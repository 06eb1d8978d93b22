import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  BatchNotificationDispatcher,
  NotificationDispatcher,
  type BatchNotificationMessage,
} from '../../src/notify/dispatcher.js';
import { NotificationFilter } from '../../src/notify/filter.js';
import { NotificationResult, PRIORITIES } from '../../src/notify/result.js';
import { NoOpSerializer, type Serializer } from '../../src/serializer.js';
import { RecordingLogger, StubIncoming } from '../fixtures/notify/helpers.js';

const BASE = {
  publisher_id: 'publisher_id',
  event_type: 'compute.start',
  payload: { info: 'fuu' },
  message_id: 'uuid',
  timestamp: '2024-05-06 07:08:09.123456',
};

function incoming(priority: unknown, extra: Record<string, unknown> = {}): StubIncoming {
  return new StubIncoming({ ...BASE, priority, ...extra }, { user: 'u-1' });
}

type Call = { endpoint: number; method: string; args: unknown[] };

/** Endpoints implementing the named methods, each returning `result` (or throwing). */
function endpoints(
  methods: string[][],
  calls: Call[],
  behaviour: { result?: unknown; throws?: boolean } = {},
): object[] {
  return methods.map((names, index) => {
    const endpoint: Record<string, unknown> = {};
    for (const name of names) {
      endpoint[name] = (...args: unknown[]) => {
        calls.push({ endpoint: index, method: name, args });
        if (behaviour.throws === true) throw new Error('boom');
        return behaviour.result;
      };
    }
    return endpoint;
  });
}

function dispatcher(
  eps: readonly object[],
  logger = new RecordingLogger(),
): NotificationDispatcher {
  return new NotificationDispatcher(eps, new NoOpSerializer(), logger);
}

// oslo's TestDispatcher scenarios.
const scenarios: {
  name: string;
  methods: string[][];
  priority: string;
  result?: unknown;
  throws?: boolean;
  expectCalls: [number, string][];
  expect: NotificationResult;
}[] = [
  { name: 'no endpoints', methods: [], priority: 'info', expectCalls: [], expect: 'handled' },
  {
    name: 'one endpoint',
    methods: [['warn']],
    priority: 'warn',
    result: NotificationResult.HANDLED,
    expectCalls: [[0, 'warn']],
    expect: 'handled',
  },
  {
    name: 'two endpoints, only one has the method',
    methods: [['warn'], ['info']],
    priority: 'info',
    expectCalls: [[1, 'info']],
    expect: 'handled',
  },
  {
    name: 'two endpoints, both have the method, called in list order',
    methods: [
      ['debug', 'info'],
      ['info', 'debug'],
    ],
    priority: 'debug',
    expectCalls: [
      [0, 'debug'],
      [1, 'debug'],
    ],
    expect: 'handled',
  },
  {
    name: 'no return value counts as handled',
    methods: [['warn']],
    priority: 'warn',
    result: undefined,
    expectCalls: [[0, 'warn']],
    expect: 'handled',
  },
  {
    name: 'any other return value counts as handled',
    methods: [['warn']],
    priority: 'warn',
    result: 'whatever',
    expectCalls: [[0, 'warn']],
    expect: 'handled',
  },
  {
    name: 'REQUEUE is returned',
    methods: [['debug', 'warn']],
    priority: 'debug',
    result: NotificationResult.REQUEUE,
    expectCalls: [[0, 'debug']],
    expect: 'requeue',
  },
  {
    name: 'REQUEUE skips the remaining endpoints',
    methods: [['info'], ['info']],
    priority: 'info',
    result: NotificationResult.REQUEUE,
    expectCalls: [[0, 'info']],
    expect: 'requeue',
  },
  {
    name: 'a throwing endpoint counts as REQUEUE and skips the rest',
    methods: [['debug', 'warn'], ['debug']],
    priority: 'debug',
    throws: true,
    expectCalls: [[0, 'debug']],
    expect: 'requeue',
  },
  {
    name: 'an upper-case priority in the body is lower-cased',
    methods: [['info']],
    priority: 'INFO',
    expectCalls: [[0, 'info']],
    expect: 'handled',
  },
];

for (const s of scenarios) {
  test(`notification dispatcher - ${s.name}`, async () => {
    const calls: Call[] = [];
    const behaviour: { result?: unknown; throws?: boolean } = { result: s.result };
    if (s.throws === true) behaviour.throws = true;
    const d = dispatcher(endpoints(s.methods, calls, behaviour));
    const msg = incoming(s.priority);
    assert.equal(await d.dispatch(msg), s.expect);
    assert.deepEqual(
      calls.map((c) => [c.endpoint, c.method]),
      s.expectCalls,
    );
    for (const call of calls) {
      assert.deepEqual(call.args, [
        { user: 'u-1' },
        'publisher_id',
        'compute.start',
        { info: 'fuu' },
        { message_id: 'uuid', timestamp: '2024-05-06 07:08:09.123456' },
      ]);
    }
  });
}

test('notification dispatcher - an unknown priority is logged and dispatched to nobody', async () => {
  const calls: Call[] = [];
  const logger = new RecordingLogger();
  const d = dispatcher(endpoints([[...PRIORITIES]], calls), logger);
  assert.equal(await d.dispatch(incoming('what???')), undefined);
  assert.equal(await d.dispatch(incoming('warning')), undefined);
  assert.equal(await d.dispatch(incoming(undefined)), undefined);
  assert.deepEqual(calls, []);
  assert.equal(logger.at('warn', 'Unknown priority "what???"').length, 1);
  assert.equal(logger.at('warn', 'Unknown priority "warning"').length, 1);
});

test('notification dispatcher - a throwing endpoint is logged with its error', async () => {
  const logger = new RecordingLogger();
  class Compute {
    info(): void {
      throw new Error('disk on fire');
    }
  }
  const d = dispatcher([new Compute()], logger);
  assert.equal(await d.dispatch(incoming('info')), NotificationResult.REQUEUE);
  const [line] = logger.at('error');
  assert.match(line?.text ?? '', /Compute\.info raised .*compute\.start.*disk on fire/s);
});

test('notification dispatcher - async methods are awaited; a rejection counts as REQUEUE', async () => {
  const order: string[] = [];
  const d = dispatcher([
    {
      async info() {
        await new Promise((resolve) => setImmediate(resolve));
        order.push('first');
      },
    },
    {
      info() {
        order.push('second');
        return Promise.reject(new Error('nope'));
      },
    },
    { info: () => order.push('never') },
  ]);
  assert.equal(await d.dispatch(incoming('info')), NotificationResult.REQUEUE);
  assert.deepEqual(order, ['first', 'second']);
});

test('notification dispatcher - methods run with their endpoint as this', async () => {
  class Counter {
    count = 0;
    info(): void {
      this.count++;
    }
  }
  const counter = new Counter();
  await dispatcher([counter]).dispatch(incoming('info'));
  assert.equal(counter.count, 1);
});

test('notification dispatcher - an endpoint whose filterRule does not match is skipped', async () => {
  const calls: string[] = [];
  const d = dispatcher([
    {
      filterRule: new NotificationFilter({ eventType: '^network\\.' }),
      info: () => calls.push('network'),
    },
    {
      filterRule: new NotificationFilter({ eventType: '^compute\\.', context: { user: '^u-' } }),
      info: () => calls.push('compute'),
    },
    { info: () => calls.push('all') },
  ]);
  assert.equal(await d.dispatch(incoming('info')), NotificationResult.HANDLED);
  assert.deepEqual(calls, ['compute', 'all']);
});

test('notification dispatcher - a filterRule that throws skips its endpoint and is logged', async () => {
  const logger = new RecordingLogger();
  const calls: string[] = [];
  const d = dispatcher(
    [
      {
        filterRule: {
          match(): boolean {
            throw new Error('bad filter');
          },
        },
        info: () => calls.push('filtered'),
      },
      { info: () => calls.push('other') },
    ],
    logger,
  );
  assert.equal(await d.dispatch(incoming('info')), NotificationResult.HANDLED);
  assert.deepEqual(calls, ['other']);
  assert.equal(logger.at('error', 'bad filter').length, 1);
});

test('notification dispatcher - the serializer restores context and payload', async () => {
  const seen: unknown[] = [];
  const serializer: Serializer = {
    serializeEntity: (_ctxt, entity) => entity,
    deserializeEntity: (ctxt, entity) => ({ ctxt, entity }),
    serializeContext: (ctxt) => ctxt as Record<string, unknown>,
    deserializeContext: (ctxt) => ({ restored: ctxt }),
  };
  const d = new NotificationDispatcher(
    [{ info: (...args: unknown[]) => seen.push(...args) }],
    serializer,
    new RecordingLogger(),
  );
  await d.dispatch(incoming('info'));
  const ctxt = { restored: { user: 'u-1' } };
  assert.deepEqual(seen.slice(0, 4), [
    ctxt,
    'publisher_id',
    'compute.start',
    { ctxt, entity: { info: 'fuu' } },
  ]);
});

test('notification dispatcher - supportedPriorities lists what some endpoint implements, in order', () => {
  const d = dispatcher([{ sample() {}, info() {} }, { error() {}, info() {} }, {}]);
  assert.deepEqual(d.supportedPriorities, ['info', 'error', 'sample']);
  // `warning` is not a priority: a method of that name is never called.
  assert.deepEqual(dispatcher([{ warning() {} }]).supportedPriorities, []);
});

test('notification dispatcher - refuses a non-object endpoint and a filterRule without match()', () => {
  assert.throws(() => dispatcher([null as unknown as object]), TypeError);
  assert.throws(() => dispatcher([{ filterRule: {}, info() {} }]), /filterRule/);
});

// --- batches ---------------------------------------------------------------------------

function batchDispatcher(eps: readonly object[], logger = new RecordingLogger()) {
  return new BatchNotificationDispatcher(eps, new NoOpSerializer(), logger);
}

const ids = (messages: BatchNotificationMessage[]): string[] =>
  messages.map((m) => m.metadata.message_id);

test('batch dispatcher - groups a batch by priority and calls each method with its list', async () => {
  const got: Record<string, string[][]> = { info: [], error: [] };
  const d = batchDispatcher([
    {
      info: (ms: BatchNotificationMessage[]) => void got['info']?.push(ids(ms)),
      error: (ms: BatchNotificationMessage[]) => void got['error']?.push(ids(ms)),
    },
  ]);
  const batch = [
    incoming('info', { message_id: 'i1' }),
    incoming('ERROR', { message_id: 'e1' }),
    incoming('info', { message_id: 'i2' }),
  ];
  const requeues = await d.dispatchBatch(batch);
  assert.equal(requeues.size, 0);
  assert.deepEqual(got, { info: [['i1', 'i2']], error: [['e1']] });
});

test('batch dispatcher - each message has ctxt, publisher_id, event_type, payload, metadata', async () => {
  let got: BatchNotificationMessage[] = [];
  const d = batchDispatcher([{ info: (ms: BatchNotificationMessage[]) => void (got = ms) }]);
  await d.dispatchBatch([incoming('info')]);
  assert.deepEqual(got, [
    {
      ctxt: { user: 'u-1' },
      publisher_id: 'publisher_id',
      event_type: 'compute.start',
      payload: { info: 'fuu' },
      metadata: { message_id: 'uuid', timestamp: '2024-05-06 07:08:09.123456' },
    },
  ]);
});

test('batch dispatcher - the filter applies per message; an empty list is not delivered', async () => {
  const got: string[][] = [];
  const d = batchDispatcher([
    {
      filterRule: new NotificationFilter({ eventType: '^keep' }),
      info: (ms: BatchNotificationMessage[]) => void got.push(ids(ms)),
    },
    {
      filterRule: new NotificationFilter({ eventType: '^nothing' }),
      info: () => assert.fail('called with an empty list'),
    },
  ]);
  await d.dispatchBatch([
    incoming('info', { message_id: 'a', event_type: 'keep.1' }),
    incoming('info', { message_id: 'b', event_type: 'drop.1' }),
    incoming('info', { message_id: 'c', event_type: 'keep.2' }),
  ]);
  assert.deepEqual(got, [['a', 'c']]);
});

for (const [what, behaviour] of [
  ['returns REQUEUE', () => NotificationResult.REQUEUE],
  [
    'throws',
    () => {
      throw new Error('boom');
    },
  ],
] as const) {
  test(`batch dispatcher - a method that ${what} requeues its whole priority group, filtered messages too`, async () => {
    const calls: string[] = [];
    const info = [
      incoming('info', { message_id: 'i1', event_type: 'keep' }),
      incoming('info', { message_id: 'i2', event_type: 'skip' }),
    ];
    const error = [incoming('error', { message_id: 'e1' })];
    const d = batchDispatcher([
      {
        filterRule: new NotificationFilter({ eventType: '^keep' }),
        info: () => {
          calls.push('first.info');
          return behaviour();
        },
      },
      { info: () => calls.push('second.info'), error: () => calls.push('second.error') },
    ]);
    const requeues = await d.dispatchBatch([info[0]!, error[0]!, info[1]!]);
    assert.deepEqual(new Set(requeues), new Set(info));
    // The rest of that group's endpoints are skipped; other groups go on.
    assert.deepEqual(calls.sort(), ['first.info', 'second.error']);
  });
}

test('batch dispatcher - a group with an unknown priority is logged and not requeued', async () => {
  const logger = new RecordingLogger();
  const d = batchDispatcher([{ info: () => undefined }], logger);
  const requeues = await d.dispatchBatch([incoming('bogus'), incoming('info')]);
  assert.equal(requeues.size, 0);
  assert.equal(logger.at('warn', 'Unknown priority "bogus"').length, 1);
});
