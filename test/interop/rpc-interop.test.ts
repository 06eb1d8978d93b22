/**
 * RPC interop: this library and Python oslo.messaging 14.0.3 on the same RabbitMQ, each
 * side as client and as server: call, cast, fanout, server-directed requests,
 * namespaces and versions, remote errors both ways, call-monitor heartbeats, and the
 * request context.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  expectedExceptions,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  MessagingTimeout,
  RemoteError,
  Target,
  type RPCServer,
  type RPCTransport,
  type TransportOptions,
} from '../../src/index.js';
import { delay, Inbox, InteropScope, quietLogger, type Peer, type PeerResult } from './helpers.js';

type Dict = Record<string, unknown>;

const CTXT: Dict = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-omti',
  auth_token: 'SECRET-TOKEN',
  roles: ['admin', 'member'],
  is_admin: true,
  nested: { list: [1, 'two', null, { deep: true }], text: 'café ☃ 😀' },
};

const ARGS: Dict = {
  text: 'café ☃ 😀',
  int: 42,
  negative: -7,
  float: 1.5,
  yes: true,
  no: false,
  none: null,
  list: [1, [2, [3]], { k: 'v' }],
  nested: { a: { b: { c: ['d', 'é'] } } },
  empty: {},
  emptyList: [],
};

const T = { timeout: 60_000 };

let tags = 0;
/** A value unique to one request, to find its dispatch among the others. */
function tag(): string {
  tags += 1;
  return `tag-${tags}-${Math.random().toString(16).slice(2)}`;
}

