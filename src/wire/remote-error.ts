/**
 * Errors across the wire (spec §4.5). A server sends a failed call's error as oslo's
 * failure JSON (`class`, `module`, `message`, `tb`, `args`, `kwargs`), itself a string
 * inside the reply; a client turns it back into an error: a local class when the user
 * registered one for that module and class and allowed the module, `RemoteError` otherwise.
 *
 * A remote peer never chooses what gets constructed: only classes in the explicit
 * {@link RemoteExceptionRegistry} are, looked up by own keys only.
 *
 * @module
 */
import { types } from 'node:util';
import {
  ClientSendError,
  ConfigurationError,
  DriverLoadFailure,
  ExecutorLoadFailure,
  ExpectedException,
  InvalidTarget,
  InvalidTransportURL,
  MessageDeliveryFailure,
  MessageUndeliverable,
  MessagingException,
  MessagingTimeout,
  NoSuchMethod,
  RemoteError,
  RPCVersionCapError,
  ServerListenError,
  TaskTimeout,
  UnsupportedRpcEnvelopeVersion,
  UnsupportedVersion,
} from '../errors.js';
import { pyDumps, pyLoads, toPrimitive } from './pyjson.js';

/** oslo's failure dict, as sent in a reply's `failure` string. */
export interface FailureInfo {
  /** The exception class name, e.g. `ValueError` or `InstanceNotFound`. */
  class: string;
  /** The class's module, e.g. `builtins` or `nova.exception`. */
  module: string;
  /** `str(exc)` (for Python's `KeyError('k')` that is `'k'`, with the quotes). */
  message: string;
  /** The formatted traceback, one string per entry, each ending in `\n`. */
  tb: string[];
  /** The exception's positional arguments. */
  args: unknown[];
  /** The exception's keyword arguments (`exc.kwargs`), or `{}`. */
  kwargs: Record<string, unknown>;
}

/** An error class that is built as `new C(info.message, info.kwargs)`. */
export type RemoteExceptionConstructor = new (
  message: string,
  kwargs?: Record<string, unknown>,
) => Error;

/**
 * An error class (or any object) with a static `fromRemote(info)` that builds the error
 * itself: for classes whose constructor takes other arguments. Preferred over the
 * constructor when both exist.
 */
export interface RemoteExceptionFactory {
  fromRemote(info: FailureInfo): Error;
}

/** What a remote failure may be rebuilt as. */
export type RemoteExceptionClass = RemoteExceptionConstructor | RemoteExceptionFactory;

/**
 * Local error classes that remote failures may become, by Python module and class name:
 * `{ 'nova.exception': { InstanceNotFound: InstanceNotFoundError } }`. A failure is
 * rebuilt only when its module is also on `allowedRemoteExmods`. The rebuilt error gets
 * `args`, `kwargs` and `remoteTraceback` (the remote `tb`) properties.
 */
export type RemoteExceptionRegistry = Readonly<
  Record<string, Readonly<Record<string, RemoteExceptionClass>>>
>;

/** Options of {@link deserializeRemoteError}. */
export interface DeserializeRemoteErrorOptions {
  /** Modules whose failures may be rebuilt (oslo's `allowed_remote_exmods`). */
  allowedRemoteExmods: readonly string[];
  /** The classes they may be rebuilt as. @default {} */
  remoteExceptions?: RemoteExceptionRegistry | undefined;
}

// ---------------------------------------------------------------------------------------
// Serialising (server side)

/**
 * The Python modules of this library's errors, where oslo has the same class, so that a
 * Python client that allows the module rebuilds the real oslo exception. Keyed by exact
 * class (a subclass is the user's own class).
 */
