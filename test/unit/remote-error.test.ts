import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pyDumps } from '../../src/wire/pyjson.js';
import {
  DEFAULT_REMOTE_MODULE,
  deserializeRemoteError,
  parseFailure,
  serializeRemoteError,
  type FailureInfo,
  type RemoteExceptionRegistry,
} from '../../src/wire/remote-error.js';
import {
  ExpectedException,
  MessagingTimeout,
  NoSuchMethod,
  RemoteError,
  UnsupportedVersion,
} from '../../src/errors.js';

function failureOf(err: unknown): FailureInfo {
  const text = serializeRemoteError(err);
  const info = JSON.parse(text) as FailureInfo;
  // Written as Python's json.dumps writes it, keys in oslo's order.
  assert.equal(text, pyDumps(info));
  assert.deepEqual(Object.keys(info), ['class', 'module', 'message', 'tb', 'args', 'kwargs']);
  for (const line of info.tb) assert.ok(line.endsWith('\n'), `tb line ${JSON.stringify(line)}`);
  return info;
}

class NovaError extends Error {
  static readonly module = 'nova.exception';
}
class InstanceNotFound extends NovaError {
  readonly kwargs: Record<string, unknown>;
  constructor(message: string, kwargs: Record<string, unknown> = {}) {
    super(message);
    this.name = 'SomethingElse';
    this.kwargs = kwargs;
  }
}
class PlainUserError extends Error {}
class WithOwnModule extends Error {
  readonly module = 'cinder.exception';
}
class Rebuilt_Remote extends Error {
  static readonly module = 'owire_exc_Remote';
}

// [description, error, class, module]
const classes: [string, unknown, string, string][] = [
  ["JavaScript's Error", new Error('x'), 'Error', 'builtins'],
  ['a TypeError', new TypeError('x'), 'TypeError', 'builtins'],
  ['a RangeError', new RangeError('x'), 'RangeError', 'builtins'],
  ['NoSuchMethod', new NoSuchMethod('nope'), 'NoSuchMethod', 'oslo_messaging.rpc.dispatcher'],
  [
    'UnsupportedVersion',
    new UnsupportedVersion('1.1', 'echo'),
    'UnsupportedVersion',
    'oslo_messaging.rpc.dispatcher',
  ],
  [
    'MessagingTimeout',
    new MessagingTimeout('late'),
    'MessagingTimeout',
    'oslo_messaging.exceptions',
  ],
  ['a class with a static module', new NovaError('x'), 'NovaError', 'nova.exception'],
  [
    'a subclass inheriting the static module, named by constructor',
    new InstanceNotFound('x'),
    'InstanceNotFound',
    'nova.exception',
  ],
  [
    'an error with its own module property',
    new WithOwnModule('x'),
    'WithOwnModule',
    'cinder.exception',
  ],
  ['a user class without module', new PlainUserError('x'), 'PlainUserError', DEFAULT_REMOTE_MODULE],
  [
    'a subclass of a library error',
    new (class MyTimeout extends MessagingTimeout {})('x'),
    'MyTimeout',
    DEFAULT_REMOTE_MODULE,
  ],
  ['a rebuilt remote class (_Remote stripped)', new Rebuilt_Remote('x'), 'Rebuilt', 'owire_exc'],
];

for (const [name, err, cls, module] of classes) {
  test(`serializeRemoteError - sends ${name} as ${module}.${cls}`, () => {
    const info = failureOf(err);
    assert.equal(info.class, cls);
    assert.equal(info.module, module);
  });
}

test('serializeRemoteError - NoSuchMethod looks like the Python failure', () => {
  const info = failureOf(new NoSuchMethod('nope'));
  assert.equal(info.message, 'Endpoint does not support RPC method nope');
  assert.deepEqual(info.args, ['Endpoint does not support RPC method nope']);
  assert.deepEqual(info.kwargs, {});
  assert.equal(
    info.tb.at(-1),
    'oslo_messaging.rpc.dispatcher.NoSuchMethod: Endpoint does not support RPC method nope\n',
  );
  assert.ok(info.tb.length > 1, 'stack frames precede the last line');
  assert.match(info.tb[0]!, /^ {4}at /);
});

