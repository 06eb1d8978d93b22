/**
 * The RPC client: `call`, `cast`, fanout and server-directed casts, `prepare()`,
 * version caps, and a typed variant checked against a service's API interface.
 *
 * @module
 */
import type { RequestContext, RpcRequest } from '../wire/messages.js';
import type { TransportSendOptions } from '../transport.js';
import { setOwnKey } from '../wire/pyjson.js';
import { inheritFloatMarks } from '../wire/pynumbers.js';
import { ConfigurationError, RPCVersionCapError } from '../errors.js';
import { NoOpSerializer, type Serializer } from '../serializer.js';
import { Target, type TargetFields, type TargetOverrides } from '../target.js';
import { NotificationTransport, type Transport } from '../transport.js';
import { parseVersion, versionCapAllows } from '../version.js';

/** Per-client transport options (oslo's `TransportOptions`). */
export interface ClientTransportOptions {
  /**
   * Publish requests mandatory: a request no queue can take rejects at once with
   * `MessageUndeliverable` instead of being dropped (a call would time out).
   * @default false
   */
  atLeastOnce?: boolean | undefined;
}

/** Options for {@link getRpcClient}. Durations are in milliseconds. */
export interface RPCClientOptions {
  /**
   * How long `call()` waits for a reply, in ms; also the request's expiry in the queue.
   * @default `[DEFAULT] rpc_response_timeout` (60 s)
   */
  timeout?: number | undefined;
  /**
   * The highest version this client may send: a request whose version is not
   * compatible with it, or that has no version, is refused locally with
   * `RPCVersionCapError`. @default no cap
   */
  versionCap?: string | undefined;
  /** Turns the context and arguments into primitives, and the result back. @default NoOpSerializer */
  serializer?: Serializer | undefined;
  /** Connection retries on send: `undefined` or -1 forever, 0 none, N at most N. @default forever */
  retry?: number | undefined;
  /**
   * Call-monitor timeout in ms: the server sends a heartbeat every half of it while a
   * long method runs, and `call()` fails with `MessagingTimeout` as soon as none has
   * arrived for this long, so a dead server is noticed before `timeout`. Sent to the
   * server in whole seconds, so use at least 2000 against Python servers.
   * @default off
   */
  callMonitorTimeout?: number | undefined;
  /** @default {} */
  transportOptions?: ClientTransportOptions | undefined;
}

/**
 * Overrides for {@link RPCClient.prepare}: target fields, and the client options. An
 * omitted (or `undefined`) field is inherited; `null` clears it (a cleared `timeout`
 * falls back to `rpc_response_timeout`, a cleared `versionCap` means no cap).
 */
export type PrepareOptions = TargetOverrides & {
  [K in keyof RPCClientOptions as K extends 'serializer' ? never : K]?: RPCClientOptions[K] | null;
};

/** Options for one {@link RPCClient.call}. */
export interface CallOptions {
  /** Aborting rejects the call with the signal's reason; a reply arriving later is dropped. */
  signal?: AbortSignal | undefined;
  /** This call's timeout in ms, overriding the client's. */
  timeout?: number | undefined;
}

/** Options for one {@link RPCClient.cast}. */
export interface CastOptions {
  /** Aborting rejects the cast with the signal's reason if it is not yet sent. */
  signal?: AbortSignal | undefined;
  /**
   * How long the cast may wait for the broker to take it (the broker away, publishing
   * blocked), in ms; then it rejects with `MessagingTimeout`. @default the client's `timeout`
   */
  timeout?: number | undefined;
}

/** Keyword arguments of an RPC method. */
export type RpcArgs = Record<string, unknown>;

/**
 * The API of an untyped client: any method name, any keyword arguments, an unknown
 * result.
 */
export interface UntypedRpcApi {
  [method: string]: (args?: RpcArgs) => Promise<unknown>;
}

/**
 * The method names of an RPC API interface: its properties that are functions of at
 * most one parameter (the keyword arguments).
 */
export type RpcMethodName<API> = {
  [K in keyof API & string]: API[K] extends (args: never) => unknown ? K : never;
}[keyof API & string];

/**
 * The parameters after the method name: the keyword arguments (optional when the
 * method's are, or when it takes none), then the options.
 */
export type RpcCallArgs<F, O> = F extends (...params: infer P) => unknown
  ? P extends []
    ? [args?: Record<string, never>, options?: O]
    : P extends [infer A]
      ? [args: A, options?: O]
      : P extends [(infer A)?]
        ? [args?: A, options?: O]
        : never
  : never;

