/**
 * RPC endpoints: which of an endpoint's methods a client may invoke (access
 * policies, `expose`), and {@link expectedExceptions}.
 *
 * An endpoint is any object. Its methods take `(ctxt, args)`, `args` being the
 * call's keyword arguments as one object, and may return a value or a promise. An
 * optional `target` property (a {@link Target} or its fields) gives the namespace and
 * version the endpoint implements.
 *
 * @module
 */
import { ExpectedException } from '../errors.js';

/** A method an RPC client may invoke: `(ctxt, args)`, returning a value or a promise. */
export type EndpointMethod = (this: unknown, ctxt: never, args: never) => unknown;

// A loose function type for wrappers: they pass every argument through.
/** Any function: what `expose` and {@link expectedExceptions} wrap. */
export type AnyFunction = (this: never, ...args: never[]) => unknown;

/** Names that an RPC request can never reach, whatever the policy. */
const OBJECT_PROTOTYPE_NAMES: ReadonlySet<string> = new Set(
  Object.getOwnPropertyNames(Object.prototype),
);

// Lookups stop at these: their members are the language's, never an endpoint's.
const BUILTIN_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  Object.prototype,
  Function.prototype,
]);

/**
 * The endpoint method that an RPC request for `name` may reach, before any access
 * policy: an own or inherited (user class) data property holding a function.
 *
 * Never returned: `target` (reserved for the endpoint's Target), any name that
 * `Object.prototype` has (`constructor`, `__proto__`, `toString`, `hasOwnProperty`,
 * `valueOf`, `__defineGetter__`, ...) even when a class shadows it, members found on
 * `Object.prototype` or `Function.prototype`, accessors (a getter is never run) and
 * non-function values.
 *
 * @internal
 */
export function findEndpointMethod(endpoint: object, name: string): EndpointMethod | undefined {
  if (name === 'target' || OBJECT_PROTOTYPE_NAMES.has(name)) return undefined;
  for (
    let owner: object | null = endpoint;
    owner !== null && !BUILTIN_PROTOTYPES.has(owner);
    owner = Object.getPrototypeOf(owner) as object | null
  ) {
    const descriptor = Object.getOwnPropertyDescriptor(owner, name);
    if (descriptor === undefined) continue;
    return typeof descriptor.value === 'function'
      ? (descriptor.value as EndpointMethod)
      : undefined;
  }
  return undefined;
}

/**
 * Decides which endpoint methods an RPC request may invoke (oslo's
 * `RPCAccessPolicyBase`).
 *
 * The dispatcher asks only about names that the dispatcher resolved to a
 * method, so no policy can open up `Object.prototype` members, `constructor`,
 * `target`, accessors or non-function properties. A refused method is not an error
 * by itself: the dispatcher tries the next endpoint, and answers `NoSuchMethod` if
 * none runs it.
 */
export interface RPCAccessPolicy {
  /** Whether `endpoint[method]` may be invoked over RPC. */
  isAllowed(endpoint: object, method: string): boolean;
}

/** A policy class, as oslo takes it (`access_policy=ExplicitRPCAccessPolicy`). */
export type RPCAccessPolicyClass = new () => RPCAccessPolicy;

/**
 * The default: every public method, that is every method whose name does not start
 * with `_`. Methods inherited from the endpoint's own classes count; members of
 * `Object.prototype` never do.
 */
export class DefaultRPCAccessPolicy implements RPCAccessPolicy {
  isAllowed(_endpoint: object, method: string): boolean {
    return !method.startsWith('_');
  }
}

/**
 * oslo's legacy policy: every method, including `_private` ones. Even so, members of
 * `Object.prototype` (`constructor`, `__proto__`, `toString`, ...) and the reserved
 * `target` are never reachable: the dispatcher refuses them before any policy.
 */
export class LegacyRPCAccessPolicy implements RPCAccessPolicy {
  isAllowed(_endpoint: object, _method: string): boolean {
    return true;
  }
}

/** Only methods marked with `expose`. */
export class ExplicitRPCAccessPolicy implements RPCAccessPolicy {
  isAllowed(endpoint: object, method: string): boolean {
    const fn = findEndpointMethod(endpoint, method);
    return fn !== undefined && exposed.has(fn);
  }
}

/** The policy object for an option that takes an instance or a class. */
export function resolveAccessPolicy(
  policy: RPCAccessPolicy | RPCAccessPolicyClass | undefined,
): RPCAccessPolicy {
  if (policy === undefined) return new DefaultRPCAccessPolicy();
  if (typeof policy === 'function') return new policy();
  if (typeof policy === 'object' && policy !== null && typeof policy.isAllowed === 'function') {
    return policy;
  }
  throw new TypeError('accessPolicy must be an RPCAccessPolicy or a class implementing it');
}

const exposed = new WeakSet<object>();

/** The method names of `T`, for `expose`. */
export type MethodNames<T> = {
  [K in keyof T & string]: T[K] extends AnyFunction ? K : never;
}[keyof T & string];

