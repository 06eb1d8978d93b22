/**
 * Byte compatibility: the same request, reply, heartbeat or notification sent once by
 * this library and once by Python oslo.messaging 14.0.3, received by a Python peer that
 * records the raw AMQP message (`--raw`). Exchange, routing key, AMQP properties and
 * headers must be equal, the JSON keys must come in the same order, and every JSON level
 * must be exactly what Python's `json.dumps` writes (separators, `\uXXXX` escapes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  Notifier,
  RemoteError,
} from '../../src/index.js';
import { delay, InteropScope, quietLogger, type Peer, type PeerEvent } from './helpers.js';

type Dict = Record<string, unknown>;

const T = { timeout: 60_000 };

const CTXT: Dict = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-wire',
  roles: ['admin'],
  is_admin: false,
};

/** Strings that JSON encoders disagree on. */
const TRICKY: Dict = {
  text: 'café ☃ 😀',
  controls: 'line\nbreak\ttab\r "quote" back\\slash /slash \u0001 \u001f \u007f',
  separators: '\u2028\u2029',
  numbers: [0, -1, 1.5, 0.1, 1e21, 1e-7, 123456789012, -0.5],
  nested: { list: [null, true, false, { k: ['é'] }], empty: {}, emptyList: [] },
};

interface Raw {
  exchange: unknown;
  routing_key: unknown;
  properties: unknown;
  headers: unknown;
  envelope: unknown;
  inner_keys: string[];
  python_format: unknown;
  inner: Dict;
}

function innerOf(event: PeerEvent): Dict {
  const outer = JSON.parse(String(event['body'])) as Dict;
  const inner =
    'oslo.message' in outer ? (JSON.parse(String(outer['oslo.message'])) as Dict) : outer;
  return inner;
}

function toRaw(event: PeerEvent): Raw {
  return {
    exchange: event['exchange'],
    routing_key: event['routing_key'],
    properties: event['properties'],
    headers: event['headers'],
    envelope: event['envelope'],
    inner_keys: event['inner_keys'] as string[],
    python_format: event['python_format'],
    inner: innerOf(event),
  };
}

/** The first raw message whose decoded body matches. */
async function rawMessage(peer: Peer, matches: (inner: Dict) => boolean): Promise<Raw> {
  const event = await peer.events.waitFor((e) => e.event === 'raw' && matches(innerOf(e)));
  return toRaw(event);
}

/** Everything that must be equal between the TS and the Python message. */
function shape(raw: Raw): Dict {
  const { inner: _inner, ...rest } = raw;
  return rest;
}

function assertSameShape(ts: Raw, py: Raw, what: string): void {
  assert.equal(ts.python_format, true, `${what}: the TS message is not in Python's JSON format`);
  assert.equal(
    py.python_format,
    true,
    `${what}: the Python message is not in Python's JSON format`,
  );
  assert.deepEqual(shape(ts), shape(py), what);
}

const tagOf = (inner: Dict): unknown => (inner['args'] as Dict | undefined)?.['tag'];

test('TS RPC requests are byte-compatible with Python requests', T, async (t) => {
  const scope = new InteropScope(t);
  const topic = scope.name('rpc');
  scope.trackRpcTopic(topic, ['py']);
  const server = await scope.peer('rpc-server', ['--topic', topic, '--server', 'py', '--raw']);
  const pyClient = await scope.peer('rpc-client', ['--topic', topic]);
  const transport = getRpcTransport(scope.conf());
  scope.defer(() => transport.cleanup());
  const client = getRpcClient(transport, { topic }, { timeout: 20_000 });

  const kinds: { name: string; prepare: Dict; op: 'call' | 'cast'; method: string }[] = [
    { name: 'call', prepare: {}, op: 'call', method: 'echo' },
    { name: 'cast', prepare: {}, op: 'cast', method: 'record' },
    { name: 'call to a server', prepare: { server: 'py' }, op: 'call', method: 'echo' },
    { name: 'cast to a server', prepare: { server: 'py' }, op: 'cast', method: 'record' },
    { name: 'fanout cast', prepare: { fanout: true }, op: 'cast', method: 'record' },
    {
      name: 'namespaced, versioned call',
      prepare: { namespace: 'interop_ns', version: '1.2' },
      op: 'call',
      method: 'ns_echo',
    },
  ];
  for (const kind of kinds) {
    const tsTag = `ts-${kind.name}`;
    const pyTag = `py-${kind.name}`;
    const c = client.prepare(kind.prepare);
    if (kind.op === 'call') await c.call(CTXT, kind.method, { ...TRICKY, tag: tsTag });
    else await c.cast(CTXT, kind.method, { ...TRICKY, tag: tsTag });
    const r = await pyClient.request({
      op: kind.op,
      method: kind.method,
      args: { ...TRICKY, tag: pyTag },
      ctxt: CTXT,
      prepare: { ...kind.prepare, ...(kind.op === 'call' ? { timeout: 20 } : {}) },
    });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    const [ts, py] = await Promise.all([
      rawMessage(server, (m) => tagOf(m) === tsTag),
      rawMessage(server, (m) => tagOf(m) === pyTag),
    ]);
    assertSameShape(ts, py, kind.name);
    assert.deepEqual(ts.inner['args'], { ...TRICKY, tag: tsTag }, kind.name);
  }
});

