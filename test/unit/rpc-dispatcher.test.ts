import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RequestContext } from '../../src/wire/messages.js';
import { NoSuchMethod, UnsupportedVersion } from '../../src/errors.js';
import {
  DefaultRPCAccessPolicy,
  ExplicitRPCAccessPolicy,
  LegacyRPCAccessPolicy,
  expose,
  type RPCAccessPolicy,
  type RPCAccessPolicyClass,
} from '../../src/rpc/endpoint.js';
import { RPCDispatcher } from '../../src/rpc/dispatcher.js';
import type { Serializer } from '../../src/serializer.js';
import { Target, type TargetFields } from '../../src/target.js';

/** A request as the driver hands it over. */
function request(message: Record<string, unknown>, ctxt: RequestContext = {}) {
  return { ctxt, message };
}

/** An endpoint with foo, bar (exposed) and _foobar, recording every call. */
class RecordingEndpoint {
  readonly calls: { method: string; ctxt: unknown; args: unknown }[] = [];
  readonly target: Target | undefined;
  constructor(target?: TargetFields) {
    this.target = target === undefined ? undefined : new Target(target);
  }
  foo(ctxt: RequestContext, args: Record<string, unknown>): string {
    this.calls.push({ method: 'foo', ctxt, args });
    return 'foo';
  }
  bar(ctxt: RequestContext, args: Record<string, unknown>): string {
    this.calls.push({ method: 'bar', ctxt, args });
    return 'bar';
  }
  _foobar(ctxt: RequestContext, args: Record<string, unknown>): string {
    this.calls.push({ method: '_foobar', ctxt, args });
    return '_foobar';
  }
}
expose(RecordingEndpoint.prototype, 'bar');

type Outcome = [endpoint: number, method: string] | typeof NoSuchMethod | typeof UnsupportedVersion;
const L = LegacyRPCAccessPolicy;
const E = ExplicitRPCAccessPolicy;
const D = DefaultRPCAccessPolicy;

// oslo's test_dispatcher scenarios, carried over: endpoints (by target fields), the
// request, which endpoint method runs (or the error), and the access policy.
const scenarios: [
  string,
  (TargetFields | undefined)[],
  Record<string, unknown>,
  Outcome,
  RPCAccessPolicyClass?,
][] = [
  ['no endpoints', [], { method: 'foo' }, UnsupportedVersion],
  ['default target', [undefined], { method: 'foo' }, [0, 'foo']],
  ['default target with args', [undefined], { method: 'bar', args: { blaa: true } }, [0, 'bar'], L],
  ['default target, null namespace', [{}], { method: 'foo', namespace: null }, [0, 'foo'], L],
  ['default target, version 1.0', [{}], { method: 'foo', version: '1.0' }, [0, 'foo'], D],
  ['default target, no such method', [{}], { method: 'foobar' }, NoSuchMethod],
  ['namespace', [{}, { namespace: 'testns' }], { method: 'foo', namespace: 'testns' }, [1, 'foo']],
  [
    'namespace mismatch',
    [{}, { namespace: 'testns' }],
    { method: 'foo', namespace: 'nstest' },
    UnsupportedVersion,
  ],
  [
    'version',
    [{ version: '1.5' }, { version: '3.4' }],
    { method: 'foo', version: '3.2' },
    [1, 'foo'],
  ],
  [
    'version mismatch',
    [{ version: '1.5' }, { version: '3.0' }],
    { method: 'foo', version: '3.2' },
    UnsupportedVersion,
  ],
  [
    'null namespace, legacyNamespaces [null]',
    [{ namespace: 'testns', legacyNamespaces: [null] }],
    { method: 'foo', namespace: null },
    [0, 'foo'],
  ],
  [
    'a legacy namespace',
    [{ namespace: 'testns', legacyNamespaces: ['second', null] }],
    { method: 'foo', namespace: 'second' },
    [0, 'foo'],
  ],
  [
    'wrong namespace, legacyNamespaces',
    [{ namespace: 'testns', legacyNamespaces: ['second', null] }],
    { method: 'foo', namespace: 'wrong' },
    UnsupportedVersion,
  ],
  [
    'default policy refuses a private method',
    [{ namespace: 'ns' }],
    { method: '_foobar', namespace: 'ns' },
    NoSuchMethod,
    D,
  ],
  [
    'legacy policy allows a private method',
    [{ namespace: 'ns' }],
    { method: '_foobar', namespace: 'ns' },
    [0, '_foobar'],
    L,
  ],
  [
    'explicit policy refuses a method not exposed',
    [{ namespace: 'ns' }],
    { method: 'foo', namespace: 'ns' },
    NoSuchMethod,
    E,
  ],
  [
    'explicit policy allows an exposed method',
    [{ namespace: 'ns' }],
    { method: 'bar', namespace: 'ns' },
    [0, 'bar'],
    E,
  ],
  ['the first endpoint that matches runs', [{}, {}], { method: 'bar' }, [0, 'bar'], E],
];