test('serializeRemoteError - the last tb line of a builtin has no module prefix', () => {
  assert.equal(failureOf(new TypeError('bad')).tb.at(-1), 'TypeError: bad\n');
  assert.equal(failureOf(new Error('')).tb.at(-1), 'Error\n');
});

test('serializeRemoteError - a multi-line message is not repeated in the frames', () => {
  const info = failureOf(new Error('line one\nline two'));
  assert.ok(info.tb.slice(0, -1).every((line) => line.startsWith('    at ')));
  assert.equal(info.tb.at(-1), 'Error: line one\nline two\n');
});

test('serializeRemoteError - uses args and kwargs properties when present', () => {
  const info = failureOf(
    new InstanceNotFound('Instance i-1 could not be found.', { instance_id: 'i-1' }),
  );
  assert.deepEqual(info.kwargs, { instance_id: 'i-1' });
  assert.deepEqual(info.args, ['Instance i-1 could not be found.']);
  const withArgs = Object.assign(new Error('bad value'), { args: ['bad value', 42] });
  assert.deepEqual(failureOf(withArgs).args, ['bad value', 42]);
});

test('serializeRemoteError - converts non-JSON args with to_primitive, drops unserialisable ones', () => {
  const dated = Object.assign(new Error('x'), { kwargs: { at: new Date(Date.UTC(2024, 0, 1)) } });
  assert.deepEqual(failureOf(dated).kwargs, { at: '2024-01-01T00:00:00.000000' });
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  const bad = Object.assign(new Error('msg'), { args: [() => 1], kwargs: circular });
  const info = failureOf(bad);
  assert.deepEqual(info.args, ['msg']);
  assert.deepEqual(info.kwargs, {});
});

const thrown: [string, unknown, string][] = [
  ['a string', 'plain failure', 'plain failure'],
  ['an object', { code: 7 }, '{"code": 7}'],
  ['undefined', undefined, 'undefined'],
  ['null', null, 'null'],
];

for (const [name, value, message] of thrown) {
  test(`serializeRemoteError - sends a thrown ${name} as builtins.Error`, () => {
    const info = failureOf(value);
    assert.equal(info.class, 'Error');
    assert.equal(info.module, 'builtins');
    assert.equal(info.message, message);
    assert.deepEqual(info.args, [message]);
    assert.deepEqual(info.tb, [`Error: ${message}\n`]);
  });
}

test('serializeRemoteError - a RemoteError is forwarded as the original remote exception', () => {
  const remote = new RemoteError({
    excType: 'OwireError',
    module: 'owire_exc',
    value: 'owire failed',
    traceback: ['Traceback (most recent call last):\n', 'owire_exc.OwireError: owire failed\n'],
    args: ['owire failed'],
    kwargs: { code: 409 },
  });
  const info = failureOf(remote);
  assert.equal(info.class, 'OwireError');
  assert.equal(info.module, 'owire_exc');
  assert.equal(info.message, 'owire failed');
  assert.deepEqual(info.args, ['owire failed']);
  assert.deepEqual(info.kwargs, { code: 409 });
  assert.equal(info.tb[0], 'Traceback (most recent call last):\n');
  assert.equal(info.tb.at(-1), 'owire_exc.OwireError: owire failed\n');
});

test('serializeRemoteError - an ExpectedException is sent as its cause', () => {
  const info = failureOf(new ExpectedException(new TypeError('expected')));
  assert.equal(info.class, 'TypeError');
  assert.equal(info.message, 'expected');
});