const LIBRARY_MODULES = new Map<unknown, string>([
  [MessagingException, 'oslo_messaging.exceptions'],
  [MessagingTimeout, 'oslo_messaging.exceptions'],
  [MessageDeliveryFailure, 'oslo_messaging.exceptions'],
  [InvalidTarget, 'oslo_messaging.exceptions'],
  [MessageUndeliverable, 'oslo_messaging.exceptions'],
  [ConfigurationError, 'oslo_messaging.exceptions'],
  [RemoteError, 'oslo_messaging.rpc.client'],
  [RPCVersionCapError, 'oslo_messaging.rpc.client'],
  [ClientSendError, 'oslo_messaging.rpc.client'],
  [NoSuchMethod, 'oslo_messaging.rpc.dispatcher'],
  [UnsupportedVersion, 'oslo_messaging.rpc.dispatcher'],
  [ExpectedException, 'oslo_messaging.rpc.dispatcher'],
  [ExecutorLoadFailure, 'oslo_messaging.server'],
  [ServerListenError, 'oslo_messaging.server'],
  [TaskTimeout, 'oslo_messaging.server'],
  [InvalidTransportURL, 'oslo_messaging.transport'],
  [DriverLoadFailure, 'oslo_messaging.transport'],
  [UnsupportedRpcEnvelopeVersion, 'oslo_messaging._drivers.common'],
]);

// JavaScript's own error classes go out as `builtins`, as Python's do. Python has some of
// the names (TypeError, SyntaxError) and rebuilds those; for the others (Error,
// RangeError, ...) its lookup fails and the caller gets a RemoteError.
const BUILTIN_ERRORS = new Set<unknown>([
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
  globalThis.DOMException,
]);

/**
 * The module for errors of user classes that declare none. Python gives this name to
 * classes of the program being run; no client allows it, so Python callers get a
 * `RemoteError` carrying our class name and message.
 */
export const DEFAULT_REMOTE_MODULE = '__main__';

const REMOTE_POSTFIX = '_Remote';

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function classOf(err: object): { ctor: unknown; name: string } {
  const proto: unknown = Object.getPrototypeOf(err);
  const ctor: unknown =
    proto !== null && typeof proto === 'object'
      ? (proto as { constructor?: unknown }).constructor
      : undefined;
  const name =
    typeof ctor === 'function' && ctor.name !== ''
      ? ctor.name
      : nonEmptyString((err as { name?: unknown }).name)
        ? (err as { name: string }).name
        : 'Error';
  return { ctor, name };
}

function moduleOf(err: object, ctor: unknown): string {
  const own = (err as { module?: unknown }).module;
  if (nonEmptyString(own)) return own;
  if (typeof ctor === 'function') {
    // A static `module` (inherited by subclasses, like a Python module shared by a family).
    const declared = (ctor as { module?: unknown }).module;
    if (nonEmptyString(declared)) return declared;
  }
  const library = LIBRARY_MODULES.get(ctor);
  if (library !== undefined) return library;
  if (BUILTIN_ERRORS.has(ctor)) return 'builtins';
  return DEFAULT_REMOTE_MODULE;
}

function lastLine(cls: string, module: string, message: string): string {
  // Python's last traceback line: `ValueError: x` for builtins, `pkg.mod.Class: x` otherwise.
  const qualified = module === 'builtins' ? cls : `${module}.${cls}`;
  return message === '' ? `${qualified}\n` : `${qualified}: ${message}\n`;
}

function stackLines(err: Error): string[] {
  const stack = typeof err.stack === 'string' ? err.stack : '';
  // V8 starts the stack with `${name}: ${message}` (possibly many lines); keep the frames.
  // When something rewrote the stack, keep what follows the first frame line.
  const header = err.message === '' ? err.name : `${err.name}: ${err.message}`;
  let frames = stack;
  if (stack.startsWith(header)) {
    frames = stack.slice(header.length);
  } else {
    const first = stack.search(/^\s+at /m);
    if (first > 0) frames = stack.slice(first);
  }
  return frames
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `${line}\n`);
}