for (const [name, targets, msg, outcome, policy] of scenarios) {
  test(`rpc dispatcher - ${name}`, async () => {
    const endpoints = targets.map((t) => new RecordingEndpoint(t));
    const dispatcher = new RPCDispatcher(endpoints, { accessPolicy: policy });
    const ctxt = { user: 'bob' };
    if (!Array.isArray(outcome)) {
      const error = await dispatcher.dispatch(request(msg, ctxt)).then(
        () => assert.fail('dispatch should have failed'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof outcome, String(error));
      if (error instanceof NoSuchMethod) assert.equal(error.method, msg['method']);
      if (error instanceof UnsupportedVersion) {
        assert.equal(error.version, msg['version'] ?? '1.0');
        assert.equal(error.method, msg['method']);
      }
    } else {
      assert.equal(await dispatcher.dispatch(request(msg, ctxt)), outcome[1]);
    }
    endpoints.forEach((endpoint, n) => {
      const expected =
        Array.isArray(outcome) && outcome[0] === n
          ? [{ method: outcome[1], ctxt, args: msg['args'] ?? {} }]
          : [];
      assert.deepEqual(endpoint.calls, expected, `endpoint ${n}`);
    });
  });
}

test('rpc dispatcher - an endpoint without the method, or refusing it, passes to the next one', async () => {
  const dispatcher = new RPCDispatcher([
    { other: () => 'first' },
    { m: 'not a method' },
    { _m: () => 'private' },
    { m: () => 'fourth', _m: () => 'private' },
  ]);
  assert.equal(await dispatcher.dispatch(request({ method: 'm' })), 'fourth');
  await assert.rejects(dispatcher.dispatch(request({ method: '_m' })), NoSuchMethod);
});

// Spec §4.7: a default endpoint plus one with namespace owire_ns at version 1.3.
const versioning: [string, Record<string, unknown>, unknown][] = [
  ['no namespace, no version, echo', { method: 'echo', args: { v: 1 } }, 1],
  ['no namespace, version 1.1, echo', { method: 'echo', version: '1.1' }, UnsupportedVersion],
  ['owire_ns, 1.2, nsmethod', { method: 'nsmethod', namespace: 'owire_ns', version: '1.2' }, 42],
  ['owire_ns, no version, nsmethod', { method: 'nsmethod', namespace: 'owire_ns' }, 42],
  [
    'owire_ns, 1.3.1',
    { method: 'nsmethod', namespace: 'owire_ns', version: '1.3.1' },
    UnsupportedVersion,
  ],
  [
    'owire_ns, 1.4',
    { method: 'nsmethod', namespace: 'owire_ns', version: '1.4' },
    UnsupportedVersion,
  ],
  [
    'owire_ns, 2.0',
    { method: 'nsmethod', namespace: 'owire_ns', version: '2.0' },
    UnsupportedVersion,
  ],
  ['other_ns, echo', { method: 'echo', namespace: 'other_ns' }, UnsupportedVersion],
  ['no namespace, nope', { method: 'nope' }, NoSuchMethod],
  [
    'owire_ns, echo (method of the other endpoint)',
    { method: 'echo', namespace: 'owire_ns' },
    NoSuchMethod,
  ],
];

for (const [name, message, expected] of versioning) {
  test(`rpc dispatcher - versions and namespaces: ${name}`, async () => {
    const dispatcher = new RPCDispatcher([
      { echo: (_c: RequestContext, args: { v?: number }) => args.v },
      {
        target: new Target({ namespace: 'owire_ns', version: '1.3' }),
        nsmethod: () => 42,
      },
    ]);
    const outcome = dispatcher.dispatch(request(message));
    if (typeof expected === 'function') {
      await assert.rejects(outcome, expected as typeof Error);
    } else {
      assert.equal(await outcome, expected);
    }
  });
}

test('rpc dispatcher - UnsupportedVersion names the version and method as oslo does', async () => {
  const dispatcher = new RPCDispatcher([{ echo: () => 1 }]);
  await assert.rejects(dispatcher.dispatch(request({ method: 'echo', version: '1.1' })), {
    name: 'UnsupportedVersion',
    message: 'Endpoint does not support RPC version 1.1. Attempted method: echo',
  });
  await assert.rejects(dispatcher.dispatch(request({ method: 'nope' })), {
    name: 'NoSuchMethod',
    message: 'Endpoint does not support RPC method nope',
  });
});

test('rpc dispatcher - an endpoint target given as plain fields', async () => {
  const dispatcher = new RPCDispatcher([
    { target: { namespace: 'ns', version: '2.1' }, m: () => 'ok' },
  ]);
  assert.equal(
    await dispatcher.dispatch(request({ method: 'm', namespace: 'ns', version: '2.0' })),
    'ok',
  );
  await assert.rejects(dispatcher.dispatch(request({ method: 'm' })), UnsupportedVersion);
});

test('rpc dispatcher - refuses an endpoint whose target is a method, or a non-object endpoint', () => {
  assert.throws(() => new RPCDispatcher([{ target: () => 'x' }]), TypeError);
  assert.throws(() => new RPCDispatcher([null as unknown as object]), TypeError);
  assert.throws(() => new RPCDispatcher([{ target: { version: '' } }]), /version/);
});

// -- access policy -------------------------------------------------------------------

const probes = [
  ...Object.getOwnPropertyNames(Object.prototype),
  '_private',
  'constructor',
  'target',
];
const policies: [string, RPCAccessPolicy][] = [
  ['DefaultRPCAccessPolicy', new DefaultRPCAccessPolicy()],
  ['LegacyRPCAccessPolicy', new LegacyRPCAccessPolicy()],
  ['ExplicitRPCAccessPolicy', new ExplicitRPCAccessPolicy()],
];

for (const [policyName, policy] of policies) {
  test(`rpc dispatcher - ${policyName}: Object.prototype members, _private, constructor and target are never invoked`, async () => {
    let ran = 0;
    class Endpoint {
      readonly target = new Target();
      public_method(): string {
        ran++;
        return 'ok';
      }
      _private(): void {
        ran++;
      }
    }
    const endpoint = new Endpoint();
    const ownBefore = Object.getOwnPropertyNames(endpoint);
    const dispatcher = new RPCDispatcher([endpoint], { accessPolicy: policy });
    for (const method of probes) {
      if (policyName === 'LegacyRPCAccessPolicy' && method === '_private') continue;
      await assert.rejects(
        dispatcher.dispatch(request({ method, args: { a: 1 } })),
        (err: unknown) => err instanceof NoSuchMethod && err.method === method,
        `method ${method}`,
      );
    }
    assert.equal(ran, 0);
    assert.deepEqual(Object.getOwnPropertyNames(endpoint), ownBefore);
    assert.equal(Object.getPrototypeOf(endpoint), Endpoint.prototype);
  });
}

test('rpc dispatcher - Object.prototype names stay refused even when the endpoint defines them', async () => {
  const called: string[] = [];
  const endpoint: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    Object.defineProperty(endpoint, name, {
      value: () => called.push(name),
      enumerable: true,
    });
  }
  for (const policy of [LegacyRPCAccessPolicy, ExplicitRPCAccessPolicy, DefaultRPCAccessPolicy]) {
    const dispatcher = new RPCDispatcher([endpoint], { accessPolicy: policy });
    for (const method of Object.getOwnPropertyNames(Object.prototype)) {
      await assert.rejects(dispatcher.dispatch(request({ method })), NoSuchMethod);
    }
  }
  assert.deepEqual(called, []);
});

