import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';

import type { RequestContext } from '../../src/wire/messages.js';
import type { RemoteExceptionRegistry } from '../../src/wire/remote-error.js';
import { ExpectedException, MessagingTimeout, RemoteError } from '../../src/errors.js';
import { formatLogRecord, silentLogger, type Logger } from '../../src/log.js';
import { ExplicitRPCAccessPolicy, expectedExceptions, expose } from '../../src/rpc/endpoint.js';
import { RPCDispatcher } from '../../src/rpc/dispatcher.js';
import { getRpcClient } from '../../src/rpc/client.js';
import { getRpcServer } from '../../src/rpc/server.js';
import { getRpcTransport, type TransportOptions } from '../../src/transport.js';

/** A service error with a Python-style module, as a Nova exception would have. */
class QuotaError extends Error {
  static readonly module = 'myservice.exceptions';
  readonly kwargs: Record<string, unknown>;
  constructor(message: string, kwargs: Record<string, unknown> = {}) {
    super(message);
    this.kwargs = kwargs;
  }
}

const registry: RemoteExceptionRegistry = { 'myservice.exceptions': { QuotaError } };

function recordingLogger(): Logger & { errors: string[]; debugs: string[]; raw: unknown[][] } {
  const errors: string[] = [];
  const debugs: string[] = [];
  const raw: unknown[][] = [];
  return {
    errors,
    debugs,
    raw,
    debug: (message, ...args) => debugs.push(formatLogRecord(message, args)),
    info: () => undefined,
    warn: () => undefined,
    error: (message, ...args) => {
      raw.push([message, ...args]);
      errors.push(formatLogRecord(message, args));
    },
  };
}

/**
 * A server on its own transport (logging to `serverLogger`) and a client transport with
 * the given remote-error options. Both are `fake://`, so they share the in-memory broker.
 */
async function setup(
  t: TestContext,
  endpoints: object[],
  clientOptions: Omit<TransportOptions, 'url'> = {},
  serverLogger: Logger = silentLogger,
) {
  const topic = `rpc_errors_${randomBytes(6).toString('hex')}`;
  const serverTransport = getRpcTransport('fake://', { logger: serverLogger });
  const clientTransport = getRpcTransport('fake://', { logger: silentLogger, ...clientOptions });
  const server = getRpcServer(serverTransport, { topic, server: 's1' }, endpoints);
  t.after(async () => {
    await server.close();
    await serverTransport.cleanup();
    await clientTransport.cleanup();
  });
  await server.start();
  return { client: getRpcClient(clientTransport, { topic }), topic, serverTransport };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected the call to fail'),
    (err: unknown) => err,
  );
}

const throwsQuota = {
  reserve: (_c: RequestContext, args: { n: number }) => {
    throw new QuotaError(`quota exceeded: ${args.n}`, { requested: args.n });
  },
};

test('rpc errors - an error from a module not on allowedRemoteExmods arrives as RemoteError', async (t) => {
  const { client } = await setup(t, [throwsQuota], { remoteExceptions: registry });
  const err = await rejection(client.call({}, 'reserve', { n: 5 }));
  assert.ok(err instanceof RemoteError, String(err));
  assert.equal(err.excType, 'QuotaError');
  assert.equal(err.module, 'myservice.exceptions');
  assert.equal(err.value, 'quota exceeded: 5');
  assert.deepEqual(err.kwargs, { requested: 5 });
  assert.match(err.message, /^Remote error: QuotaError quota exceeded: 5/);
  assert.ok(err.traceback.length > 0);
  assert.equal(err.traceback.at(-1), 'myservice.exceptions.QuotaError: quota exceeded: 5\n');
});

test('rpc errors - an error from an allowed, registered module is rebuilt as the local class', async (t) => {
  const { client } = await setup(t, [throwsQuota], {
    allowedRemoteExmods: ['myservice.exceptions'],
    remoteExceptions: registry,
  });
  const err = await rejection(client.call({}, 'reserve', { n: 7 }));
  assert.ok(err instanceof QuotaError, String(err));
  assert.equal(err.message, 'quota exceeded: 7');
  assert.deepEqual(err.kwargs, { requested: 7 });
  assert.ok(Array.isArray((err as unknown as { remoteTraceback: unknown }).remoteTraceback));
});