function toFailureInfo(thrown: unknown): FailureInfo {
  // An expected exception goes out as the original error (oslo logs it quietly, that's all).
  const err =
    thrown instanceof ExpectedException && thrown.cause !== undefined ? thrown.cause : thrown;
  if (!(err instanceof Error) && !types.isNativeError(err)) {
    // Not an Error (a thrown string or object): sent as a plain builtins `Error`.
    const message = typeof err === 'string' ? err : describe(err);
    return {
      class: 'Error',
      module: 'builtins',
      message,
      tb: [lastLine('Error', 'builtins', message)],
      args: [message],
      kwargs: {},
    };
  }
  const error = err;
  if (error instanceof RemoteError && error.excType !== '') {
    // Re-raising a remote error forwards the original exception, as oslo does for the
    // `<Class>_Remote` exceptions it rebuilds: its class, module, message and arguments,
    // the remote traceback first.
    const module = error.module !== '' ? error.module : DEFAULT_REMOTE_MODULE;
    return {
      class: error.excType,
      module,
      message: error.value,
      tb: [
        ...error.traceback.map((line) => (line.endsWith('\n') ? line : `${line}\n`)),
        ...stackLines(error),
        lastLine(error.excType, module, error.value),
      ],
      args: [...error.args],
      kwargs: { ...error.kwargs },
    };
  }
  const { ctor, name } = classOf(error);
  let cls = name;
  let module = moduleOf(error, ctor);
  if (cls.endsWith(REMOTE_POSTFIX) && module.endsWith(REMOTE_POSTFIX)) {
    cls = cls.slice(0, -REMOTE_POSTFIX.length);
    module = module.slice(0, -REMOTE_POSTFIX.length);
  }
  const message = typeof error.message === 'string' ? error.message : String(error.message);
  const args: unknown = (error as { args?: unknown }).args;
  const kwargs: unknown = (error as { kwargs?: unknown }).kwargs;
  return {
    class: cls,
    module,
    message,
    tb: [...stackLines(error), lastLine(cls, module, message)],
    args: Array.isArray(args) ? [...(args as unknown[])] : [message],
    kwargs:
      kwargs !== null && typeof kwargs === 'object' && !Array.isArray(kwargs)
        ? (kwargs as Record<string, unknown>)
        : {},
  };
}

function describe(value: unknown): string {
  try {
    const text = pyDumps(value);
    if (typeof text === 'string') return text;
  } catch {
    // fall through
  }
  return String(value);
}

/**
 * The failure string a server puts in a reply's `failure` for an error thrown by an
 * endpoint: the JSON of {@link FailureInfo}, keys in oslo's order, written as Python does.
 *
 * - `class`: the error's constructor name (not its `name`); a trailing `_Remote` is
 *   stripped when both class and module end with it.
 * - `module`: a non-empty string `module` property on the error, else a static `module`
 *   on its class (declare `static readonly module = 'nova.exception'` to have Python
 *   clients rebuild it as that class); else oslo's module for this library's errors
 *   (`NoSuchMethod` → `oslo_messaging.rpc.dispatcher`, `MessagingTimeout` →
 *   `oslo_messaging.exceptions`, ...); `builtins` for JavaScript's own errors; else
 *   {@link DEFAULT_REMOTE_MODULE}.
 * - `message`: `err.message`; `tb`: the stack frames, each ending in `\n`, then
 *   Python's last line `<module>.<Class>: <message>`; `args`: an array `args` property, else
 *   `[message]`; `kwargs`: an object `kwargs` property, else `{}`.
 *
 * A `RemoteError` is forwarded as the remote exception it stands for. An
 * `ExpectedException` is sent as its `cause`. A thrown non-Error becomes `builtins.Error`.
 * Never throws: `args` and `kwargs` that can't be serialised are replaced by `[message]`
 * and `{}`.
 */
export function serializeRemoteError(err: unknown): string {
  let info: FailureInfo;
  try {
    info = toFailureInfo(err);
  } catch {
    // A hostile error (throwing getters, a revoked proxy): still answer the caller.
    const message = 'error could not be described';
    info = { class: 'Error', module: 'builtins', message, tb: [], args: [message], kwargs: {} };
  }
  const ordered = {
    class: info.class,
    module: info.module,
    message: info.message,
    tb: info.tb,
    args: info.args,
    kwargs: info.kwargs,
  };
  try {
    return pyDumps(ordered, toPrimitive);
  } catch {
    return pyDumps({ ...ordered, args: [info.message], kwargs: {} });
  }
}

// ---------------------------------------------------------------------------------------
// Deserialising (client side)

function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((line) => (typeof line === 'string' ? line : describe(line)));
}

