import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';

import type { RequestContext } from '../../src/wire/messages.js';
import {
  ConfigurationError,
  InvalidRPCVersion,
  InvalidTarget,
  MessageUndeliverable,
  MessagingTimeout,
  RPCVersionCapError,
} from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { getRpcClient, type RPCClientOptions } from '../../src/rpc/client.js';
import { getRpcServer, type RPCServerOptions } from '../../src/rpc/server.js';
import type { Serializer } from '../../src/serializer.js';
import { Target, type TargetFields } from '../../src/target.js';
import { getRpcTransport, type Transport } from '../../src/transport.js';

function uniqueTopic(): string {
  return `rpc_client_${randomBytes(6).toString('hex')}`;
}

/** A transport, servers and clients on `fake://`, torn down in reverse order after the test. */
function fixture(t: TestContext, conf: Parameters<typeof getRpcTransport>[0] = 'fake://') {
  const teardown: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const step of teardown.reverse()) await step();
  });
  const transport = getRpcTransport(conf, { logger: silentLogger });
  teardown.push(() => transport.cleanup());
  const topic = uniqueTopic();
  return {
    transport,
    topic,
    /** Steps run after the test, last pushed first (so before servers close). */
    teardown,
    async serve(
      endpoints: object[],
      target: TargetFields = {},
      options: RPCServerOptions = {},
    ): Promise<void> {
      const server = getRpcServer(
        transport,
        { topic, server: 'server1', ...target },
        endpoints,
        options,
      );
      await server.start();
      teardown.push(() => server.close());
    },
    client(target: TargetFields = {}, options: RPCClientOptions = {}) {
      return getRpcClient(transport, { topic, ...target }, options);
    },
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('rpc client - call() resolves with the result, whatever JSON value it is', async (t) => {
  const f = fixture(t);
  await f.serve([{ echo: (_c: RequestContext, args: { v: unknown }) => args.v }]);
  const client = f.client();
  for (const v of [null, 0, false, [], {}, 'foo', { nested: [1, 'two', { three: 3 }] }, 1.5]) {
    assert.deepEqual(await client.call({}, 'echo', { v }), v);
  }
});

test('rpc client - a method returning nothing resolves with null', async (t) => {
  const f = fixture(t);
  await f.serve([{ nothing: () => undefined }]);
  assert.equal(await f.client().call({}, 'nothing'), null);
});

test('rpc client - call() sends its arguments and context; the endpoint also sees client_timeout', async (t) => {
  const f = fixture(t);
  let seen: { ctxt: RequestContext; args: unknown } | undefined;
  await f.serve([
    {
      look: (ctxt: RequestContext, args: unknown) => {
        seen = { ctxt, args };
        return 'ok';
      },
    },
  ]);
  await f.client().call({ user_id: 'u-1', roles: ['admin'] }, 'look', { a: 1, b: 'café ☃' });
  assert.deepEqual(seen?.args, { a: 1, b: 'café ☃' });
  assert.equal(seen?.ctxt['user_id'], 'u-1');
  assert.deepEqual(seen?.ctxt['roles'], ['admin']);
  assert.ok('client_timeout' in (seen?.ctxt ?? {}));
});

test('rpc client - cast() reaches a server and resolves without a result', async (t) => {
  const f = fixture(t);
  const got = deferred<unknown>();
  await f.serve([{ record: (_c: RequestContext, args: { x: number }) => got.resolve(args.x) }]);
  assert.equal(await f.client().cast({}, 'record', { x: 3 }), undefined);
  assert.equal(await got.promise, 3);
});

test('rpc client - concurrent calls each get their own reply', async (t) => {
  const f = fixture(t);
  await f.serve([
    {
      echo: async (_c: RequestContext, args: { i: number }) => {
        // Finish out of order: later requests reply first.
        await new Promise((r) => setTimeout(r, (20 - args.i) % 7));
        return args.i * 10;
      },
    },
  ]);
  const client = f.client();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => client.call({}, 'echo', { i })),
  );
  assert.deepEqual(
    results,
    Array.from({ length: 20 }, (_, i) => i * 10),
  );
});