test('rpc errors - an allowed module without a registered class still gives RemoteError', async (t) => {
  const { client } = await setup(t, [throwsQuota], {
    allowedRemoteExmods: ['myservice.exceptions'],
  });
  const err = await rejection(client.call({}, 'reserve', { n: 1 }));
  assert.ok(err instanceof RemoteError);
  assert.equal(err.excType, 'QuotaError');
});

test('rpc errors - NoSuchMethod and UnsupportedVersion reach the caller as RemoteError, as in oslo', async (t) => {
  const { client } = await setup(t, [{ echo: () => 1 }]);
  const missing = await rejection(client.call({}, 'nope'));
  assert.ok(missing instanceof RemoteError);
  assert.equal(missing.excType, 'NoSuchMethod');
  assert.equal(missing.module, 'oslo_messaging.rpc.dispatcher');
  assert.equal(missing.value, 'Endpoint does not support RPC method nope');
  const unsupported = await rejection(client.prepare({ version: '1.1' }).call({}, 'echo'));
  assert.ok(unsupported instanceof RemoteError);
  assert.equal(unsupported.excType, 'UnsupportedVersion');
  assert.equal(
    unsupported.value,
    'Endpoint does not support RPC version 1.1. Attempted method: echo',
  );
});

test('rpc errors - JavaScript built-in errors and thrown non-errors are described, not lost', async (t) => {
  const { client } = await setup(t, [
    {
      typeError: () => {
        throw new TypeError('not a function');
      },
      thrownString: () => {
        throw 'plain string'; // eslint-disable-line @typescript-eslint/only-throw-error
      },
      asyncReject: async () => {
        await Promise.resolve();
        throw new RangeError('out of range');
      },
    },
  ]);
  const typeError = await rejection(client.call({}, 'typeError'));
  assert.ok(typeError instanceof RemoteError);
  assert.deepEqual(
    [typeError.excType, typeError.module, typeError.value],
    ['TypeError', 'builtins', 'not a function'],
  );
  const thrown = await rejection(client.call({}, 'thrownString'));
  assert.ok(thrown instanceof RemoteError);
  assert.deepEqual([thrown.excType, thrown.value], ['Error', 'plain string']);
  const rejected = await rejection(client.call({}, 'asyncReject'));
  assert.ok(rejected instanceof RemoteError);
  assert.equal(rejected.excType, 'RangeError');
});

test('rpc errors - expected exceptions reach the caller as the original error and are logged quietly', async (t) => {
  const logger = recordingLogger();
  const endpoint = {
    reserve: expectedExceptions(QuotaError)(throwsQuota.reserve),
  };
  const { client } = await setup(
    t,
    [endpoint],
    { allowedRemoteExmods: ['myservice.exceptions'], remoteExceptions: registry },
    logger,
  );
  const err = await rejection(client.call({}, 'reserve', { n: 3 }));
  assert.ok(err instanceof QuotaError, String(err));
  assert.equal(err.message, 'quota exceeded: 3');
  assert.deepEqual(logger.errors, []);
  // As oslo logs it: one line, no stack.
  const lines = logger.debugs.filter((line) => /Expected exception/.test(line));
  assert.deepEqual(lines, [
    'Expected exception during message handling (QuotaError: quota exceeded: 3)',
  ]);
});

test('rpc errors - unexpected errors are logged as errors on the server', async (t) => {
  const logger = recordingLogger();
  const { client } = await setup(t, [throwsQuota], {}, logger);
  await rejection(client.call({}, 'reserve', { n: 9 }));
  assert.equal(logger.errors.length, 1);
  // The error is a structured field (a logger keeps its stack and cause), not %s text...
  const [message, fields] = logger.raw[0]!;
  assert.equal(message, 'Exception during message handling');
  const { err, method } = fields as { err: unknown; method: unknown };
  assert.ok(err instanceof QuotaError);
  assert.equal(method, 'reserve');
  // ...and the default format is one summary line, then the stack once.
  const [first, ...rest] = logger.errors[0]!.split('\n');
  assert.equal(
    first,
    'Exception during message handling method=reserve: QuotaError: quota exceeded: 9',
  );
  assert.ok(rest.length > 0 && rest.every((line) => /^\s+at /.test(line)), rest.join('\n'));
});