/** Expect `promise` to reject with a RemoteError, and return it. */
async function remoteError(promise: Promise<unknown>): Promise<RemoteError> {
  const err = await promise.then(
    (value) => assert.fail(`expected a RemoteError, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
  assert.ok(err instanceof RemoteError, `expected a RemoteError, got ${String(err)}`);
  return err;
}

// Local classes a TS client may rebuild Python failures as.
class LocalInteropConflict extends Error {
  readonly kwargs: Dict;
  constructor(message: string, kwargs: Dict = {}) {
    super(message);
    this.name = 'LocalInteropConflict';
    this.kwargs = kwargs;
  }
}
class LocalValueError extends Error {
  override name = 'LocalValueError';
}

// Errors a TS server raises, declaring the Python module they stand for.
class ValueError extends Error {
  static readonly module = 'builtins';
}
class InteropConflict extends Error {
  static readonly module = 'interop_exc';
  readonly kwargs: Dict;
  constructor(message: string, kwargs: Dict = {}) {
    super(message);
    this.kwargs = kwargs;
  }
}
class NotAllowedHere extends Error {}

describe('rpc interop: TS client -> Python server', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('rpc');
  scope.trackRpcTopic(topic, ['py1', 'py2']);
  let py1: Peer;
  let py2: Peer;
  let transport: RPCTransport;

  function transportWith(options: TransportOptions): RPCTransport {
    const t = getRpcTransport(scope.conf(), options);
    scope.defer(() => t.cleanup());
    return t;
  }

  /** The dispatch events for requests carrying `value` as `tag`, from both servers. */
  function dispatched(
    value: string,
  ): { server: unknown; method: unknown; args: unknown; ctxt: unknown }[] {
    return [py1, py2].flatMap((peer) =>
      peer.events
        .filter((e) => e.event === 'dispatch' && (e['args'] as Dict | undefined)?.['tag'] === value)
        .map((e) => ({
          server: e['server'],
          method: e['method'],
          args: e['args'],
          ctxt: e['ctxt'],
        })),
    );
  }

  async function dispatchOn(peer: Peer, value: string): Promise<Dict> {
    return peer.events.waitFor(
      (e) => e.event === 'dispatch' && (e['args'] as Dict | undefined)?.['tag'] === value,
    );
  }

  before(async () => {
    [py1, py2] = await Promise.all([
      scope.peer('rpc-server', ['--topic', topic, '--server', 'py1']),
      scope.peer('rpc-server', ['--topic', topic, '--server', 'py2']),
    ]);
    transport = transportWith({});
  });

  test('call() returns the Python result; arguments and context arrive intact', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    const t = tag();
    const result = (await client.call(CTXT, 'echo', { ...ARGS, tag: t })) as Dict;
    assert.ok(result['server'] === 'py1' || result['server'] === 'py2', String(result['server']));
    assert.deepEqual(result['args'], { ...ARGS, tag: t });
    // oslo adds client_timeout (the call-monitor timeout, none here) to the context.
    assert.deepEqual(result['ctxt'], { ...CTXT, client_timeout: null });
  });

  test(
    'call() with callMonitorTimeout shows as client_timeout (seconds) on the server',
    T,
    async () => {
      const client = getRpcClient(
        transport,
        { topic },
        { timeout: 20_000, callMonitorTimeout: 4000 },
      );
      const result = (await client.call(CTXT, 'echo', { tag: tag() })) as Dict;
      assert.deepEqual(result['ctxt'], { ...CTXT, client_timeout: 4 });
    },
  );

  test(
    'context keys msg_id, reply_q and client_timeout are replaced as Python does',
    T,
    async () => {
      const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
      const ctxt = { msg_id: 'mine', reply_q: 'mine', client_timeout: 'mine', x: 1 };
      const result = (await client.call(ctxt, 'echo', {})) as Dict;
      assert.deepEqual(result['ctxt'], { client_timeout: null, x: 1 });
    },
  );

  test('cast() runs the method on a Python server with arguments and context', T, async () => {
    const client = getRpcClient(transport, { topic });
    const t = tag();
    await client.cast(CTXT, 'record', { ...ARGS, tag: t });
    const event = await Promise.any([dispatchOn(py1, t), dispatchOn(py2, t)]);
    assert.equal(event['method'], 'record');
    assert.deepEqual(event['args'], { ...ARGS, tag: t });
    assert.deepEqual(event['ctxt'], { ...CTXT, client_timeout: null });
  });

  test('a fanout cast() reaches every Python server once', T, async () => {
    const client = getRpcClient(transport, { topic });
    const t = tag();
    await client.prepare({ fanout: true }).cast(CTXT, 'record', { tag: t });
    await Promise.all([dispatchOn(py1, t), dispatchOn(py2, t)]);
    // A server-directed call to each afterwards: by then any duplicate would have shown.
    for (const server of ['py1', 'py2']) {
      await client.prepare({ server, timeout: 20_000 }).call(CTXT, 'echo', { tag: tag() });
    }
    const seen = dispatched(t).map((d) => d.server);
    assert.deepEqual(seen.sort(), ['py1', 'py2']);
  });

  test('call() and cast() with a server name reach that server only', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    const toPy2 = client.prepare({ server: 'py2' });
    for (let i = 0; i < 4; i++) {
      const result = (await toPy2.call(CTXT, 'echo', { i })) as Dict;
      assert.equal(result['server'], 'py2');
    }
    const t = tag();
    await client.prepare({ server: 'py1' }).cast(CTXT, 'record', { tag: t });
    const event = await dispatchOn(py1, t);
    assert.equal(event['server'], 'py1');
    assert.deepEqual(
      dispatched(t).map((d) => d.server),
      ['py1'],
    );
  });

  test('a namespaced endpoint serves compatible versions', T, async () => {
    const client = getRpcClient(transport, { topic, namespace: 'interop_ns' }, { timeout: 20_000 });
    for (const version of ['1.0', '1.2', '1.2.5', '1.3', '1.3.0', undefined]) {
      const c = version === undefined ? client : client.prepare({ version });
      const result = await c.call(CTXT, 'ns_echo', { x: 21 });
      assert.deepEqual(result, {
        server: (result as Dict)['server'],
        namespace: 'interop_ns',
        version: '1.3',
        args: { x: 21 },
      });
    }
  });

  test(
    'an unsupported version or namespace rejects with RemoteError UnsupportedVersion',
    T,
    async () => {
      const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
      const cases = [
        { namespace: 'interop_ns', version: '1.4', method: 'ns_echo' },
        { namespace: 'interop_ns', version: '1.3.1', method: 'ns_echo' },
        { namespace: 'interop_ns', version: '2.0', method: 'ns_echo' },
        { version: '1.1', method: 'echo' }, // an endpoint without a target is version 1.0
        { namespace: 'no_such_ns', method: 'echo' },
      ];
      for (const { method, ...target } of cases) {
        const err = await remoteError(client.prepare(target).call(CTXT, method, {}));
        assert.equal(err.excType, 'UnsupportedVersion', JSON.stringify(target));
        assert.equal(err.module, 'oslo_messaging.rpc.dispatcher');
        assert.match(err.value, /^Endpoint does not support RPC version/);
      }
    },
  );

  test('an unknown or private method rejects with RemoteError NoSuchMethod', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    for (const method of ['no_such_method', '_private']) {
      const err = await remoteError(client.call(CTXT, method, {}));
      assert.equal(err.excType, 'NoSuchMethod');
      assert.equal(err.value, `Endpoint does not support RPC method ${method}`);
    }
  });

  test('oslo_rpc_server_ping answers pong', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    assert.equal(await client.call({}, 'oslo_rpc_server_ping', {}), 'pong');
  });

  test(
    'a Python builtin error arrives as RemoteError with class, message, args and traceback',
    T,
    async () => {
      const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
      const err = await remoteError(client.call(CTXT, 'fail_builtin', { message: 'bad value é' }));
      assert.equal(err.excType, 'ValueError');
      assert.equal(err.module, 'builtins');
      assert.equal(err.value, 'bad value é');
      assert.deepEqual(err.args, ['bad value é']);
      assert.deepEqual(err.kwargs, {});
      assert.equal(err.traceback[0], 'Traceback (most recent call last):\n');
      assert.equal(err.traceback.at(-1), 'ValueError: bad value é\n');
      assert.ok(err.traceback.some((line) => line.includes('in fail_builtin')));
      assert.match(err.message, /ValueError/);
    },
  );

  test(
    'a custom error from a module not allowed arrives as RemoteError with its kwargs',
    T,
    async () => {
      const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
      const err = await remoteError(
        client.call(CTXT, 'fail_custom', { message: 'conflict!', code: 409, reason: 'busy' }),
      );
      assert.equal(err.excType, 'InteropConflict');
      assert.equal(err.module, 'interop_exc');
      assert.equal(err.value, 'conflict!');
      assert.deepEqual(err.args, ['conflict!']);
      assert.deepEqual(err.kwargs, { code: 409, reason: 'busy' });
      assert.equal(err.traceback.at(-1), 'interop_exc.InteropConflict: conflict!\n');
    },
  );

  test(
    'an error from an allowed module with a registered class is rebuilt as that class',
    T,
    async () => {
      const allowed = transportWith({
        allowedRemoteExmods: ['interop_exc', 'builtins'],
        remoteExceptions: {
          interop_exc: { InteropConflict: LocalInteropConflict },
          builtins: { ValueError: LocalValueError },
        },
      });
      const client = getRpcClient(allowed, { topic }, { timeout: 20_000 });
      const custom = await client
        .call(CTXT, 'fail_custom', { message: 'conflict!', code: 409 })
        .then(
          () => assert.fail('expected a rejection'),
          (e: unknown) => e,
        );
      assert.ok(custom instanceof LocalInteropConflict, String(custom));
      assert.equal(custom.message, 'conflict!');
      assert.deepEqual(custom.kwargs, { code: 409 });
      const tb = (custom as unknown as { remoteTraceback: string[] }).remoteTraceback;
      assert.ok(Array.isArray(tb) && tb.some((line) => line.includes('InteropConflict')));

      const builtin = await client.call(CTXT, 'fail_builtin', { message: 'bad' }).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(builtin instanceof LocalValueError, String(builtin));
      assert.equal(builtin.message, 'bad');
    },
  );

  test('an allowed module without a registered class still gives RemoteError', T, async () => {
    const allowed = transportWith({
      allowedRemoteExmods: ['interop_exc'],
      remoteExceptions: { interop_exc: { InteropError: LocalInteropConflict } },
    });
    const client = getRpcClient(allowed, { topic }, { timeout: 20_000 });
    const err = await remoteError(client.call(CTXT, 'fail_custom', { message: 'x' }));
    assert.equal(err.excType, 'InteropConflict');
  });

  test('an expected exception arrives like any other error', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    const err = await remoteError(client.call(CTXT, 'fail_expected', { key: 'missing' }));
    assert.equal(err.excType, 'KeyError');
    assert.equal(err.module, 'builtins');
    assert.equal(err.value, "'missing'");
    assert.deepEqual(err.args, ['missing']);
  });

  test('a call longer than callMonitorTimeout succeeds thanks to the heartbeats', T, async () => {
    const client = getRpcClient(
      transport,
      { topic },
      { timeout: 30_000, callMonitorTimeout: 2000 },
    );
    const t = tag();
    const result = await client.call(CTXT, 'slow', { seconds: 4, value: t });
    assert.deepEqual(result, { slept: 4, value: t });
  });

  test('call() rejects with MessagingTimeout when the method outlasts the timeout', T, async () => {
    const client = getRpcClient(transport, { topic, server: 'py1' }, { timeout: 1000 });
    await assert.rejects(client.call(CTXT, 'slow', { seconds: 2 }), MessagingTimeout);
    // The late reply arrives while the next call waits: it is dropped, not taken for
    // this call's answer.
    const next = await client
      .prepare({ timeout: 20_000 })
      .call(CTXT, 'slow', { seconds: 2, value: 'second' });
    assert.deepEqual(next, { slept: 2, value: 'second' });
  });

  test('a method returning None gives null', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
    assert.equal(await client.call(CTXT, 'record', { tag: tag() }), null);
  });

  test('arguments and results larger than an AMQP frame round-trip', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 30_000 });
    const big = { text: 'é☃😀-'.repeat(60_000), list: Array.from({ length: 20_000 }, (_, i) => i) };
    const result = (await client.call(CTXT, 'echo', big)) as Dict;
    assert.deepEqual(result['args'], big);
  });

  test('concurrent calls each get their own result', T, async () => {
    const client = getRpcClient(transport, { topic }, { timeout: 30_000 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.call(CTXT, 'echo', { i })),
    );
    assert.deepEqual(
      results.map((r) => (r as { args: Dict }).args['i']),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});

test(
  'rpc interop: a TS call fails with MessagingTimeout once the Python server dies mid-call (heartbeats stop)',
  { timeout: 40_000 },
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('rpc');
    scope.trackRpcTopic(topic, ['doomed']);
    const server = await scope.peer('rpc-server', ['--topic', topic, '--server', 'doomed']);
    const transport = getRpcTransport(scope.conf());
    scope.defer(() => transport.cleanup());
    // Without heartbeats-stop detection this call would wait for its 60 s timeout, past
    // the test's own timeout.
    const client = getRpcClient(
      transport,
      { topic },
      { timeout: 60_000, callMonitorTimeout: 2000 },
    );
    const call = client.call(CTXT, 'slow', { seconds: 30 });
    call.catch(() => undefined); // handled below; avoid an unhandled rejection meanwhile
    await server.events.waitFor((e) => e.event === 'dispatch' && e['method'] === 'slow');
    await delay(1500); // let a heartbeat or two through first
    await server.kill();
    await assert.rejects(call, MessagingTimeout);
  },
);

describe('rpc interop: Python client -> TS server', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('rpc');
  scope.trackRpcTopic(topic, ['ts1', 'ts2']);
  const calls = new Inbox<{ server: string; method: string; ctxt: Dict; args: Dict }>(
    'TS endpoints',
  );
  let client: Peer;

  function endpoints(server: string): object[] {
    const seen = (method: string, ctxt: Dict, args: Dict): void => {
      calls.push({ server, method, ctxt, args });
    };
    const main = {
      echo(ctxt: Dict, args: Dict) {
        seen('echo', ctxt, args);
        return { server, args, ctxt };
      },
      record(ctxt: Dict, args: Dict) {
        seen('record', ctxt, args);
      },
      async slow(ctxt: Dict, args: { seconds: number; value?: unknown }) {
        seen('slow', ctxt, args);
        await delay(args.seconds * 1000);
        return { slept: args.seconds, value: args.value ?? null };
      },
      fail_builtin(ctxt: Dict, args: { message: string }) {
        seen('fail_builtin', ctxt, args);
        throw new ValueError(args.message);
      },
      fail_custom(ctxt: Dict, args: { message: string } & Dict) {
        seen('fail_custom', ctxt, args);
        const { message, ...kwargs } = args;
        throw new InteropConflict(message, kwargs);
      },
      fail_plain(ctxt: Dict, args: { message: string }) {
        seen('fail_plain', ctxt, args);
        throw new Error(args.message);
      },
      fail_type(ctxt: Dict, args: { message: string }) {
        seen('fail_type', ctxt, args);
        throw new TypeError(args.message);
      },
      fail_unknown_module(ctxt: Dict, args: { message: string }) {
        seen('fail_unknown_module', ctxt, args);
        throw new NotAllowedHere(args.message);
      },
      fail_expected: expectedExceptions(ValueError)((ctxt: Dict, args: { message: string }) => {
        seen('fail_expected', ctxt, args);
        throw new ValueError(args.message);
      }),
      returns_nothing(ctxt: Dict) {
        seen('returns_nothing', ctxt, {});
      },
      _private(ctxt: Dict) {
        seen('_private', ctxt, {});
        return 'private methods must not be reachable';
      },
    };
    const namespaced = {
      target: new Target({ namespace: 'interop_ns', version: '1.3' }),
      ns_echo(ctxt: Dict, args: Dict) {
        seen('ns_echo', ctxt, args);
        return { server, namespace: 'interop_ns', version: '1.3', args };
      },
    };
    return [main, namespaced];
  }

  async function startServer(server: string): Promise<RPCServer> {
    const transport = getRpcTransport(scope.conf({ DEFAULT: { rpc_ping_enabled: true } }), {
      logger: quietLogger(),
    });
    const rpcServer = getRpcServer(transport, { topic, server }, endpoints(server), {
      executor: 'threading',
    });
    scope.defer(async () => {
      await rpcServer.close();
      await transport.cleanup();
    });
    await rpcServer.start();
    return rpcServer;
  }

  async function call(command: Dict): Promise<PeerResult> {
    return client.request({ op: 'call', ctxt: CTXT, ...command });
  }

  function pyError(result: PeerResult): NonNullable<PeerResult['error']> {
    assert.equal(result.ok, false, `expected an error, got ${JSON.stringify(result.value)}`);
    return result.error!;
  }

  before(async () => {
    await Promise.all([startServer('ts1'), startServer('ts2')]);
    client = await scope.peer('rpc-client', ['--topic', topic]);
  });

  test('a Python call() gets the TS result; arguments and context arrive intact', T, async () => {
    const t = tag();
    const result = await call({ method: 'echo', args: { ...ARGS, tag: t } });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const value = result.value as Dict;
    assert.ok(value['server'] === 'ts1' || value['server'] === 'ts2', String(value['server']));
    assert.deepEqual(value['args'], { ...ARGS, tag: t });
    assert.deepEqual(value['ctxt'], { ...CTXT, client_timeout: null });
  });

  test('a Python call_monitor_timeout shows as client_timeout in the TS context', T, async () => {
    const t = tag();
    const result = await call({
      method: 'echo',
      args: { tag: t },
      prepare: { call_monitor_timeout: 4, timeout: 20 },
    });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const seen = await calls.waitFor((c) => c.args['tag'] === t);
    assert.deepEqual(seen.ctxt, { ...CTXT, client_timeout: 4 });
  });

  test(
    'context keys msg_id, reply_q and client_timeout from Python are replaced as Python does',
    T,
    async () => {
      const ctxt = { msg_id: 'mine', reply_q: 'mine', client_timeout: 'mine', x: 1 };
      const r = await call({ method: 'echo', args: {}, ctxt });
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.deepEqual((r.value as Dict)['ctxt'], { client_timeout: null, x: 1 });
    },
  );

  test('a Python cast() runs the TS method with arguments and context', T, async () => {
    const t = tag();
    const result = await client.request({
      op: 'cast',
      method: 'record',
      args: { ...ARGS, tag: t },
      ctxt: CTXT,
    });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const seen = await calls.waitFor((c) => c.args['tag'] === t);
    assert.equal(seen.method, 'record');
    assert.deepEqual(seen.args, { ...ARGS, tag: t });
    assert.deepEqual(seen.ctxt, { ...CTXT, client_timeout: null });
  });

  test('a Python fanout cast() reaches every TS server once', T, async () => {
    const t = tag();
    await client.request({
      op: 'cast',
      method: 'record',
      args: { tag: t },
      prepare: { fanout: true },
    });
    await calls.waitForCount((c) => c.args['tag'] === t, 2);
    for (const server of ['ts1', 'ts2']) {
      const r = await call({ method: 'echo', args: {}, prepare: { server } });
      assert.equal(r.ok, true, JSON.stringify(r.error));
    }
    assert.deepEqual(
      calls
        .filter((c) => c.args['tag'] === t)
        .map((c) => c.server)
        .sort(),
      ['ts1', 'ts2'],
    );
  });

  test('a Python call() and cast() with a server name reach that TS server only', T, async () => {
    for (let i = 0; i < 4; i++) {
      const r = await call({ method: 'echo', args: { i }, prepare: { server: 'ts2' } });
      assert.equal((r.value as Dict | undefined)?.['server'], 'ts2', JSON.stringify(r));
    }
    const t = tag();
    await client.request({
      op: 'cast',
      method: 'record',
      args: { tag: t },
      prepare: { server: 'ts1' },
    });
    const seen = await calls.waitFor((c) => c.args['tag'] === t);
    assert.equal(seen.server, 'ts1');
  });

  test('a TS namespaced endpoint serves compatible versions to Python', T, async () => {
    for (const version of ['1.0', '1.2', '1.2.5', '1.3', '1.3.0', null]) {
      const prepare: Dict = { namespace: 'interop_ns' };
      if (version !== null) prepare['version'] = version;
      const r = await call({ method: 'ns_echo', args: { x: 21 }, prepare });
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.deepEqual((r.value as Dict)['args'], { x: 21 });
      assert.equal((r.value as Dict)['namespace'], 'interop_ns');
    }
  });

  test('Python sees UnsupportedVersion and NoSuchMethod from TS as RemoteError', T, async () => {
    const cases: [Dict, string][] = [
      [
        { method: 'ns_echo', prepare: { namespace: 'interop_ns', version: '1.4' } },
        'UnsupportedVersion',
      ],
      [
        { method: 'ns_echo', prepare: { namespace: 'interop_ns', version: '2.0' } },
        'UnsupportedVersion',
      ],
      [
        { method: 'ns_echo', prepare: { namespace: 'interop_ns', version: '1.3.1' } },
        'UnsupportedVersion',
      ],
      [{ method: 'echo', prepare: { version: '1.1' } }, 'UnsupportedVersion'],
      [{ method: 'echo', prepare: { namespace: 'no_such_ns' } }, 'UnsupportedVersion'],
      [{ method: 'no_such_method' }, 'NoSuchMethod'],
      [{ method: '_private' }, 'NoSuchMethod'],
    ];
    for (const [command, excType] of cases) {
      const error = pyError(await call({ args: {}, ...command }));
      assert.equal(error.class, 'RemoteError', JSON.stringify(command));
      assert.equal(error.remote?.exc_type, excType, JSON.stringify(command));
    }
    const nope = pyError(await call({ method: 'no_such_method', args: {} }));
    assert.equal(nope.remote?.value, 'Endpoint does not support RPC method no_such_method');
  });

  test('oslo_rpc_server_ping on a TS server answers pong', T, async () => {
    const r = await call({ method: 'oslo_rpc_server_ping', args: {} });
    assert.deepEqual([r.ok, r.value], [true, 'pong']);
  });

  test(
    'a TS error declaring builtins ValueError is raised as ValueError in Python',
    T,
    async () => {
      const error = pyError(
        await call({ method: 'fail_builtin', args: { message: 'bad value é' } }),
      );
      assert.equal(error.class, 'ValueError');
      assert.equal(error.module, 'builtins');
      // oslo puts the remote traceback after the message in args[0].
      assert.ok(String(error.args[0]).startsWith('bad value é\n'), String(error.args[0]));
    },
  );

  test(
    'a TS TypeError is raised as TypeError in Python; Error becomes RemoteError',
    T,
    async () => {
      const typeError = pyError(
        await call({ method: 'fail_type', args: { message: 'wrong type' } }),
      );
      assert.equal(typeError.class, 'TypeError');
      assert.ok(String(typeError.args[0]).startsWith('wrong type'));

      const plain = pyError(
        await call({ method: 'fail_plain', args: { message: 'plain failure' } }),
      );
      assert.equal(plain.class, 'RemoteError');
      assert.equal(plain.remote?.exc_type, 'Error');
      assert.equal(plain.remote?.value, 'plain failure');
    },
  );

  test(
    'a TS error of an undeclared module is RemoteError in Python, with class and message',
    T,
    async () => {
      const error = pyError(
        await call({
          method: 'fail_unknown_module',
          args: { message: 'nope' },
          transport: 'allowed',
        }),
      );
      assert.equal(error.class, 'RemoteError');
      assert.equal(error.remote?.exc_type, 'NotAllowedHere');
      assert.equal(error.remote?.value, 'nope');
    },
  );

  test(
    'a TS error declaring interop_exc is rebuilt by Python when allowed, else RemoteError',
    T,
    async () => {
      const args = { message: 'conflict!', code: 409, reason: 'busy' };
      const rebuilt = pyError(await call({ method: 'fail_custom', args, transport: 'allowed' }));
      assert.equal(rebuilt.class, 'InteropConflict_Remote');
      assert.ok(rebuilt.mro.includes('interop_exc.InteropConflict'), JSON.stringify(rebuilt.mro));
      assert.deepEqual(rebuilt.kwargs, { code: 409, reason: 'busy' });
      assert.ok(rebuilt.str.startsWith('conflict!\n'), rebuilt.str);

      const remote = pyError(await call({ method: 'fail_custom', args }));
      assert.equal(remote.class, 'RemoteError');
      assert.equal(remote.remote?.exc_type, 'InteropConflict');
      assert.equal(remote.remote?.value, 'conflict!');
    },
  );

  test('a TS expected exception reaches Python as the original error', T, async () => {
    const error = pyError(
      await call({ method: 'fail_expected', args: { message: 'expected one' } }),
    );
    assert.equal(error.class, 'ValueError');
    assert.ok(String(error.args[0]).startsWith('expected one'));
  });

  test(
    'a Python call with call_monitor_timeout outlives it thanks to TS heartbeats',
    T,
    async () => {
      const t = tag();
      const before = client.all('heartbeat').length;
      const r = await call({
        method: 'slow',
        args: { seconds: 4, value: t },
        prepare: { call_monitor_timeout: 2, timeout: 30 },
      });
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.deepEqual(r.value, { slept: 4, value: t });
      assert.ok(client.all('heartbeat').length > before, 'the Python client saw no heartbeat');
    },
  );
  test('a TS method returning undefined gives None in Python', T, async () => {
    const r = await call({ method: 'returns_nothing', args: {} });
    assert.deepEqual([r.ok, r.value], [true, null]);
  });

  test('arguments and results larger than an AMQP frame round-trip from Python', T, async () => {
    const big = { text: 'é☃😀-'.repeat(60_000), list: Array.from({ length: 20_000 }, (_, i) => i) };
    const r = await call({ method: 'echo', args: big, prepare: { timeout: 30 } });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.deepEqual((r.value as Dict)['args'], big);
  });

  test('concurrent Python calls each get their own result', T, async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call({ method: 'echo', args: { i } })),
    );
    assert.deepEqual(
      results.map((r) => ((r.value as Dict | undefined)?.['args'] as Dict | undefined)?.['i']),
      Array.from({ length: 30 }, (_, i) => i),
    );
  });

  test('a TS server stopped mid-call still sends the reply', T, async () => {
    const stopTopic = scope.name('rpc_stop');
    scope.trackRpcTopic(stopTopic, ['ts_stop']);
    const transport = getRpcTransport(scope.conf(), { logger: quietLogger() });
    const stopping = getRpcServer(
      transport,
      { topic: stopTopic, server: 'ts_stop' },
      endpoints('ts_stop'),
      {
        executor: 'threading',
      },
    );
    scope.defer(async () => {
      await stopping.close();
      await transport.cleanup();
    });
    await stopping.start();
    const t = tag();
    const reply = call({
      method: 'slow',
      args: { seconds: 2, value: t },
      prepare: { topic: stopTopic, timeout: 30 },
    });
    await calls.waitFor((c) => c.server === 'ts_stop' && c.args['value'] === t);
    await stopping.stop();
    await stopping.wait();
    const r = await reply;
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.deepEqual(r.value, { slept: 2, value: t });
  });
});

test(
  'rpc interop: a Target exchange other than the control exchange works both ways',
  T,
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('rpc');
    const exchange = scope.name('custom_x');
    scope.trackRpcTopic(topic, ['py', 'ts']);
    scope.trackExchange(exchange);
    const pyServer = await scope.peer('rpc-server', [
      '--topic',
      topic,
      '--server',
      'py',
      '--target-exchange',
      exchange,
    ]);
    const pyClient = await scope.peer('rpc-client', [
      '--topic',
      topic,
      '--target-exchange',
      exchange,
    ]);
    const transport = getRpcTransport(scope.conf());
    scope.defer(() => transport.cleanup());
    const seen = new Inbox<Dict>('TS server');
    const server = getRpcServer(
      transport,
      { topic, server: 'ts', exchange },
      [
        {
          echo: (_ctxt: Dict, args: Dict) => ({ server: 'ts', args }),
          record: (_ctxt: Dict, args: Dict) => {
            seen.push(args);
          },
        },
      ],
      { executor: 'threading' },
    );
    scope.defer(() => server.close());
    await server.start();

    const client = getRpcClient(transport, { topic, exchange }, { timeout: 20_000 });
    assert.deepEqual(await client.prepare({ server: 'py' }).call(CTXT, 'echo', { x: 1 }), {
      server: 'py',
      args: { x: 1 },
      ctxt: { ...CTXT, client_timeout: null },
    });
    const r = await pyClient.request({
      op: 'call',
      method: 'echo',
      args: { x: 2 },
      ctxt: CTXT,
      prepare: { server: 'ts' },
    });
    assert.deepEqual(r.value, { server: 'ts', args: { x: 2 } });
    // Fanout ignores the exchange: it always goes to <topic>_fanout.
    await client.prepare({ fanout: true }).cast(CTXT, 'record', { fan: 'ts' });
    await pyClient.request({
      op: 'cast',
      method: 'record',
      args: { fan: 'py' },
      ctxt: CTXT,
      prepare: { fanout: true },
    });
    await seen.waitForCount((a) => a['fan'] === 'ts' || a['fan'] === 'py', 2);
    await pyServer.events.waitForCount(
      (e) =>
        e.event === 'dispatch' &&
        ['ts', 'py'].includes(String((e['args'] as Dict | undefined)?.['fan'])),
      2,
    );
  },
);