test('rpc dispatcher - methods inherited from user classes are allowed', async () => {
  class Base {
    inherited(): string {
      return 'from base';
    }
  }
  class Endpoint extends Base {
    own(): string {
      return 'own';
    }
  }
  const dispatcher = new RPCDispatcher([new Endpoint()]);
  assert.equal(await dispatcher.dispatch(request({ method: 'inherited' })), 'from base');
  assert.equal(await dispatcher.dispatch(request({ method: 'own' })), 'own');
});

test('rpc dispatcher - a non-function property or a getter is not a method, and the getter never runs', async () => {
  let getterRan = false;
  const endpoint = {
    answer: 42,
    nothing: null,
    get sneaky() {
      getterRan = true;
      return () => 'sneaked';
    },
  };
  const dispatcher = new RPCDispatcher([endpoint], { accessPolicy: LegacyRPCAccessPolicy });
  for (const method of ['answer', 'nothing', 'sneaky']) {
    await assert.rejects(dispatcher.dispatch(request({ method })), NoSuchMethod);
  }
  assert.equal(getterRan, false);
});

test('rpc dispatcher - Function.prototype members of a function endpoint are refused', async () => {
  const endpoint = Object.assign(() => 'fn', { ok: () => 'ok' });
  const dispatcher = new RPCDispatcher([endpoint], { accessPolicy: LegacyRPCAccessPolicy });
  for (const method of ['call', 'apply', 'bind', 'toString']) {
    await assert.rejects(dispatcher.dispatch(request({ method })), NoSuchMethod);
  }
  assert.equal(await dispatcher.dispatch(request({ method: 'ok' })), 'ok');
});