test('rpc errors - a cast that throws is logged and the server keeps serving', async (t) => {
  const logger = recordingLogger();
  const { client } = await setup(t, [{ ...throwsQuota, ping: () => 'pong' }], {}, logger);
  await client.cast({}, 'reserve', { n: 1 });
  // The blocking order of one queue: the cast is handled before this call is answered.
  assert.equal(await client.call({}, 'ping'), 'pong');
  await waitFor(() => logger.errors.length === 1);
  assert.match(logger.errors[0]!, /quota exceeded: 1/);
});

test('rpc errors - a remote error re-thrown by a server is forwarded as the original exception', async (t) => {
  // backend throws QuotaError; frontend calls backend and lets the RemoteError escape.
  const backend = await setup(t, [throwsQuota]);
  const frontendEndpoint = {
    reserve: (ctxt: RequestContext, args: { n: number }) =>
      backend.client.call(ctxt, 'reserve', args),
  };
  const { client } = await setup(t, [frontendEndpoint], {
    allowedRemoteExmods: ['myservice.exceptions'],
    remoteExceptions: registry,
  });
  const err = await rejection(client.call({}, 'reserve', { n: 4 }));
  assert.ok(err instanceof QuotaError, String(err));
  assert.equal(err.message, 'quota exceeded: 4');
});

test('rpc errors - a result that cannot be encoded fails the call instead of timing it out', async (t) => {
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  const { client } = await setup(t, [{ circular: () => circular }]);
  const err = await rejection(client.call({}, 'circular', {}, { timeout: 60_000 }));
  assert.ok(!(err instanceof MessagingTimeout), String(err));
  assert.ok(err instanceof RemoteError, String(err));
  assert.equal(err.excType, 'TypeError');
});

// -- expectedExceptions, in the dispatcher ------------------------------------------------

class InstanceNotFound extends Error {}
class SpecificNotFound extends InstanceNotFound {}

function request(message: Record<string, unknown>) {
  return { ctxt: {}, message };
}

test('expectedExceptions - wraps listed errors (and subclasses) in ExpectedException, others unchanged', async () => {
  const other = new TypeError('other');
  const endpoint = {
    sync: expectedExceptions(InstanceNotFound)((_c: RequestContext, args: { sub?: boolean }) => {
      throw args.sub === true ? new SpecificNotFound('sub') : new InstanceNotFound('gone');
    }),
    async: expectedExceptions(
      InstanceNotFound,
      RangeError,
    )(async () => {
      await Promise.resolve();
      throw new RangeError('range');
    }),
    unexpected: expectedExceptions(InstanceNotFound)(() => {
      throw other;
    }),
    fine: expectedExceptions(InstanceNotFound)(() => 'fine'),
  };
  const dispatcher = new RPCDispatcher([endpoint]);
  for (const [method, args, cls] of [
    ['sync', {}, InstanceNotFound],
    ['sync', { sub: true }, SpecificNotFound],
    ['async', {}, RangeError],
  ] as const) {
    await assert.rejects(
      dispatcher.dispatch(request({ method, args })),
      (err: unknown) => err instanceof ExpectedException && err.cause instanceof cls,
    );
  }
  await assert.rejects(
    dispatcher.dispatch(request({ method: 'unexpected' })),
    (err) => err === other,
  );
  assert.equal(await dispatcher.dispatch(request({ method: 'fine' })), 'fine');
});

test('expectedExceptions - works as a decorator, keeps this, the name and the expose mark', async () => {
  class Endpoint {
    readonly prefix = 'p:';
    @expectedExceptions(InstanceNotFound)
    echo(_c: RequestContext, args: { v: string }): string {
      return this.prefix + args.v;
    }
  }
  const exposedFirst = expectedExceptions(InstanceNotFound)(expose(() => 'x'));
  assert.equal(Endpoint.prototype.echo.name, 'echo');
  const dispatcher = new RPCDispatcher([new Endpoint(), { exposedFirst }]);
  assert.equal(await dispatcher.dispatch(request({ method: 'echo', args: { v: 'a' } })), 'p:a');
  assert.equal(new ExplicitRPCAccessPolicy().isAllowed({ exposedFirst }, 'exposedFirst'), true);
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}