test(
  'TS RPC replies, failures and heartbeats are byte-compatible with Python ones',
  T,
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('rpc');
    scope.trackRpcTopic(topic, ['py', 'ts']);
    await scope.peer('rpc-server', ['--topic', topic, '--server', 'py']);
    const transport = getRpcTransport(scope.conf(), { logger: quietLogger() });
    class InteropConflict extends Error {
      static readonly module = 'interop_exc';
      readonly kwargs: Dict;
      constructor(message: string, kwargs: Dict) {
        super(message);
        this.kwargs = kwargs;
      }
    }
    const server = getRpcServer(
      transport,
      { topic, server: 'ts' },
      [
        {
          echo: (ctxt: Dict, args: Dict) => ({ server: 'ts', args, ctxt }),
          fail_custom: (_ctxt: Dict, args: { message: string } & Dict) => {
            const { message, ...kwargs } = args;
            throw new InteropConflict(message, kwargs);
          },
          slow: async (_ctxt: Dict, args: { seconds: number; value?: unknown }) => {
            await delay(args.seconds * 1000);
            return { slept: args.seconds, value: args.value ?? null };
          },
        },
      ],
      { executor: 'threading' },
    );
    scope.defer(async () => {
      await server.close();
      await transport.cleanup();
    });
    await server.start();
    const client = await scope.peer('rpc-client', ['--topic', topic, '--raw']);

    // Results.
    for (const server of ['ts', 'py']) {
      const r = await client.request({
        op: 'call',
        method: 'echo',
        args: { ...TRICKY, tag: server },
        ctxt: CTXT,
        prepare: { server },
      });
      assert.equal(r.ok, true, JSON.stringify(r.error));
    }
    const resultTag = (m: Dict): unknown =>
      ((m['result'] as Dict | null)?.['args'] as Dict | undefined)?.['tag'];
    const [tsReply, pyReply] = await Promise.all([
      rawMessage(client, (m) => resultTag(m) === 'ts'),
      rawMessage(client, (m) => resultTag(m) === 'py'),
    ]);
    assertSameShape(tsReply, pyReply, 'reply');
    assert.deepEqual(tsReply.inner['result'], {
      server: 'ts',
      args: { ...TRICKY, tag: 'ts' },
      ctxt: { ...CTXT, client_timeout: null },
    });
    assert.equal(tsReply.inner['ending'], true);

    // Failures.
    for (const server of ['ts', 'py']) {
      const r = await client.request({
        op: 'call',
        method: 'fail_custom',
        args: { message: `failure from ${server} é`, code: 409 },
        ctxt: CTXT,
        prepare: { server },
      });
      assert.equal(r.ok, false);
    }
    const failureOf = (m: Dict): Dict | undefined =>
      typeof m['failure'] === 'string' ? (JSON.parse(m['failure']) as Dict) : undefined;
    const [tsFailure, pyFailure] = await Promise.all([
      rawMessage(client, (m) => failureOf(m)?.['message'] === 'failure from ts é'),
      rawMessage(client, (m) => failureOf(m)?.['message'] === 'failure from py é'),
    ]);
    assertSameShape(tsFailure, pyFailure, 'failure reply');
    const tsInfo = failureOf(tsFailure.inner)!;
    const pyInfo = failureOf(pyFailure.inner)!;
    assert.deepEqual(Object.keys(tsInfo), Object.keys(pyInfo));
    assert.deepEqual(
      { ...tsInfo, tb: undefined },
      {
        ...pyInfo,
        class: 'InteropConflict',
        message: 'failure from ts é',
        args: ['failure from ts é'],
        tb: undefined,
      },
    );

    // Heartbeats, then the final reply.
    for (const server of ['ts', 'py']) {
      const r = await client.request({
        op: 'call',
        method: 'slow',
        args: { seconds: 3, value: `slow-${server}` },
        ctxt: CTXT,
        prepare: { server, timeout: 30, call_monitor_timeout: 2 },
      });
      assert.equal(r.ok, true, JSON.stringify(r.error));
    }
    const finals = await Promise.all(
      ['ts', 'py'].map((server) =>
        rawMessage(client, (m) => (m['result'] as Dict | null)?.['value'] === `slow-${server}`),
      ),
    );
    const heartbeats = finals.map((final) =>
      client
        .all('raw')
        .map(toRaw)
        .filter(
          (raw) => raw.inner['_msg_id'] === final.inner['_msg_id'] && raw.inner['ending'] === false,
        ),
    );
    assert.ok(heartbeats[0]!.length > 0, 'the TS server sent no heartbeat');
    assert.ok(heartbeats[1]!.length > 0, 'the Python server sent no heartbeat');
    assertSameShape(heartbeats[0]![0]!, heartbeats[1]![0]!, 'heartbeat');
    assert.deepEqual(
      { ...heartbeats[0]![0]!.inner, _msg_id: null, _unique_id: null },
      { result: null, failure: null, ending: false, _msg_id: null, _unique_id: null },
    );
    assertSameShape(finals[0]!, finals[1]!, 'final reply after heartbeats');
  },
);

