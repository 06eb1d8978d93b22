/**
 * The RPC dispatcher: finds the endpoint method for a request by namespace, version
 * and name, runs it with call-monitor heartbeats, and passes context, arguments and
 * result through the serializer (spec §4.7, §6.1).
 *
 * @module
 */
import type { RequestContext } from '../wire/messages.js';
import { setOwnKey } from '../wire/pyjson.js';
import { inheritFloatMarks } from '../wire/pynumbers.js';
import { NoSuchMethod, UnsupportedVersion } from '../errors.js';
import { errorSummary, silentLogger, type Logger } from '../log.js';
import { preview } from '../wire/bounds.js';
import { NoOpSerializer, type Serializer } from '../serializer.js';
import { Target } from '../target.js';
import { isCompatible } from '../version.js';
import {
  expose,
  findEndpointMethod,
  resolveAccessPolicy,
  type EndpointMethod,
  type RPCAccessPolicy,
  type RPCAccessPolicyClass,
} from './endpoint.js';
import { isThenable } from '../util/async.js';

/** The method name of oslo's built-in ping (`rpc_ping_enabled`). */
export const PING_METHOD = 'oslo_rpc_server_ping';

/** What the dispatcher needs from a received request (an `RpcIncomingMessage` fits). */
export interface DispatchableMessage {
  /** The request context, as the driver restored it. */
  readonly ctxt: RequestContext;
  /** `method`, `args`, and optionally `namespace` and `version`. */
  readonly message: Record<string, unknown>;
  /** When set, a heartbeat is sent every half of it while the method runs. */
  readonly callMonitorTimeoutMs?: number | undefined;
  heartbeat?(): Promise<void>;
}

/** Options for {@link RPCDispatcher}. */
export interface RPCDispatcherOptions {
  /** Restores the context and arguments, and serialises the result. @default NoOpSerializer */
  serializer?: Serializer | undefined;
  /** Which endpoint methods requests may invoke. @default DefaultRPCAccessPolicy */
  accessPolicy?: RPCAccessPolicy | RPCAccessPolicyClass | undefined;
  /** Answer `oslo_rpc_server_ping` with `'pong'` (oslo's `rpc_ping_enabled`). @default false */
  pingEnabled?: boolean | undefined;
  /** @default silentLogger */
  logger?: Logger | undefined;
}

/** oslo's ping endpoint: namespace none, version 1.0. */
class PingEndpoint {
  oslo_rpc_server_ping(): string {
    return 'pong';
  }
}
// Ping is switched on by configuration, so it answers under every access policy.
expose(PingEndpoint.prototype, PING_METHOD);

interface PreparedEndpoint {
  readonly endpoint: object;
  /** `[target.namespace, ...legacyNamespaces]`, with `null` for no namespace. */
  readonly namespaces: ReadonlySet<string | null>;
  readonly version: string;
}

function endpointTarget(endpoint: object): Target {
  const target: unknown = Reflect.get(endpoint, 'target');
  if (target === undefined || target === null) return new Target();
  if (target instanceof Target) return target;
  if (typeof target === 'object') return new Target(target);
  throw new TypeError(
    "'target' is a reserved endpoint property for namespace and version filtering; it must " +
      'be a Target or its fields, not a method',
  );
}

/**
 * Dispatches RPC requests to endpoints (oslo's `RPCDispatcher`).
 *
 * For each endpoint in order: it matches when the request's namespace (missing means
 * none) is the endpoint target's namespace or one of its `legacyNamespaces`, and the
 * endpoint's version (default `1.0`) is compatible with the requested one (default
 * `1.0`). A matching endpoint runs the method if it has it and the access policy
 * allows it; otherwise the next endpoint is tried. If none ran the method, the
 * request fails with `NoSuchMethod` when some endpoint matched, else with
 * `UnsupportedVersion`.
 */
export class RPCDispatcher {
  readonly serializer: Serializer;
  readonly accessPolicy: RPCAccessPolicy;
  readonly #endpoints: readonly PreparedEndpoint[];
  readonly #logger: Logger;