/** What `call()` resolves with for a method of an RPC API interface. */
export type RpcResult<F> = F extends (...params: never[]) => infer R ? Awaited<R> : unknown;

/** @internal What a client is made of; see {@link getRpcClient}. */
export interface ClientState {
  readonly target: Target;
  readonly serializer: Serializer;
  readonly timeout: number | undefined;
  readonly versionCap: string | undefined;
  readonly retry: number | undefined;
  readonly callMonitorTimeout: number | undefined;
  readonly transportOptions: Readonly<ClientTransportOptions>;
}

// setTimeout fires at once for longer delays (a signed 32-bit number of ms, ~24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkDuration(option: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new ConfigurationError(
      `${option} must be a number of ms from 0 to ${MAX_TIMER_MS}, got ${String(value)}`,
      { option, value },
    );
  }
}

function checkRetry(value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -1) {
    throw new ConfigurationError(`retry must be an integer >= -1, got ${String(value)}`, {
      option: 'retry',
      value,
    });
  }
}

function checkState(state: ClientState): void {
  // Throws InvalidRPCVersion for a malformed version, as oslo's prepare() does.
  if (state.target.version !== undefined) parseVersion(state.target.version);
  if (state.versionCap !== undefined) parseVersion(state.versionCap);
  checkDuration('timeout', state.timeout);
  checkDuration('callMonitorTimeout', state.callMonitorTimeout);
  checkRetry(state.retry);
}

const TARGET_KEYS = [
  'exchange',
  'topic',
  'namespace',
  'version',
  'server',
  'fanout',
  'legacyNamespaces',
] as const;

function pick<T>(
  override: T | null | undefined,
  inherited: T | undefined,
  given: boolean,
): T | undefined {
  if (!given) return inherited;
  return override ?? undefined;
}

/**
 * Invokes methods on remote RPC servers (oslo's `RPCClient`). Create one with
 * {@link getRpcClient}; derive variants with {@link RPCClient.prepare}.
 *
 * A request goes to one server listening on the target's topic (round-robin), to
 * the named `server`, or, for a cast with `fanout`, to every server on the topic.
 * Delivery is at-most-once: when a call fails or times out, the method may or may
 * not have run.
 *
 * @typeParam API - an interface listing the remote methods, each taking the keyword
 *   arguments object and returning a promise of the result; without it the client
 *   is untyped.
 * @typeParam C - the request context type: a plain object by default, or what the
 *   client's serializer turns into one (e.g. a `RequestContext` class).
 */
export class RPCClient<API extends object = UntypedRpcApi, C = RequestContext> {
  /** The transport requests go through. */
  readonly transport: Transport;
  /** The default target of requests. */
  readonly target: Target;
  /** The serializer for context, arguments and results. */
  readonly serializer: Serializer;
  /** The call timeout in ms, or `undefined` for `rpc_response_timeout`. */
  readonly timeout: number | undefined;
  /** The version cap, or `undefined` for none. */
  readonly versionCap: string | undefined;
  /** Connection retries on send. */
  readonly retry: number | undefined;
  /** The call-monitor timeout in ms, or `undefined` for none. */
  readonly callMonitorTimeout: number | undefined;
  /** Transport options of this client. */
  readonly transportOptions: Readonly<ClientTransportOptions>;

  /** @internal Use {@link getRpcClient}. */
  constructor(transport: Transport, state: ClientState) {
    checkState(state);
    this.transport = transport;
    this.target = state.target;
    this.serializer = state.serializer;
    this.timeout = state.timeout;
    this.versionCap = state.versionCap;
    this.retry = state.retry;
    this.callMonitorTimeout = state.callMonitorTimeout;
    this.transportOptions = Object.freeze({ ...state.transportOptions });
  }