test('rpc client - a call directed at a server reaches that server only', async (t) => {
  const f = fixture(t);
  await f.serve([{ whoami: () => 'server1' }], { server: 'server1' });
  await f.serve([{ whoami: () => 'server2' }], { server: 'server2' });
  const direct = f.client().prepare({ server: 'server2' });
  for (let i = 0; i < 6; i++) assert.equal(await direct.call({}, 'whoami'), 'server2');
  const other = f.client({ server: 'server1' });
  for (let i = 0; i < 6; i++) assert.equal(await other.call({}, 'whoami'), 'server1');
});

test('rpc client - calls on the topic are shared between its servers', async (t) => {
  const f = fixture(t);
  await f.serve([{ whoami: () => 'server1' }], { server: 'server1' });
  await f.serve([{ whoami: () => 'server2' }], { server: 'server2' });
  const client = f.client();
  const answers = new Set<unknown>();
  for (let i = 0; i < 10; i++) answers.add(await client.call({}, 'whoami'));
  assert.deepEqual([...answers].sort(), ['server1', 'server2']);
});

test('rpc client - a fanout cast reaches every server on the topic', async (t) => {
  const f = fixture(t);
  const names = ['server1', 'server2', 'server3'];
  const received = names.map(() => deferred<unknown>());
  for (const [i, name] of names.entries()) {
    await f.serve(
      [
        {
          hello: (_c: RequestContext, args: { x: number }) => received[i]!.resolve([name, args.x]),
        },
      ],
      {
        server: name,
      },
    );
  }
  await f.client({ fanout: true }).cast({}, 'hello', { x: 7 });
  assert.deepEqual(
    await Promise.all(received.map((d) => d.promise)),
    names.map((n) => [n, 7]),
  );
});

test('rpc client - a fanout call is refused locally with InvalidTarget', async (t) => {
  const f = fixture(t);
  let ran = false;
  await f.serve([{ m: () => (ran = true) }]);
  await assert.rejects(f.client({ fanout: true }).call({}, 'm'), (err: unknown) => {
    assert.ok(err instanceof InvalidTarget);
    assert.ok((err.target as Target).fanout);
    return true;
  });
  // A fanout target with the flag cleared calls normally.
  assert.equal(await f.client({ fanout: true }).prepare({ fanout: null }).call({}, 'm'), true);
  assert.equal(ran, true);
});

test('rpc client - call() and cast() without a topic reject with InvalidTarget', async (t) => {
  const f = fixture(t);
  const client = getRpcClient(f.transport, { exchange: 'x' });
  await assert.rejects(client.call({}, 'ping'), InvalidTarget);
  await assert.rejects(client.cast({}, 'ping'), InvalidTarget);
  await assert.rejects(f.client().prepare({ topic: null }).call({}, 'ping'), InvalidTarget);
});

test('rpc client - call() rejects with MessagingTimeout when no server listens', async (t) => {
  const f = fixture(t);
  await assert.rejects(f.client({}, { timeout: 50 }).call({}, 'ping'), MessagingTimeout);
  await assert.rejects(
    f.client().prepare({ server: 'nonexistent', timeout: 50 }).call({}, 'ping'),
    MessagingTimeout,
  );
});

test('rpc client - a per-call timeout overrides the client timeout', async (t) => {
  const f = fixture(t);
  const release = deferred();
  await f.serve([{ slow: () => release.promise }]);
  f.teardown.push(async () => release.resolve());
  await assert.rejects(f.client().call({}, 'slow', {}, { timeout: 30 }), MessagingTimeout);
  await assert.rejects(
    f.client({}, { timeout: 60_000 }).prepare({ timeout: 30 }).call({}, 'slow'),
    MessagingTimeout,
  );
});

test('rpc client - timeout defaults to rpc_response_timeout, in seconds', async (t) => {
  // rpc_response_timeout 0 s: the call can only time out.
  const f = fixture(t, { DEFAULT: { transport_url: 'fake://', rpc_response_timeout: 0 } });
  await f.serve([{ ping: () => new Promise((r) => setTimeout(r, 30)) }]);
  await assert.rejects(f.client().call({}, 'ping'), MessagingTimeout);
  assert.equal(await f.client({}, { timeout: 60_000 }).call({}, 'ping'), null);
});