  /**
   * @throws TypeError for an endpoint that is not an object, or whose `target` is
   *   neither a Target nor its fields
   */
  constructor(endpoints: readonly object[], options: RPCDispatcherOptions = {}) {
    this.#logger = options.logger ?? silentLogger;
    this.serializer = options.serializer ?? new NoOpSerializer();
    this.accessPolicy = resolveAccessPolicy(options.accessPolicy);
    const all = [...endpoints];
    let hasPing = false;
    for (const endpoint of all) {
      if ((typeof endpoint !== 'object' && typeof endpoint !== 'function') || endpoint === null) {
        throw new TypeError(`an endpoint must be an object, got ${String(endpoint)}`);
      }
      if (findEndpointMethod(endpoint, PING_METHOD) !== undefined) {
        hasPing = true;
        this.#logger.warn(
          "'%s' is reserved for the built-in ping; avoid oslo_* names in endpoints",
          PING_METHOD,
        );
      }
    }
    if (options.pingEnabled === true) {
      if (hasPing) {
        this.#logger.warn(
          'rpc_ping_enabled is set but an endpoint already has %s: not adding the ping endpoint',
          PING_METHOD,
        );
      } else {
        all.push(new PingEndpoint());
      }
    }
    this.#endpoints = all.map((endpoint) => {
      const target = endpointTarget(endpoint);
      return {
        endpoint,
        namespaces: new Set([target.namespace ?? null, ...target.legacyNamespaces]),
        version: target.version ?? '1.0',
      };
    });
  }

  /** The endpoints, in dispatch order (including the ping endpoint when enabled). */
  get endpoints(): readonly object[] {
    return this.#endpoints.map((e) => e.endpoint);
  }

  /**
   * Run the requested method and resolve with its serialised result.
   *
   * @throws NoSuchMethod, UnsupportedVersion, or whatever the method throws
   */
  async dispatch(incoming: DispatchableMessage): Promise<unknown> {
    const message = incoming.message;
    const method = message['method'];
    const rawNamespace = message['namespace'];
    const rawVersion = message['version'] ?? '1.0';
    if (typeof method !== 'string') throw new NoSuchMethod(String(JSON.stringify(method)));
    if (typeof rawVersion !== 'string') {
      throw new UnsupportedVersion(JSON.stringify(rawVersion), method);
    }
    // A missing namespace and `null` are the same (spec §4.2); anything else must match.
    const namespace = rawNamespace ?? null;

    let foundCompatible = false;
    for (const { endpoint, namespaces, version } of this.#endpoints) {
      if (!namespaces.has(namespace as string | null) || !isCompatible(version, rawVersion)) {
        continue;
      }
      const fn = findEndpointMethod(endpoint, method);
      if (fn !== undefined && this.accessPolicy.isAllowed(endpoint, method)) {
        return this.#invoke(endpoint, fn, incoming, method);
      }
      foundCompatible = true;
    }
    throw foundCompatible ? new NoSuchMethod(method) : new UnsupportedVersion(rawVersion, method);
  }

  /**
   * Run the method. Not async: a method that returns a plain value (most do) costs no
   * promise here; a promise it returns is followed. Throws what the method throws.
   */
  #invoke(
    endpoint: object,
    fn: EndpointMethod,
    incoming: DispatchableMessage,
    method: string,
  ): unknown {
    const rawArgs = incoming.message['args'] ?? {};
    if (typeof rawArgs !== 'object' || rawArgs === null || Array.isArray(rawArgs)) {
      throw new TypeError(`RPC args must be an object of keyword arguments, got ${typeof rawArgs}`);
    }
    const stopHeartbeats = this.#startHeartbeats(incoming, method);
    let ctxt: unknown;
    let result: unknown;
    try {
      ctxt = this.serializer.deserializeContext(incoming.ctxt);
      // setOwnKey defines own properties, so an argument named `__proto__` stays data.
      const args: Record<string, unknown> = {};
      for (const name of Object.keys(rawArgs)) {
        setOwnKey(
          args,
          name,
          this.serializer.deserializeEntity(ctxt, (rawArgs as Record<string, unknown>)[name]),
        );
      }
      // An endpoint that echoes or forwards its args sends received whole floats as floats.
      inheritFloatMarks(rawArgs, args);
      result = (fn as (ctxt: unknown, args: unknown) => unknown).call(endpoint, ctxt, args);
    } catch (err) {
      stopHeartbeats();
      throw err;
    }
    if (!isThenable(result)) {
      stopHeartbeats();
      return this.serializer.serializeEntity(ctxt, result);
    }
    return Promise.resolve(result).then(
      (value) => {
        stopHeartbeats();
        return this.serializer.serializeEntity(ctxt, value);
      },
      (err: unknown) => {
        stopHeartbeats();
        throw err;
      },
    );
  }

  /**
   * oslo's call-monitor watchdog: while the method runs, a heartbeat every half of the
   * caller's call-monitor timeout. A failed heartbeat ends the watchdog; the caller's
   * own timers then decide.
   */
  #startHeartbeats(incoming: DispatchableMessage, method: string): () => void {
    const timeoutMs = incoming.callMonitorTimeoutMs;
    const heartbeat = incoming.heartbeat?.bind(incoming);
    if (timeoutMs === undefined || heartbeat === undefined || !(timeoutMs > 0)) {
      return () => undefined;
    }
    const intervalMs = timeoutMs / 2;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const beat = (): void => {
      timer = undefined;
      this.#logger.debug(
        'Sending call-monitor heartbeat for active call to %s (interval=%d ms)',
        preview(method),
        intervalMs,
      );
      void heartbeat().then(
        () => {
          if (!stopped) timer = setTimeout(beat, intervalMs);
        },
        (err: unknown) =>
          this.#logger.debug('Call-monitor heartbeat failed: %s', errorSummary(err)),
      );
    };
    timer = setTimeout(beat, intervalMs);
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }
}