test('rpc dispatcher - a request with a non-string method is NoSuchMethod', async () => {
  const dispatcher = new RPCDispatcher([{ foo: () => 1 }]);
  await assert.rejects(dispatcher.dispatch(request({ method: 7 })), NoSuchMethod);
  await assert.rejects(dispatcher.dispatch(request({})), NoSuchMethod);
});

test('rpc dispatcher - a custom access policy is consulted with the endpoint and name', async () => {
  const asked: string[] = [];
  const policy: RPCAccessPolicy = {
    isAllowed: (_endpoint, method) => {
      asked.push(method);
      return method.startsWith('allowed');
    },
  };
  const dispatcher = new RPCDispatcher([{ allowedOne: () => 1, refused: () => 2 }], {
    accessPolicy: policy,
  });
  assert.equal(await dispatcher.dispatch(request({ method: 'allowedOne' })), 1);
  await assert.rejects(dispatcher.dispatch(request({ method: 'refused' })), NoSuchMethod);
  // Never asked about names that can't be methods.
  await assert.rejects(dispatcher.dispatch(request({ method: 'constructor' })), NoSuchMethod);
  assert.deepEqual(asked, ['allowedOne', 'refused']);
});

test('rpc dispatcher - refuses an access policy that is neither a policy nor a class', () => {
  assert.throws(
    () => new RPCDispatcher([], { accessPolicy: 'explicit' as unknown as RPCAccessPolicy }),
    TypeError,
  );
});

// -- expose ----------------------------------------------------------------------------