test('rpc client - an aborted signal rejects the call with its reason, and nothing is sent', async (t) => {
  const f = fixture(t);
  const calls: string[] = [];
  await f.serve(
    [
      {
        m: (_c: RequestContext, args: { id: string }) => {
          calls.push(args.id);
          return args.id;
        },
      },
    ],
    {},
    { executor: 'blocking' },
  );
  const client = f.client();
  const reason = new Error('caller gave up');
  await assert.rejects(
    client.call({}, 'm', { id: 'aborted' }, { signal: AbortSignal.abort(reason) }),
    (err) => err === reason,
  );
  await assert.rejects(
    client.cast({}, 'm', { id: 'aborted-cast' }, { signal: AbortSignal.abort(reason) }),
    (err) => err === reason,
  );
  assert.equal(await client.call({}, 'm', { id: 'after' }), 'after');
  assert.deepEqual(calls, ['after']);
});

test('rpc client - aborting a call in flight rejects it with the reason', async (t) => {
  const f = fixture(t);
  const started = deferred();
  const release = deferred();
  await f.serve([
    {
      slow: async () => {
        started.resolve();
        await release.promise;
        return 'late';
      },
    },
  ]);
  f.teardown.push(async () => release.resolve());
  const controller = new AbortController();
  const call = f.client().call({}, 'slow', {}, { signal: controller.signal });
  await started.promise;
  const reason = new Error('stop waiting');
  controller.abort(reason);
  await assert.rejects(call, (err) => err === reason);
});

// -- prepare() ---------------------------------------------------------------------

test('rpc client - prepare() returns a new client with overrides; the original is unchanged', (t) => {
  const f = fixture(t);
  const base = f.client(
    { exchange: 'ex', namespace: 'ns', version: '1.2' },
    {
      timeout: 5000,
      versionCap: '1.5',
      retry: 3,
      callMonitorTimeout: 4000,
      transportOptions: { atLeastOnce: true },
    },
  );
  const prepared = base.prepare({
    server: 'h7',
    version: '1.3',
    namespace: null,
    timeout: null,
    retry: 0,
    versionCap: null,
    callMonitorTimeout: 2000,
    transportOptions: null,
  });
  assert.notEqual(prepared, base);
  assert.deepEqual(prepared.target.toJSON(), {
    exchange: 'ex',
    topic: f.topic,
    version: '1.3',
    server: 'h7',
  });
  assert.equal(prepared.timeout, undefined);
  assert.equal(prepared.retry, 0);
  assert.equal(prepared.versionCap, undefined);
  assert.equal(prepared.callMonitorTimeout, 2000);
  assert.deepEqual(prepared.transportOptions, {});
  assert.deepEqual(base.target.toJSON(), {
    exchange: 'ex',
    topic: f.topic,
    namespace: 'ns',
    version: '1.2',
  });
  assert.equal(base.timeout, 5000);
  assert.equal(base.retry, 3);
  assert.equal(base.versionCap, '1.5');
  assert.equal(base.callMonitorTimeout, 4000);
  assert.deepEqual(base.transportOptions, { atLeastOnce: true });
  // Nothing given, or undefined: everything inherited.
  const kept = base.prepare({ timeout: undefined, server: undefined, versionCap: undefined });
  assert.equal(kept.timeout, 5000);
  assert.equal(kept.versionCap, '1.5');
  assert.ok(kept.target.equals(base.target));
  const same = base.prepare();
  assert.ok(same.target.equals(base.target));
  assert.equal(same.timeout, 5000);
  assert.equal(same.serializer, base.serializer);
});

test('rpc client - prepare() with a namespace and version reaches the matching endpoint', async (t) => {
  const f = fixture(t);
  await f.serve([
    { which: () => 'default' },
    { target: new Target({ namespace: 'admin', version: '2.3' }), which: () => 'admin' },
  ]);
  const client = f.client();
  assert.equal(await client.call({}, 'which'), 'default');
  assert.equal(
    await client.prepare({ namespace: 'admin', version: '2.1' }).call({}, 'which'),
    'admin',
  );
});

// -- versions ------------------------------------------------------------------------

const NOT_SET = Symbol('not set');
type Maybe<T> = T | typeof NOT_SET;

// oslo's TestVersionCap scenarios, for call and cast:
// [name, cap, prepare() cap, target version, prepare() version, sent].
const capScenarios: [
  string,
  string | undefined,
  Maybe<string | null>,
  string | undefined,
  Maybe<string>,
  boolean,
][] = [
  ['all none', undefined, NOT_SET, undefined, NOT_SET, true],
  ['cap ok', '1.1', NOT_SET, '1.0', NOT_SET, true],
  ['cap override ok', '2.0', '1.1', '1.0', '1.0', true],
  ['cap override none ok', '1.1', null, '1.0', NOT_SET, true],
  ['cap minor fail', '1.0', NOT_SET, '1.1', NOT_SET, false],
  ['cap major fail', '2.0', NOT_SET, undefined, '1.0', false],
  ['no cap, version', undefined, NOT_SET, '1.0', NOT_SET, true],
  ['cap, no version', '1.0', NOT_SET, undefined, NOT_SET, false],
];