  /**
   * A client with some target fields or options replaced. An omitted (or `undefined`)
   * field is inherited; `null` clears it.
   *
   * @throws InvalidRPCVersion for a malformed `version` or `versionCap`
   * @throws ConfigurationError for a negative duration or a bad `retry`
   *
   * @example
   * ```ts
   * import { getRpcClient, getRpcServer, getRpcTransport, Target } from 'oslo-messaging';
   *
   * const transport = getRpcTransport('fake://');
   * const endpoint = {
   *   target: new Target({ version: '5.1' }),
   *   resize: (ctxt: object, args: { instance: string }) => `resized ${args.instance}`,
   * };
   * const server = getRpcServer(transport, { topic: 'compute', server: 'host7' }, [endpoint]);
   * await server.start();
   * const client = getRpcClient(transport, { topic: 'compute' });
   * const host7 = client.prepare({ server: 'host7', version: '5.1', timeout: 10_000 });
   * console.log(await host7.call({}, 'resize', { instance: 'vm1' })); // resized vm1
   * await server.close();
   * await transport.cleanup();
   * ```
   */
  prepare(overrides: PrepareOptions = {}): RPCClient<API, C> {
    // `undefined` counts as omitted, so spreading optional values never clears a field.
    const has = (key: keyof PrepareOptions): boolean => overrides[key] !== undefined;
    const targetOverrides: TargetOverrides = {};
    for (const key of TARGET_KEYS) {
      if (has(key)) (targetOverrides as Record<string, unknown>)[key] = overrides[key];
    }
    const transportOptions = has('transportOptions')
      ? (overrides.transportOptions ?? {})
      : this.transportOptions;
    return new RPCClient<API, C>(this.transport, {
      target: this.target.with(targetOverrides),
      serializer: this.serializer,
      timeout: pick(overrides.timeout, this.timeout, has('timeout')),
      versionCap: pick(overrides.versionCap, this.versionCap, has('versionCap')),
      retry: pick(overrides.retry, this.retry, has('retry')),
      callMonitorTimeout: pick(
        overrides.callMonitorTimeout,
        this.callMonitorTimeout,
        has('callMonitorTimeout'),
      ),
      transportOptions,
    });
  }

  /**
   * Whether a request of `version` may be sent under this client's version cap. With
   * no argument, the target's version; `null` asks about a request with no version
   * (refused whenever a cap is set).
   */
  canSendVersion(version?: string | null): boolean {
    const v = version === undefined ? this.target.version : (version ?? undefined);
    return versionCapAllows(this.versionCap, v);
  }

  /**
   * Invoke a method and wait for its result.
   *
   * @param ctxt - the request context, sent as `_context_*` keys after the serializer
   * @param method - the remote method's name
   * @param rest - the method's keyword arguments (each passes through the serializer), then
   *   optionally {@link CallOptions} (`timeout`, `signal`)
   *
   * @returns the method's result, after the serializer
   * @throws MessagingTimeout when no reply comes within the timeout, or the
   *   call-monitor heartbeats stop
   * @throws RemoteError for a remote error not rebuilt locally (its module is not in
   *   the transport's `allowedRemoteExmods`); otherwise the rebuilt error
   * @throws RPCVersionCapError, InvalidTarget (fanout, no topic), the signal's reason,
   *   MessageDeliveryFailure, MessageUndeliverable
   *
   * @example
   * ```ts
   * import { getRpcClient, getRpcServer, getRpcTransport } from 'oslo-messaging';
   *
   * interface ComputeAPI {
   *   resize(args: { instance: string; flavor: number }): Promise<string>;
   *   ping(): Promise<string>;
   * }
   * const transport = getRpcTransport('fake://');
   * const server = getRpcServer(transport, { topic: 'compute', server: 'host1' }, [
   *   {
   *     resize: (ctxt: object, args: { instance: string }) => `resized ${args.instance}`,
   *     ping: () => 'pong',
   *   },
   * ]);
   * await server.start();
   * const compute = getRpcClient<ComputeAPI>(transport, { topic: 'compute' });
   * const status = await compute.call({}, 'resize', { instance: 'vm1', flavor: 2 }); // string
   * const untyped = getRpcClient(transport, { topic: 'compute' });
   * const anything = await untyped.call({}, 'resize', { instance: 'vm1' }); // unknown
   * console.log(status.toUpperCase(), anything);
   * await server.close();
   * await transport.cleanup();
   * ```
   */
  async call<M extends RpcMethodName<API>>(
    ctxt: C,
    method: M,
    ...rest: RpcCallArgs<API[M], CallOptions>
  ): Promise<RpcResult<API[M]>> {
    const [args, options = {}] = rest as [RpcArgs | undefined, CallOptions | undefined];
    checkDuration('timeout', options.timeout);
    const result = await this.#send(ctxt, method, args, {
      call: { callMonitorTimeoutMs: this.callMonitorTimeout },
      timeoutMs: options.timeout ?? this.timeout,
      retry: this.retry,
      atLeastOnce: this.transportOptions.atLeastOnce,
      signal: options.signal,
    });
    return this.serializer.deserializeEntity(ctxt, result) as RpcResult<API[M]>;
  }

  /**
   * Invoke a method without waiting for it: resolves once the transport accepted the
   * request. With a `fanout` target every server on the topic gets it. Nothing
   * reports whether or how the method ran.
   *
   * @throws RPCVersionCapError, InvalidTarget (no topic), the signal's reason,
   *   MessageDeliveryFailure, MessageUndeliverable
   */
  async cast<M extends RpcMethodName<API>>(
    ctxt: C,
    method: M,
    ...rest: RpcCallArgs<API[M], CastOptions>
  ): Promise<void> {
    const [args, options = {}] = rest as [RpcArgs | undefined, CastOptions | undefined];
    checkDuration('timeout', options.timeout);
    await this.#send(ctxt, method, args, {
      timeoutMs: options.timeout ?? this.timeout,
      retry: this.retry,
      atLeastOnce: this.transportOptions.atLeastOnce,
      signal: options.signal,
    });
  }

  async #send(
    ctxt: C,
    method: string,
    args: RpcArgs | undefined,
    options: TransportSendOptions,
  ): Promise<unknown> {
    const target = this.target;
    if (typeof method !== 'string' || method === '') {
      throw new TypeError('method must be a non-empty string');
    }
    const request: RpcRequest = { method, args: {} };
    if (args !== undefined && args !== null) {
      const out = request.args;
      for (const name of Object.keys(args)) {
        // setOwnKey keeps an argument named `__proto__` an ordinary key.
        setOwnKey(out, name, this.serializer.serializeEntity(ctxt, args[name]));
      }
      // Whole floats received in `args` (a forwarded request) are sent as floats again.
      inheritFloatMarks(args, out);
    }
    if (target.namespace !== undefined) request.namespace = target.namespace;
    if (target.version !== undefined) request.version = target.version;
    const msgCtxt = this.serializer.serializeContext(ctxt);
    if (!versionCapAllows(this.versionCap, target.version)) {
      throw new RPCVersionCapError(target.version, this.versionCap ?? '');
    }
    return this.transport._send(target, msgCtxt, request, options);
  }
}