test('expose - the wrapper and decorator forms mark methods for ExplicitRPCAccessPolicy', async () => {
  class Decorated {
    @expose
    shown(): string {
      return 'shown';
    }
    hidden(): string {
      return 'hidden';
    }
  }
  const literal = {
    wrapped: expose(() => 'wrapped'),
    plain: () => 'plain',
  };
  const dispatcher = new RPCDispatcher([new Decorated(), literal], {
    accessPolicy: ExplicitRPCAccessPolicy,
  });
  assert.equal(await dispatcher.dispatch(request({ method: 'shown' })), 'shown');
  assert.equal(await dispatcher.dispatch(request({ method: 'wrapped' })), 'wrapped');
  await assert.rejects(dispatcher.dispatch(request({ method: 'hidden' })), NoSuchMethod);
  await assert.rejects(dispatcher.dispatch(request({ method: 'plain' })), NoSuchMethod);
});

test('expose - an override in a subclass is not exposed unless marked', async () => {
  class Base {
    m(): string {
      return 'base';
    }
  }
  expose(Base.prototype, 'm');
  class Sub extends Base {
    override m(): string {
      return 'sub';
    }
  }
  const policy = new ExplicitRPCAccessPolicy();
  assert.equal(policy.isAllowed(new Base(), 'm'), true);
  assert.equal(policy.isAllowed(new Sub(), 'm'), false);
});

test('expose - refuses names that are not methods', () => {
  const endpoint = { value: 1, m: () => 1 };
  assert.throws(() => expose(endpoint, 'value' as 'm'), TypeError);
  assert.throws(() => expose(endpoint, 'toString' as 'm'), TypeError);
  assert.throws(() => expose(endpoint as unknown as () => void), TypeError);
});

// -- serializer, arguments, ping ---------------------------------------------------------

test('rpc dispatcher - the serializer restores context and each argument, and serialises the result', async () => {
  const seen: unknown[] = [];
  const serializer: Serializer = {
    serializeEntity: (_ctxt, entity) => `s${String(entity)}`,
    deserializeEntity: (_ctxt, entity) => `d${String(entity)}`,
    serializeContext: (ctxt) => ctxt as RequestContext,
    deserializeContext: (ctxt) => ({ ...ctxt, restored: true }),
  };
  const dispatcher = new RPCDispatcher(
    [
      {
        foo: (ctxt: RequestContext, args: Record<string, unknown>) => {
          seen.push(ctxt, args);
          return 'r';
        },
      },
    ],
    { serializer },
  );
  const result = await dispatcher.dispatch(
    request({ method: 'foo', args: { a: 'a', b: 'b' } }, { user: 'bob' }),
  );
  assert.equal(result, 'sr');
  assert.deepEqual(seen, [
    { user: 'bob', restored: true },
    { a: 'da', b: 'db' },
  ]);
});

test('rpc dispatcher - an argument named __proto__ stays an ordinary argument', async () => {
  let received: Record<string, unknown> = {};
  const dispatcher = new RPCDispatcher([
    {
      foo: (_c: RequestContext, args: Record<string, unknown>) => {
        received = args;
      },
    },
  ]);
  const message = JSON.parse(
    '{"method":"foo","args":{"__proto__":{"polluted":true},"x":1}}',
  ) as Record<string, unknown>;
  await dispatcher.dispatch(request(message));
  assert.equal(Object.getPrototypeOf(received), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(received, '__proto__')?.value, {
    polluted: true,
  });
  assert.equal((received as { polluted?: unknown }).polluted, undefined);
});

test('rpc dispatcher - args that are not an object are refused before the method runs', async () => {
  let ran = false;
  const dispatcher = new RPCDispatcher([{ foo: () => (ran = true) }]);
  await assert.rejects(dispatcher.dispatch(request({ method: 'foo', args: [1, 2] })), TypeError);
  await assert.rejects(dispatcher.dispatch(request({ method: 'foo', args: 'x' })), TypeError);
  assert.equal(ran, false);
});

