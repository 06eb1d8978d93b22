/**
 * Error classes. Every error this library raises extends {@link MessagingException},
 * keeps oslo.messaging's class name, sets `name`, and carries the underlying error as
 * `cause`, so `instanceof` works and a log line reads like the last line of a Python
 * traceback.
 *
 * @module
 */

/** Options accepted by every error constructor. */
export interface MessagingErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
}

/** Base class of every error raised by this library (oslo's `MessagingException`). */
export class MessagingException extends Error {
  constructor(message: string, options?: MessagingErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing, of the wrong type or out of range. */
export class ConfigurationError extends MessagingException {
  /** `group.name` of the offending option, when known. */
  readonly option: string | undefined;
  /** The offending value, when known. */
  readonly value: unknown;
  constructor(
    message: string,
    options?: MessagingErrorOptions & { option?: string; value?: unknown },
  ) {
    super(message, options);
    this.option = options?.option;
    this.value = options?.value;
  }
}

/** A transport URL could not be parsed (oslo's `InvalidTransportURL`). */
export class InvalidTransportURL extends MessagingException {
  /** The URL as given, with any password masked. */
  readonly url: string;
  constructor(url: string, reason: string, options?: MessagingErrorOptions) {
    super(`Invalid transport URL: ${url}: ${reason}`, options);
    this.url = url;
  }
}

/** No driver is registered for a URL scheme, or the driver failed to load. */
export class DriverLoadFailure extends MessagingException {
  readonly driver: string;
  constructor(driver: string, reason: string, options?: MessagingErrorOptions) {
    super(`Failed to load transport driver "${driver}": ${reason}`, options);
    this.driver = driver;
  }
}

/** An unknown executor name was given to a server. */
export class ExecutorLoadFailure extends MessagingException {
  readonly executor: string;
  constructor(executor: string, reason: string, options?: MessagingErrorOptions) {
    super(`Failed to load executor "${executor}": ${reason}`, options);
    this.executor = executor;
  }
}

/** A Target lacks a field that the operation needs, or combines fields that don't fit. */
export class InvalidTarget extends MessagingException {
  readonly target: unknown;
  constructor(message: string, target: unknown, options?: MessagingErrorOptions) {
    super(`${message}: ${String(target)}`, options);
    this.target = target;
  }
}

/** An RPC call got no reply, or the call-monitor heartbeats stopped, in time. */
export class MessagingTimeout extends MessagingException {}

/** A message could not be delivered to the broker (connection errors after retries, a nack). */
export class MessageDeliveryFailure extends MessagingException {}

/**
 * The transport was cleaned up: every operation on it, and every call that was waiting
 * for its reply then, rejects with this (a kind of `MessageDeliveryFailure`: nothing
 * was or will be delivered). The error that the driver saw is the `cause`.
 */
export class TransportClosed extends MessageDeliveryFailure {
  constructor(options?: MessagingErrorOptions) {
    super('The transport is closed: it was cleaned up', options);
  }
}

/**
 * A message published with `mandatory` could not be routed to any queue
 * (broker answered `basic.return` 312 NO_ROUTE).
 */
export class MessageUndeliverable extends MessagingException {
  readonly exchange: string;
  readonly routingKey: string;
  constructor(exchange: string, routingKey: string, options?: MessagingErrorOptions) {
    super(
      `Message undeliverable: no queue bound to exchange "${exchange}" with key "${routingKey}"`,
      options,
    );
    this.exchange = exchange;
    this.routingKey = routingKey;
  }
}

/** The server failed to set up its listener (declares or consumes were refused). */
export class ServerListenError extends MessagingException {
  readonly target: unknown;
  constructor(target: unknown, reason: string, options?: MessagingErrorOptions) {
    super(`Failed to listen on target "${String(target)}": ${reason}`, options);
    this.target = target;
  }
}

/** A server's `wait()` did not finish in the given time. */
export class TaskTimeout extends MessagingException {}

/** An incoming message's envelope has a version this library can't read. */
export class UnsupportedRpcEnvelopeVersion extends MessagingException {
  readonly version: string;
  constructor(version: string, options?: MessagingErrorOptions) {
    super(`Unsupported envelope version: ${version}`, options);
    this.version = version;
  }
}

/** An incoming message could not be decoded (not JSON, a missing field, a wrong type). */
export class MalformedMessage extends MessagingException {}

/** Raised on the client when a send fails before it reaches the transport. */
export class ClientSendError extends MessagingException {
  readonly target: unknown;
  constructor(target: unknown, cause: unknown) {
    super(`Failed to send to target "${String(target)}": ${String(cause)}`, { cause });
    this.target = target;
  }
}

/** A version string is not of the form `X.Y` or `X.Y.Z` with integer parts. */
export class InvalidRPCVersion extends MessagingException {}

/** The version of a call is not compatible with the client's `versionCap`. */
export class RPCVersionCapError extends MessagingException {
  readonly version: string | undefined;
  readonly versionCap: string;
  constructor(version: string | undefined, versionCap: string) {
    super(
      version === undefined
        ? `Requested message version is not set, but a version cap of ${versionCap} is`
        : `Requested message version, ${version} is incompatible. It needs to be equal in major version and less than or equal in minor version as the specified version cap ${versionCap}.`,
    );
    this.version = version;
    this.versionCap = versionCap;
  }
}

/** No endpoint method of that name is exposed (oslo's `NoSuchMethod`). */
export class NoSuchMethod extends MessagingException {
  readonly method: string;
  constructor(method: string) {
    super(`Endpoint does not support RPC method ${method}`);
    this.method = method;
  }
}

/** No endpoint supports the requested namespace and version (oslo's `UnsupportedVersion`). */
export class UnsupportedVersion extends MessagingException {
  readonly version: string;
  readonly method: string | undefined;
  constructor(version: string, method?: string) {
    super(
      method === undefined
        ? `Endpoint does not support RPC version ${version}`
        : `Endpoint does not support RPC version ${version}. Attempted method: ${method}`,
    );
    this.version = version;
    this.method = method;
  }
}

/**
 * Wraps an error that an endpoint declared as expected (see `expectedExceptions`):
 * the server logs it quietly and returns the original error to the caller.
 */
export class ExpectedException extends MessagingException {
  constructor(cause: unknown) {
    super(`Expected exception: ${String(cause)}`, { cause });
  }
}

/**
 * An error raised by a remote RPC server, whose module is not on the client's
 * `allowedRemoteExmods` list, so it was not rebuilt as a local class.
 */
export class RemoteError extends MessagingException {
  /** The remote exception's class name, e.g. `ValueError`. */
  readonly excType: string;
  /** The remote exception's module, e.g. `nova.exception` or `builtins`. */
  readonly module: string;
  /** The remote exception's message (`str(exc)`). */
  readonly value: string;
  /** The remote traceback, one string per line. */
  readonly traceback: readonly string[];
  /** The remote exception's positional arguments. */
  readonly args: readonly unknown[];
  /** The remote exception's keyword arguments. */
  readonly kwargs: Readonly<Record<string, unknown>>;
  constructor(fields: {
    excType: string;
    module?: string;
    value: string;
    traceback?: readonly string[];
    args?: readonly unknown[];
    kwargs?: Record<string, unknown>;
  }) {
    super(`Remote error: ${fields.excType} ${fields.value}`);
    this.excType = fields.excType;
    this.module = fields.module ?? '';
    this.value = fields.value;
    this.traceback = fields.traceback ?? [];
    this.args = fields.args ?? [];
    this.kwargs = fields.kwargs ?? {};
  }
}

/**
 * A regular expression (in Python `re` syntax, e.g. a `NotificationFilter` pattern) that
 * Python itself would refuse, with Python's reason (its `re.error`, `re.PatternError`
 * since 3.13), or one that {@link UnsupportedPattern} cannot translate exactly.
 */
export class PatternError extends MessagingException {
  /** The pattern as given. */
  readonly pattern: string;
  /** Where in the pattern the problem is (a code unit index), when known. */
  readonly pos: number | undefined;
  constructor(reason: string, pattern: string, pos?: number, options?: MessagingErrorOptions) {
    super(pos === undefined ? reason : `${reason} at position ${pos}`, options);
    this.pattern = pattern;
    this.pos = pos;
  }
}

/**
 * A valid Python regular expression using a construct that has no exact JavaScript
 * translation (a conditional group, `\N{...}`, a case-insensitive backreference...).
 * Refused when the pattern is compiled, never matched differently; `construct` names it.
 */
export class UnsupportedPattern extends PatternError {
  /** The construct, e.g. `(?(1)...)`, as a user can look it up in Python's docs. */
  readonly construct: string;
  constructor(construct: string, pattern: string, pos?: number, options?: MessagingErrorOptions) {
    super(`unsupported in a Python pattern here: ${construct}`, pattern, pos, options);
    this.construct = construct;
  }
}