function capClient(
  f: ReturnType<typeof fixture>,
  cap: string | undefined,
  prepareCap: Maybe<string | null>,
  version: string | undefined,
  prepareVersion: Maybe<string>,
) {
  const client = f.client(version === undefined ? {} : { version }, { versionCap: cap });
  if (prepareCap === NOT_SET && prepareVersion === NOT_SET) return client;
  return client.prepare({
    ...(prepareCap !== NOT_SET && { versionCap: prepareCap }),
    ...(prepareVersion !== NOT_SET && { version: prepareVersion }),
  });
}

for (const [name, cap, prepareCap, version, prepareVersion, success] of capScenarios) {
  for (const kind of ['call', 'cast'] as const) {
    test(`rpc client - version cap, ${kind}: ${name}`, async (t) => {
      const f = fixture(t);
      let ran = 0;
      await f.serve([{ foo: () => ++ran }]);
      const client = capClient(f, cap, prepareCap, version, prepareVersion);
      const send = kind === 'call' ? client.call({}, 'foo') : client.cast({}, 'foo');
      if (success) {
        await send;
        if (kind === 'call') assert.equal(ran, 1);
      } else {
        await assert.rejects(send, RPCVersionCapError);
        assert.equal(ran, 0);
      }
    });
  }
}

// oslo's TestCanSendVersion scenarios:
// [name, cap, prepare() cap, target version, prepare() version, canSendVersion() argument, result].
const canSendScenarios: [
  string,
  string | undefined,
  Maybe<string | null>,
  string | undefined,
  Maybe<string>,
  Maybe<string | null>,
  boolean,
][] = [
  ['all none', undefined, NOT_SET, undefined, NOT_SET, NOT_SET, true],
  ['cap ok', '1.1', NOT_SET, '1.0', NOT_SET, NOT_SET, true],
  ['cap override ok', '2.0', '1.1', '1.0', '1.0', NOT_SET, true],
  ['cap override none ok', '1.1', null, '1.0', NOT_SET, NOT_SET, true],
  ['can send 1.1, cap cleared', '1.1', null, '1.0', NOT_SET, '1.1', true],
  ['can send no version, cap cleared', '1.1', null, '1.0', NOT_SET, null, true],
  ['cap minor fail', '1.0', NOT_SET, '1.1', NOT_SET, NOT_SET, false],
  ['cap major fail', '2.0', NOT_SET, undefined, '1.0', NOT_SET, false],
  ['no cap, version', undefined, NOT_SET, '1.0', NOT_SET, NOT_SET, true],
  ['cap, no version', '1.0', NOT_SET, undefined, NOT_SET, NOT_SET, false],
  ['cap, can send no version', '1.0', NOT_SET, '1.0', NOT_SET, null, false],
  ['cap 1.5, can send 1.4', '1.5', NOT_SET, '1.0', NOT_SET, '1.4', true],
  ['cap 1.5, can send 1.6', '1.5', NOT_SET, '1.0', NOT_SET, '1.6', false],
];

for (const [name, cap, prepareCap, version, prepareVersion, asked, canSend] of canSendScenarios) {
  test(`rpc client - canSendVersion(): ${name}`, (t) => {
    const client = capClient(fixture(t), cap, prepareCap, version, prepareVersion);
    if (asked === NOT_SET) {
      assert.equal(client.canSendVersion(), canSend);
    } else {
      assert.equal(client.canSendVersion(asked), canSend);
      assert.equal(client.prepare().canSendVersion(asked), canSend);
    }
  });
}

test('rpc client - a malformed version or version cap is refused with InvalidRPCVersion', (t) => {
  const f = fixture(t);
  const client = f.client();
  for (const version of ['5', '5.a', '5.5.a', 'x.1', '']) {
    assert.throws(
      () => client.prepare({ version }),
      (err) => err instanceof InvalidRPCVersion || err instanceof InvalidTarget,
      version,
    );
  }
  assert.throws(() => f.client({ version: '1' }), InvalidRPCVersion);
  assert.throws(() => f.client({}, { versionCap: '2' }), InvalidRPCVersion);
  assert.throws(() => client.prepare({ versionCap: 'a.b' }), InvalidRPCVersion);
  assert.doesNotThrow(() => client.prepare({ version: '5.5.1' }));
});