/**
 * Mark endpoint methods as exposed to RPC clients under
 * {@link ExplicitRPCAccessPolicy} (oslo's `@expose`). Three equivalent forms: name
 * methods of a class prototype or an object, wrap one function, or decorate a class
 * method.
 *
 * The mark belongs to the function: a subclass that overrides an exposed method
 * must expose its override too.
 *
 * @example
 * ```ts
 * import {
 *   ExplicitRPCAccessPolicy,
 *   expose,
 *   getRpcClient,
 *   getRpcServer,
 *   getRpcTransport,
 *   type RequestContext,
 * } from 'oslo-messaging';
 *
 * class ComputeEndpoint {
 *   resize(ctxt: RequestContext, args: { instance: string }) {
 *     return `resized ${args.instance}`;
 *   }
 *   rebuild(ctxt: RequestContext, args: { instance: string }) {
 *     return `rebuilt ${args.instance}`;
 *   }
 * }
 * expose(ComputeEndpoint.prototype, 'resize', 'rebuild');
 *
 * const pinger = { ping: expose((ctxt: RequestContext) => 'pong') };
 *
 * class Decorated {
 *   @expose
 *   status(ctxt: RequestContext) {
 *     return 'ok';
 *   }
 *   internal(ctxt: RequestContext) {
 *     return 'not exposed: NoSuchMethod under the explicit policy';
 *   }
 * }
 *
 * const transport = getRpcTransport('fake://');
 * const endpoints = [new ComputeEndpoint(), pinger, new Decorated()];
 * const server = getRpcServer(transport, { topic: 'compute', server: 'h1' }, endpoints, {
 *   accessPolicy: ExplicitRPCAccessPolicy,
 * });
 * await server.start();
 * const client = getRpcClient(transport, { topic: 'compute' });
 * console.log(await client.call({}, 'status')); // ok
 * await client.call({}, 'internal').catch((err: unknown) => console.log(String(err)));
 * await server.close();
 * await transport.cleanup();
 * ```
 *
 * @throws TypeError when a named property is not a method
 */
export function expose<F extends AnyFunction>(method: F, context?: ClassMethodDecoratorContext): F;
export function expose<T extends object>(
  endpoint: T,
  ...methods: [MethodNames<T>, ...MethodNames<T>[]]
): T;
export function expose(target: object, ...rest: unknown[]): object {
  const names = rest.filter((item): item is string => typeof item === 'string');
  if (names.length === 0) {
    if (typeof target !== 'function') {
      throw new TypeError('expose() takes a function, or an object and method names');
    }
    exposed.add(target);
    return target;
  }
  for (const name of names) {
    const fn = findEndpointMethod(target, name);
    if (fn === undefined) throw new TypeError(`expose(): ${name} is not an endpoint method`);
    exposed.add(fn);
  }
  return target;
}

/** An error class, for {@link expectedExceptions}. */
export type ErrorClass = abstract new (...args: never[]) => unknown;

/**
 * Declare the errors an endpoint method is expected to throw (oslo's
 * `@expected_exceptions`). The server logs them at debug level instead of as
 * errors, and the caller receives them exactly as if undeclared: the original
 * error, serialised in oslo's failure format. Subclasses match; other errors pass
 * through unchanged. Works on synchronous and async methods, as a wrapper or as a
 * method decorator, and keeps an `expose` mark.
 *
 * @example
 * ```ts
 * import {
 *   expectedExceptions,
 *   getRpcClient,
 *   getRpcServer,
 *   getRpcTransport,
 *   type RequestContext,
 * } from 'oslo-messaging';
 *
 * class InstanceNotFound extends Error {}
 * const instances = new Map([['i-1', { id: 'i-1', name: 'vm1' }]]);
 * const endpoint = {
 *   show: expectedExceptions(InstanceNotFound)(async (ctxt: RequestContext, args: { id: string }) => {
 *     const instance = instances.get(args.id);
 *     if (instance === undefined) throw new InstanceNotFound(args.id); // logged at debug level
 *     return instance;
 *   }),
 * };
 *
 * const transport = getRpcTransport('fake://');
 * const server = getRpcServer(transport, { topic: 'compute', server: 'h1' }, [endpoint]);
 * await server.start();
 * const client = getRpcClient(transport, { topic: 'compute' });
 * console.log(await client.call({}, 'show', { id: 'i-1' }));
 * await client.call({}, 'show', { id: 'i-2' }).catch((err: unknown) => console.log(String(err)));
 * await server.close();
 * await transport.cleanup();
 * ```
 */
export function expectedExceptions(
  ...classes: ErrorClass[]
): <F extends AnyFunction>(method: F, context?: ClassMethodDecoratorContext) => F {
  const wrap = (err: unknown): unknown =>
    classes.some((cls) => err instanceof cls) ? new ExpectedException(err) : err;
  return <F extends AnyFunction>(method: F): F => {
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      let result: unknown;
      try {
        result = (method as unknown as (...a: unknown[]) => unknown).apply(this, args);
      } catch (err) {
        throw wrap(err);
      }
      if (isThenable(result)) {
        return Promise.resolve(result).catch((err: unknown) => {
          throw wrap(err);
        });
      }
      return result;
    };
    Object.defineProperty(wrapped, 'name', { value: method.name });
    if (exposed.has(method)) exposed.add(wrapped);
    return wrapped as unknown as F;
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