test(
  'TS notifications (messagingv2 and messaging) are byte-compatible with Python ones',
  T,
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('notif');
    scope.trackNotificationTopic(topic);
    const listener = await scope.peer('listener', ['--topics', topic, '--raw']);
    const pyNotifier = await scope.peer('notifier');
    const transport = getNotificationTransport(scope.conf());
    scope.defer(() => transport.cleanup());

    for (const driver of ['messagingv2', 'messaging']) {
      const notifier = new Notifier(transport, {
        publisherId: 'interop.wire',
        driver,
        topics: [topic],
      });
      for (const method of ['info', 'warning'] as const) {
        const tsEvent = `ts.${driver}.${method}`;
        const pyEvent = `py.${driver}.${method}`;
        await notifier[method](CTXT, tsEvent, TRICKY);
        const sent = await pyNotifier.request({
          op: 'notify',
          driver,
          topics: [topic],
          publisher_id: 'interop.wire',
          priority: method,
          event_type: pyEvent,
          payload: TRICKY,
          ctxt: CTXT,
        });
        assert.equal(sent.ok, true, JSON.stringify(sent));
        const [ts, py] = await Promise.all([
          rawMessage(listener, (m) => m['event_type'] === tsEvent),
          rawMessage(listener, (m) => m['event_type'] === pyEvent),
        ]);
        assertSameShape(ts, py, `${driver} ${method}`);
        assert.equal(ts.envelope, driver === 'messagingv2');
        assert.equal(ts.inner['priority'], method === 'warning' ? 'WARN' : 'INFO');
        assert.deepEqual(ts.inner['payload'], TRICKY);
      }
    }
  },
);

test(
  'a Python failure message with control characters and unicode reaches a TS client unchanged',
  T,
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('rpc');
    scope.trackRpcTopic(topic, ['py']);
    await scope.peer('rpc-server', ['--topic', topic, '--server', 'py']);
    const transport = getRpcTransport(scope.conf());
    scope.defer(() => transport.cleanup());
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    const err = await client
      .call(CTXT, 'fail_custom', { message: TRICKY['controls'], code: 1 })
      .then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RemoteError);
    assert.equal(err.value, TRICKY['controls']);
    assert.deepEqual(err.args, [TRICKY['controls']]);
  },
);