test('rpc dispatcher - ping answers pong when enabled, and only then', async () => {
  const enabled = new RPCDispatcher([], { pingEnabled: true });
  assert.equal(await enabled.dispatch(request({ method: 'oslo_rpc_server_ping' })), 'pong');
  const explicit = new RPCDispatcher([], {
    pingEnabled: true,
    accessPolicy: ExplicitRPCAccessPolicy,
  });
  assert.equal(await explicit.dispatch(request({ method: 'oslo_rpc_server_ping' })), 'pong');
  // Namespace none, version 1.0.
  await assert.rejects(
    enabled.dispatch(request({ method: 'oslo_rpc_server_ping', version: '1.1' })),
    UnsupportedVersion,
  );
  const disabled = new RPCDispatcher([]);
  await assert.rejects(
    disabled.dispatch(request({ method: 'oslo_rpc_server_ping' })),
    UnsupportedVersion,
  );
});

test('rpc dispatcher - an endpoint that defines oslo_rpc_server_ping answers instead', async () => {
  const warnings: string[] = [];
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (m: string) => warnings.push(m),
    error: () => undefined,
  };
  const dispatcher = new RPCDispatcher([{ oslo_rpc_server_ping: () => 'not_pong' }], {
    pingEnabled: true,
    logger,
  });
  assert.equal(await dispatcher.dispatch(request({ method: 'oslo_rpc_server_ping' })), 'not_pong');
  assert.equal(dispatcher.endpoints.length, 1);
  assert.ok(warnings.length > 0);
});

// -- call-monitor heartbeats ---------------------------------------------------------------

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('rpc dispatcher - sends heartbeats while a method runs and none after it returns', async () => {
  let heartbeats = 0;
  const twoBeats = deferred();
  const dispatcher = new RPCDispatcher([
    {
      slow: async () => {
        await twoBeats.promise;
        return 'done';
      },
    },
  ]);
  const incoming = {
    ...request({ method: 'slow' }),
    callMonitorTimeoutMs: 20,
    heartbeat: () => {
      heartbeats++;
      if (heartbeats === 2) twoBeats.resolve();
      return Promise.resolve();
    },
  };
  assert.equal(await dispatcher.dispatch(incoming), 'done');
  const atReturn = heartbeats;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(heartbeats, atReturn);
});

test('rpc dispatcher - no heartbeats without a call-monitor timeout', async () => {
  let heartbeats = 0;
  const dispatcher = new RPCDispatcher([{ slow: () => new Promise((r) => setTimeout(r, 30)) }]);
  await dispatcher.dispatch({
    ...request({ method: 'slow' }),
    callMonitorTimeoutMs: undefined,
    heartbeat: () => {
      heartbeats++;
      return Promise.resolve();
    },
  });
  assert.equal(heartbeats, 0);
});

test('rpc dispatcher - a failed heartbeat ends the watchdog and the method still completes', async () => {
  let heartbeats = 0;
  const firstBeat = deferred();
  const dispatcher = new RPCDispatcher([
    {
      slow: async () => {
        await firstBeat.promise;
        await new Promise((r) => setTimeout(r, 60));
        return true;
      },
    },
  ]);
  const result = await dispatcher.dispatch({
    ...request({ method: 'slow' }),
    callMonitorTimeoutMs: 10,
    heartbeat: () => {
      heartbeats++;
      firstBeat.resolve();
      return Promise.reject(new Error('BOOM!'));
    },
  });
  assert.equal(result, true);
  assert.equal(heartbeats, 1);
});

test('rpc dispatcher - heartbeats stop when the method throws', async () => {
  let heartbeats = 0;
  const firstBeat = deferred();
  const dispatcher = new RPCDispatcher([
    {
      failing: async () => {
        await firstBeat.promise;
        throw new Error('failed');
      },
    },
  ]);
  await assert.rejects(
    dispatcher.dispatch({
      ...request({ method: 'failing' }),
      callMonitorTimeoutMs: 10,
      heartbeat: () => {
        heartbeats++;
        firstBeat.resolve();
        return Promise.resolve();
      },
    }),
    /failed/,
  );
  const atFailure = heartbeats;
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(heartbeats, atFailure);
});