/**
 * Create an RPC client (oslo's `get_rpc_client`).
 *
 * Give it an interface of the remote API to have method names, arguments and
 * results checked; without one, `call()` takes any method name and resolves with
 * `unknown`.
 *
 * @param target - the default target: a topic, and optionally exchange, namespace,
 *   version, server, fanout
 *
 * @throws InvalidRPCVersion for a malformed target version or `versionCap`
 * @throws ConfigurationError for a negative duration or a bad `retry`
 *
 * @example
 * ```ts
 * import { getRpcClient, getRpcServer, getRpcTransport, Target } from 'oslo-messaging';
 *
 * interface ComputeAPI {
 *   resize(args: { instance: string; flavor: number }): Promise<string>;
 * }
 * const transport = getRpcTransport('fake://');
 * const endpoint = {
 *   target: new Target({ version: '5.0' }),
 *   resize: (ctxt: object, args: { instance: string }) => `resized ${args.instance}`,
 * };
 * const server = getRpcServer(transport, { topic: 'compute', server: 'host1' }, [endpoint]);
 * await server.start();
 * const ctxt = { request_id: 'req-1' };
 * const client = getRpcClient<ComputeAPI>(transport, { topic: 'compute', version: '5.0' }, {
 *   timeout: 30_000,
 * });
 * const result = await client.call(ctxt, 'resize', { instance: 'vm1', flavor: 2 });
 * await client.prepare({ fanout: true }).cast(ctxt, 'resize', { instance: 'vm1', flavor: 2 });
 * console.log(result); // resized vm1
 * await server.close();
 * await transport.cleanup();
 * ```
 */
export function getRpcClient<API extends object = UntypedRpcApi, C = RequestContext>(
  transport: Transport,
  target: Target | TargetFields,
  options: RPCClientOptions = {},
): RPCClient<API, C> {
  if (transport instanceof NotificationTransport) {
    transport.logger.warn(
      'Using a notification transport for RPC; use getRpcTransport() to get an RPC transport',
    );
  }
  return new RPCClient<API, C>(transport, {
    target: target instanceof Target ? target : new Target(target),
    serializer: options.serializer ?? new NoOpSerializer(),
    timeout: options.timeout,
    versionCap: options.versionCap,
    retry: options.retry,
    callMonitorTimeout: options.callMonitorTimeout,
    transportOptions: options.transportOptions ?? {},
  });
}