// Failure strings exactly as Python servers sent them (captures/raw-rpc-client.jsonl).
const PY_VALUE_ERROR = String.raw`{"class": "ValueError", "module": "builtins", "message": "('bad value', 42)", "tb": ["Traceback (most recent call last):\n", "  File \"scripts/rpc_server.py\", line 50, in boom\n    raise ValueError('bad value', 42)\n", "ValueError: ('bad value', 42)\n"], "args": ["bad value", 42], "kwargs": {}}`;
const PY_OWIRE_ERROR = String.raw`{"class": "OwireError", "module": "owire_exc", "message": "owire failed: {'code': 409, 'reason': 'conflict'}", "tb": ["Traceback (most recent call last):\n", "owire_exc.OwireError: owire failed: {'code': 409, 'reason': 'conflict'}\n"], "args": ["owire failed: {'code': 409, 'reason': 'conflict'}"], "kwargs": {"code": 409, "reason": "conflict"}}`;

class OwireError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OwireError';
  }
}
const registry: RemoteExceptionRegistry = { owire_exc: { OwireError } };

test('deserializeRemoteError - a builtins failure becomes a RemoteError with every field', () => {
  const err = deserializeRemoteError(PY_VALUE_ERROR, { allowedRemoteExmods: [] });
  assert.ok(err instanceof RemoteError);
  assert.equal(err.excType, 'ValueError');
  assert.equal(err.module, 'builtins');
  assert.equal(err.value, "('bad value', 42)");
  assert.deepEqual(err.args, ['bad value', 42]);
  assert.deepEqual(err.kwargs, {});
  assert.equal(err.traceback.length, 3);
  assert.equal(err.traceback[2], "ValueError: ('bad value', 42)\n");
});

test('deserializeRemoteError - an allowed and registered class is rebuilt with args, kwargs and the remote traceback', () => {
  const err = deserializeRemoteError(PY_OWIRE_ERROR, {
    allowedRemoteExmods: ['owire_exc'],
    remoteExceptions: registry,
  });
  assert.ok(err instanceof OwireError);
  assert.equal(err.message, "owire failed: {'code': 409, 'reason': 'conflict'}");
  assert.deepEqual(err.details, { code: 409, reason: 'conflict' });
  const extra = err as unknown as { args: unknown[]; kwargs: unknown; remoteTraceback: string[] };
  assert.deepEqual(extra.args, ["owire failed: {'code': 409, 'reason': 'conflict'}"]);
  assert.deepEqual(extra.kwargs, { code: 409, reason: 'conflict' });
  assert.equal(extra.remoteTraceback.length, 2);
});

test('deserializeRemoteError - a static fromRemote is preferred to the constructor', () => {
  class Coded extends Error {
    constructor(readonly code: number) {
      super(`code ${code}`);
    }
    static fromRemote(info: FailureInfo): Coded {
      return new Coded(info.kwargs['code'] as number);
    }
  }
  const err = deserializeRemoteError(PY_OWIRE_ERROR, {
    allowedRemoteExmods: ['owire_exc'],
    remoteExceptions: { owire_exc: { OwireError: Coded } },
  });
  assert.ok(err instanceof Coded);
  assert.equal(err.code, 409);
});

const notRebuilt: [string, string, readonly string[], RemoteExceptionRegistry | undefined][] = [
  ['the module is not allowed', PY_OWIRE_ERROR, [], registry],
  ['no class is registered', PY_OWIRE_ERROR, ['owire_exc'], {}],
  ['no registry is given', PY_OWIRE_ERROR, ['owire_exc'], undefined],
  [
    'builtins is not allowed explicitly',
    PY_VALUE_ERROR,
    [],
    { builtins: { ValueError: RangeError } },
  ],
  [
    'the constructor throws',
    PY_OWIRE_ERROR,
    ['owire_exc'],
    {
      owire_exc: {
        OwireError: class extends Error {
          constructor() {
            super();
            throw new Error('refused');
          }
        },
      },
    },
  ],
  [
    'fromRemote returns a non-Error',
    PY_OWIRE_ERROR,
    ['owire_exc'],
    { owire_exc: { OwireError: { fromRemote: () => ({ not: 'an error' }) as unknown as Error } } },
  ],
];