test('rpc client - bad durations and retry values are refused with ConfigurationError', (t) => {
  const f = fixture(t);
  assert.throws(() => f.client({}, { timeout: -1 }), ConfigurationError);
  assert.throws(() => f.client({}, { callMonitorTimeout: Number.NaN }), ConfigurationError);
  assert.throws(() => f.client({}, { retry: -2 }), ConfigurationError);
  assert.throws(() => f.client().prepare({ retry: 1.5 }), ConfigurationError);
  assert.doesNotThrow(() => f.client({}, { retry: -1, timeout: 0 }));
});

// -- serializer and transport options ----------------------------------------------------

/** oslo's test serializer: prefixes strings with `s` on the way out and `d` on the way in. */
function prefixSerializer(): Serializer<RequestContext> {
  const prefix = (p: string, value: unknown): unknown =>
    typeof value === 'string' && value !== '' ? p + value : value;
  const prefixValues = (p: string, ctxt: RequestContext): RequestContext =>
    Object.fromEntries(Object.entries(ctxt).map(([k, v]) => [k, prefix(p, v)]));
  return {
    serializeEntity: (_ctxt, entity) => prefix('s', entity),
    deserializeEntity: (_ctxt, entity) => prefix('d', entity),
    serializeContext: (ctxt) => prefixValues('s', ctxt),
    deserializeContext: (ctxt) => prefixValues('d', ctxt),
  };
}

test('rpc client - arguments, context and result go through the serializers on both sides', async (t) => {
  const f = fixture(t);
  await f.serve(
    [
      {
        ping: (_c: RequestContext, args: { arg: string }) => args.arg,
        ctxtCheck: (ctxt: RequestContext, args: { key: string }) => ctxt[args.key],
      },
    ],
    {},
    { serializer: prefixSerializer() },
  );
  const client = f.client({}, { serializer: prefixSerializer() });
  // Client serialises (s), server deserialises (d), server serialises (s), client deserialises (d).
  assert.equal(await client.call({}, 'ping', { arg: 'foo' }), 'dsdsfoo');
  assert.equal(await client.call({ dsa: 'b' }, 'ctxtCheck', { key: 'a' }), 'dsdsb');
});

test('rpc client - with atLeastOnce, a request nobody can take rejects with MessageUndeliverable', async (t) => {
  const f = fixture(t);
  const client = f.client({}, { transportOptions: { atLeastOnce: true } });
  await assert.rejects(client.cast({}, 'nobody'), MessageUndeliverable);
  await assert.rejects(client.call({}, 'nobody', {}, { timeout: 60_000 }), MessageUndeliverable);
  // Without it a cast to nowhere is silently dropped.
  await f.client().cast({}, 'nobody');
});

test('rpc client - a typed client calls like an untyped one', async (t) => {
  interface ComputeAPI {
    resize(args: { instance: string; flavor: number }): Promise<string>;
    ping(): Promise<string>;
  }
  const f = fixture(t);
  await f.serve([
    {
      resize: (_c: RequestContext, args: { instance: string; flavor: number }) =>
        `${args.instance}:${args.flavor}`,
      ping: () => 'pong',
    },
  ]);
  const client = getRpcClient<ComputeAPI>(f.transport, { topic: f.topic });
  const resized: string = await client.call({}, 'resize', { instance: 'vm1', flavor: 2 });
  assert.equal(resized, 'vm1:2');
  assert.equal(await client.call({}, 'ping'), 'pong');
  assert.equal(
    await client.prepare({ timeout: 10_000 }).call({}, 'ping', {}, { timeout: 5000 }),
    'pong',
  );
});

test('rpc client - a notification transport works for RPC but logs a warning', async (t) => {
  const { getNotificationTransport } = await import('../../src/transport.js');
  const warnings: string[] = [];
  const transport: Transport = getNotificationTransport('fake://', {
    logger: { ...silentLogger, warn: (m: string) => warnings.push(m) },
  });
  t.after(() => transport.cleanup());
  getRpcClient(transport, { topic: uniqueTopic() });
  assert.equal(warnings.length, 1);
});
