/**
 * RPC quick start, on the in-memory `fake://` transport (no broker needed).
 *
 * A "compute" server on two hosts exposes a versioned, namespaced endpoint; a typed
 * client calls it (method names, arguments and results are checked by TypeScript),
 * casts to every host with fanout, and gets remote errors back: one rebuilt as a
 * local class (its module is allowed and registered), one as `RemoteError`. Against
 * RabbitMQ, only the transport URL changes: `rabbit://user:pass@host:5672/`.
 *
 * Run: npm run example:rpc
 */
import {
  expectedExceptions,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  RemoteError,
  Target,
  type RemoteExceptionRegistry,
} from '../src/index.js';

type Ctxt = Record<string, unknown>;

// Resolves once both hosts have handled the fanout cast.
let onRefreshed: () => void = () => undefined;
let refreshes = 0;
const bothRefreshed = new Promise<void>((resolve) => (onRefreshed = resolve));

/** A service error. Its `module` is the Python module a Python client would import. */
class InstanceNotFound extends Error {
  static readonly module = 'compute.exceptions';
  constructor(message: string) {
    super(message);
    this.name = 'InstanceNotFound';
  }
}

/** The remote API as clients see it: each method takes the keyword arguments object. */
interface ComputeAPI {
  resize(args: { instance: string; flavor: number }): Promise<string>;
  show(args: { instance: string }): Promise<{ instance: string; flavor: number }>;
  refreshCache(): Promise<void>;
  explode(): Promise<never>;
}

/** The endpoint behind it: methods take `(ctxt, args)`, as oslo's do. */
class ComputeEndpoint {
  // Namespace and version this endpoint implements; requests for 5.0 to 5.2 reach it.
  readonly target = new Target({ namespace: 'compute', version: '5.2' });
  readonly #flavors = new Map<string, number>([['vm1', 1]]);
  readonly host: string;

  constructor(host: string) {
    this.host = host;
  }

  resize(ctxt: Ctxt, args: { instance: string; flavor: number }): string {
    this.#flavors.set(args.instance, args.flavor);
    return `${args.instance} resized to flavor ${args.flavor} on ${this.host} for ${String(ctxt['user_id'])}`;
  }

  // Missing instances are an expected outcome: logged at debug level, not as errors.
  show = expectedExceptions(InstanceNotFound)((_ctxt: Ctxt, args: { instance: string }) => {
    const flavor = this.#flavors.get(args.instance);
    if (flavor === undefined) throw new InstanceNotFound(`Instance ${args.instance} not found`);
    return { instance: args.instance, flavor };
  });

  refreshCache(): void {
    console.log(`  ${this.host}: cache refreshed`);
    if (++refreshes === 2) onRefreshed();
  }

  explode(): never {
    throw new RangeError('the flux capacitor is out of range');
  }

  // Never reachable over RPC: the default access policy refuses `_` names.
  _reset(): void {
    this.#flavors.clear();
  }
}

// Errors from `compute.exceptions` may be rebuilt as these local classes; anything else
// arrives as RemoteError.
const remoteExceptions: RemoteExceptionRegistry = {
  'compute.exceptions': { InstanceNotFound },
};
const transport = getRpcTransport(
  { DEFAULT: { transport_url: 'fake://', control_exchange: 'nova' } },
  { allowedRemoteExmods: ['compute.exceptions'], remoteExceptions },
);

const servers = ['host1', 'host2'].map((host) =>
  getRpcServer(transport, { topic: 'compute', server: host }, [new ComputeEndpoint(host)]),
);

try {
  await Promise.all(servers.map((server) => server.start()));
  const ctxt: Ctxt = { user_id: 'alice', project_id: 'demo', request_id: 'req-1' };

  const compute = getRpcClient<ComputeAPI>(
    transport,
    { topic: 'compute', namespace: 'compute', version: '5.0' },
    { timeout: 10_000, versionCap: '5.2' },
  );

  console.log('call (one server on the topic):');
  console.log(`  ${await compute.call(ctxt, 'resize', { instance: 'vm1', flavor: 3 })}`);

  console.log('call to one server, with a newer version:');
  const onHost2 = compute.prepare({ server: 'host2', version: '5.1' });
  console.log(`  ${await onHost2.call(ctxt, 'resize', { instance: 'vm2', flavor: 2 })}`);
  console.log(`  show: ${JSON.stringify(await onHost2.call(ctxt, 'show', { instance: 'vm2' }))}`);
  console.log(`  can send 5.3 under the 5.2 cap? ${String(compute.canSendVersion('5.3'))}`);

  console.log('fanout cast (every server):');
  await compute.prepare({ fanout: true }).cast(ctxt, 'refreshCache');
  await bothRefreshed;

  // The servers log the unexpected errors below to stderr, as oslo does.
  console.log('remote errors:');
  try {
    await compute.prepare({ server: 'host1' }).call(ctxt, 'show', { instance: 'vm404' });
  } catch (err) {
    // Allowed and registered: rebuilt as the local class.
    console.log(`  rebuilt: ${String(err instanceof InstanceNotFound)}: ${(err as Error).message}`);
  }
  try {
    await compute.call(ctxt, 'explode');
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    console.log(`  RemoteError: ${err.excType} from ${err.module}: ${err.value}`);
  }
  try {
    // The untyped client can name any method; the access policy still refuses it.
    const untyped = getRpcClient(transport, {
      topic: 'compute',
      namespace: 'compute',
      version: '5.0',
    });
    await untyped.call(ctxt, '_reset');
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    console.log(`  RemoteError: ${err.excType}: ${err.value}`);
  }
} finally {
  await Promise.all(servers.map((server) => server.close()));
  await transport.cleanup();
}