for (const [name, failure, allowed, remoteExceptions] of notRebuilt) {
  test(`deserializeRemoteError - gives a RemoteError when ${name}`, () => {
    const err = deserializeRemoteError(failure, { allowedRemoteExmods: allowed, remoteExceptions });
    assert.ok(err instanceof RemoteError);
    assert.equal(err.excType, (JSON.parse(failure) as FailureInfo).class);
  });
}

test('deserializeRemoteError - treats module exceptions as builtins', () => {
  const failure = pyDumps({
    class: 'ValueError',
    module: 'exceptions',
    message: 'm',
    tb: [],
    args: ['m'],
    kwargs: {},
  });
  const err = deserializeRemoteError(failure, {
    allowedRemoteExmods: ['builtins'],
    remoteExceptions: { builtins: { ValueError: RangeError } },
  });
  assert.ok(err instanceof RangeError);
  assert.equal(err.message, 'm');
  const plain = deserializeRemoteError(failure, { allowedRemoteExmods: [] });
  assert.ok(plain instanceof RemoteError);
  assert.equal(plain.module, 'builtins');
});

const hostile: [string, string][] = [
  ['constructor', 'Object'],
  ['__proto__', 'constructor'],
  ['toString', 'call'],
  ['owire_exc', 'constructor'],
  ['owire_exc', '__proto__'],
  ['owire_exc', 'hasOwnProperty'],
  ['globalThis', 'Function'],
];

for (const [module, cls] of hostile) {
  test(`deserializeRemoteError - never reaches beyond the registry's own keys (${module}.${cls})`, () => {
    const failure = pyDumps({ class: cls, module, message: 'x', tb: [], args: [], kwargs: {} });
    const err = deserializeRemoteError(failure, {
      allowedRemoteExmods: [module],
      remoteExceptions: registry,
    });
    assert.ok(err instanceof RemoteError);
  });
}

const malformedFailures = [
  'not json',
  '[1, 2]',
  '"text"',
  '{"module": "m", "message": "no class"}',
  '{"class": 7}',
];

for (const failure of malformedFailures) {
  test(`deserializeRemoteError - reports ${JSON.stringify(failure)} as a MalformedFailure RemoteError`, () => {
    const err = deserializeRemoteError(failure, { allowedRemoteExmods: [] });
    assert.ok(err instanceof RemoteError);
    assert.equal(err.excType, 'MalformedFailure');
    assert.equal(err.value, failure);
  });
}

test('deserializeRemoteError - a non-string failure is reported, not thrown', () => {
  const err = deserializeRemoteError({ class: 'X' } as unknown as string, {
    allowedRemoteExmods: [],
  });
  assert.ok(err instanceof RemoteError);
  assert.equal(err.excType, 'MalformedFailure');
});

test('parseFailure - fills in missing fields with oslo defaults', () => {
  assert.deepEqual(parseFailure('{"class": "E"}'), {
    class: 'E',
    module: '',
    message: '',
    tb: [],
    args: [],
    kwargs: {},
  });
});

test('serializeRemoteError then deserializeRemoteError - a registered JS error survives the round trip', () => {
  const failure = serializeRemoteError(new InstanceNotFound('gone', { id: 'i-9' }));
  const err = deserializeRemoteError(failure, {
    allowedRemoteExmods: ['nova.exception'],
    remoteExceptions: { 'nova.exception': { InstanceNotFound } },
  });
  assert.ok(err instanceof InstanceNotFound);
  assert.equal(err.message, 'gone');
  assert.deepEqual(err.kwargs, { id: 'i-9' });
});

test('serializeRemoteError - never throws, even for an error whose properties throw', () => {
  const hostile = new Proxy(new Error('x'), {
    get() {
      throw new Error('no access');
    },
  });
  const info = JSON.parse(serializeRemoteError(hostile)) as FailureInfo;
  assert.equal(info.class, 'Error');
  assert.equal(info.module, 'builtins');
});