/**
 * Parse a failure string into a {@link FailureInfo}, filling in oslo's defaults for
 * missing fields (`message` `''`, `tb` `[]`, `args` `[]`, `kwargs` `{}`). Returns
 * `undefined` when it is not JSON or has no string `class`.
 */
export function parseFailure(failure: string): FailureInfo | undefined {
  let data: unknown;
  try {
    // Python's json.loads: big ints in args and kwargs arrive exact.
    data = pyLoads(failure);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const fields = data as Record<string, unknown>;
  const cls = fields['class'];
  if (!nonEmptyString(cls)) return undefined;
  const { module, message, args, kwargs } = fields;
  return {
    class: cls,
    module: typeof module === 'string' ? module : '',
    message: typeof message === 'string' ? message : message == null ? '' : describe(message),
    tb: stringList(fields['tb']),
    args: Array.isArray(args) ? (args as unknown[]) : [],
    kwargs:
      kwargs !== null && typeof kwargs === 'object' && !Array.isArray(kwargs)
        ? (kwargs as Record<string, unknown>)
        : {},
  };
}

function lookup(
  registry: RemoteExceptionRegistry | undefined,
  module: string,
  cls: string,
): RemoteExceptionClass | undefined {
  // Own keys only: a peer must not reach `constructor`, `__proto__` or anything inherited.
  if (registry === undefined || !Object.hasOwn(registry, module)) return undefined;
  const classes = registry[module];
  if (classes === undefined || classes === null || !Object.hasOwn(classes, cls)) return undefined;
  return classes[cls];
}

function rebuild(entry: RemoteExceptionClass, info: FailureInfo): Error | undefined {
  try {
    let error: unknown;
    const factory = (entry as Partial<RemoteExceptionFactory>).fromRemote;
    if (typeof factory === 'function') {
      error = factory.call(entry, info);
    } else if (typeof entry === 'function') {
      error = new entry(info.message, info.kwargs);
    }
    if (!(error instanceof Error)) return undefined;
    for (const [key, value] of [
      ['args', info.args],
      ['kwargs', info.kwargs],
      ['remoteTraceback', info.tb],
    ] as const) {
      Object.defineProperty(error, key, { value, writable: true, configurable: true });
    }
    return error;
  } catch {
    return undefined;
  }
}

function remoteError(info: FailureInfo): RemoteError {
  return new RemoteError({
    excType: info.class,
    module: info.module,
    value: info.message,
    traceback: info.tb,
    args: info.args,
    kwargs: info.kwargs,
  });
}

/**
 * Turn a reply's failure string into the error a call rejects with, following oslo's
 * rules: module `exceptions` counts as `builtins`; when the module is on
 * `allowedRemoteExmods` and `remoteExceptions` has a class for that module and class name,
 * it is rebuilt (with `fromRemote(info)` if it has one, else `new C(message, kwargs)`) and
 * given `args`, `kwargs` and `remoteTraceback` properties. Everything else, including
 * `builtins` unless explicitly allowed and registered, an unknown module or class, and a
 * constructor that throws or returns a non-Error, gives a `RemoteError` with the remote
 * class, module, message, traceback, args and kwargs.
 *
 * A failure that is not JSON or has no `class` gives a `RemoteError` with `excType`
 * `MalformedFailure` and the raw text as `value`. Never throws.
 */
export function deserializeRemoteError(
  failure: string,
  options: DeserializeRemoteErrorOptions,
): Error {
  const raw: unknown = failure;
  const info = typeof raw === 'string' ? parseFailure(raw) : undefined;
  if (info === undefined) {
    const text = typeof raw === 'string' ? raw : describe(raw);
    return new RemoteError({ excType: 'MalformedFailure', value: text, args: [text] });
  }
  // A Python 2 server names the builtins module `exceptions`.
  if (info.module === 'exceptions') info.module = 'builtins';
  if (!options.allowedRemoteExmods.includes(info.module)) return remoteError(info);
  const entry = lookup(options.remoteExceptions, info.module, info.class);
  if (entry === undefined) return remoteError(info);
  return rebuild(entry, info) ?? remoteError(info);
}
