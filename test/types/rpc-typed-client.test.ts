/**
 * Type-level tests of the typed RPC client. They are checked by `tsc` (every
 * `@ts-expect-error` line must be an error); at runtime the checks are never called.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RequestContext as Context } from '../../src/wire/messages.js';
import { expectedExceptions, expose } from '../../src/rpc/endpoint.js';
import { getRpcClient, type RPCClient, type RpcMethodName } from '../../src/rpc/client.js';
import { JsonPayloadSerializer, type Serializer } from '../../src/serializer.js';
import type { Transport } from '../../src/transport.js';

interface ComputeAPI {
  resize(args: { instance: string; flavor: number }): Promise<string>;
  reboot(args?: { hard?: boolean }): Promise<void>;
  ping(): Promise<'pong'>;
  stats(args: { host: string }): Promise<{ cpus: number; ram: number }>;
  /** Not a method: never callable. */
  readonly version: string;
  /** Two parameters: not an RPC method. */
  twoParams(a: { x: number }, b: { y: number }): Promise<void>;
}

/** Compiles only when the value's type is exactly `Expected`. */
function expectType<Expected>() {
  return <Actual>(_value: Actual, ..._exact: Equal<Actual, Expected> extends true ? [] : [never]) =>
    undefined;
}

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

// Method names: only the functions of at most one parameter.
assertType<Equal<RpcMethodName<ComputeAPI>, 'resize' | 'reboot' | 'ping' | 'stats'>>(true);

async function typedClient(transport: Transport, ctxt: Context): Promise<void> {
  const client = getRpcClient<ComputeAPI>(transport, { topic: 'compute' });

  // Results are typed.
  const resized = await client.call(ctxt, 'resize', { instance: 'vm1', flavor: 2 });
  expectType<string>()(resized);
  // @ts-expect-error the result is exactly string (checks that expectType checks)
  expectType<string | number>()(resized);
  const stats = await client.call(ctxt, 'stats', { host: 'h1' });
  expectType<{ cpus: number; ram: number }>()(stats);
  const pong = await client.call(ctxt, 'ping');
  expectType<'pong'>()(pong);
  const rebooted = await client.call(ctxt, 'reboot');
  expectType<void>()(rebooted);

  // Optional arguments may be left out; options follow the arguments.
  await client.call(ctxt, 'reboot', { hard: true }, { timeout: 1000 });
  await client.call(ctxt, 'ping', {}, { signal: AbortSignal.timeout(1000) });
  await client.cast(
    ctxt,
    'resize',
    { instance: 'vm1', flavor: 2 },
    { signal: new AbortController().signal },
  );

  // prepare() keeps the API.
  const prepared: RPCClient<ComputeAPI> = client.prepare({ server: 'h7', timeout: 5000 });
  const again = await prepared.call(ctxt, 'resize', { instance: 'vm2', flavor: 1 });
  expectType<string>()(again);

  // @ts-expect-error unknown method name
  await client.call(ctxt, 'resise', { instance: 'vm1', flavor: 2 });
  // @ts-expect-error wrong argument type
  await client.call(ctxt, 'resize', { instance: 'vm1', flavor: '2' });
  // @ts-expect-error missing required argument
  await client.call(ctxt, 'resize', { instance: 'vm1' });
  // @ts-expect-error arguments required
  await client.call(ctxt, 'resize');
  // @ts-expect-error unknown argument
  await client.call(ctxt, 'stats', { host: 'h1', extra: 1 });
  // @ts-expect-error a method that takes no arguments gets none
  await client.call(ctxt, 'ping', { unexpected: 1 });
  // @ts-expect-error a property that is not a method
  await client.call(ctxt, 'version');
  // @ts-expect-error a method of two parameters is not an RPC method
  await client.call(ctxt, 'twoParams', { x: 1 });
  // @ts-expect-error cast checks the same way
  await client.cast(ctxt, 'resize', { instance: 1, flavor: 2 });
  // @ts-expect-error call options are checked
  await client.call(ctxt, 'ping', {}, { timeout: '1s' });
  // @ts-expect-error the result is a string, not a number
  const wrong: number = await client.call(ctxt, 'resize', { instance: 'vm1', flavor: 2 });
  void wrong;
  // @ts-expect-error prepare() refuses unknown options
  client.prepare({ timeOut: 5 });
}

async function untypedClient(transport: Transport, ctxt: Context): Promise<void> {
  const client = getRpcClient(transport, { topic: 'compute' });
  const result = await client.call(ctxt, 'anything', { any: 'thing', n: 1 });
  expectType<unknown>()(result);
  await client.call(ctxt, 'noArgs');
  await client.call(ctxt, 'withOptions', {}, { timeout: 10 });
  await client.cast(ctxt, 'fire', { x: [1, 2] });
  // @ts-expect-error args are an object of keyword arguments
  await client.call(ctxt, 'positional', [1, 2]);
  // @ts-expect-error the method name is a string
  await client.call(ctxt, 42);
}

/** A context class, as services have (oslo.context's RequestContext). */
class RequestContext {
  constructor(readonly userId: string) {}
}

async function contextTypes(transport: Transport, serializer: Serializer<RequestContext>) {
  // The context type is the second type parameter; the serializer turns it into a dict.
  const client = getRpcClient<ComputeAPI, RequestContext>(
    transport,
    { topic: 'compute' },
    { serializer },
  );
  await client.call(new RequestContext('alice'), 'ping');
  // @ts-expect-error a plain object is not a RequestContext
  await client.call({ user: 'alice' }, 'ping');
  const plain = getRpcClient(transport, { topic: 'compute' });
  // @ts-expect-error by default the context is a plain object
  await plain.call('alice', 'ping');
  // Any serializer fits any client: the option is not tied to the context type.
  getRpcClient(transport, { topic: 'compute' }, { serializer: new JsonPayloadSerializer() });
}

function endpointHelpers(): void {
  class Endpoint {
    resize(_ctxt: Context, args: { instance: string }): string {
      return args.instance;
    }
    readonly count = 1;
  }
  expose(Endpoint.prototype, 'resize');
  // @ts-expect-error only method names
  expose(Endpoint.prototype, 'count');
  // @ts-expect-error at least one name for an object
  expose(Endpoint.prototype);
  const wrapped = expose((_ctxt: Context, args: { id: string }) => args.id);
  expectType<(_ctxt: Context, args: { id: string }) => string>()(wrapped);
  const guarded = expectedExceptions(RangeError, TypeError)(async (_c: Context) => 1);
  expectType<(_c: Context) => Promise<number>>()(guarded);
  // @ts-expect-error error classes only
  expectedExceptions('RangeError');
}

test('rpc typed client - type-level checks compile (checked by tsc)', () => {
  assert.equal(typeof typedClient, 'function');
  assert.equal(typeof untypedClient, 'function');
  assert.equal(typeof endpointHelpers, 'function');
  assert.equal(typeof contextTypes, 'function');
});
