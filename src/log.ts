/**
 * Logging. The library never writes to a global logger: each transport has a
 * {@link Logger}, passed down to its drivers and servers. Any object with these four
 * methods works (console, pino, winston through a thin adapter).
 *
 * Calls are `logger.error(message, ...args)`: `%s`-style arguments for the message, and
 * possibly, last, a plain object of structured fields ({@link LogFields}), as in
 * `logger.error('Exception during message handling', { err, method })`. An error is
 * always passed as the `err` field, never formatted into the message, so a structured
 * logger keeps its stack and `cause`.
 *
 * @module
 */
import { debuglog, formatWithOptions, inspect } from 'node:util';

/** The logger a transport, server or notifier writes to. */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/**
 * Structured fields, passed as the last argument of a log call. `err` holds an error (with
 * its stack); other fields are short values, e.g. `method` or `msgId`.
 */
export interface LogFields {
  err?: unknown;
  [field: string]: unknown;
}

const debugOut = debuglog('oslo-messaging');

// A line never grows past this, whatever a peer sent.
const MAX_LINE = 4000;
const INSPECT = { depth: 2, maxArrayLength: 20, maxStringLength: 200, breakLength: Infinity };

const isFields = (value: unknown): value is LogFields =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.getPrototypeOf(value) === Object.prototype;

/** `Name: message` on one line, as the last line of a Python traceback reads. */
export function errorSummary(err: unknown): string {
  if (!(err instanceof Error))
    return oneLine(typeof err === 'string' ? err : inspect(err, INSPECT));
  // A subclass that does not set `name` still reads as its class, as in Python.
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  const name = err.name === 'Error' && typeof ctor === 'string' && ctor !== '' ? ctor : err.name;
  return oneLine(err.message === '' ? name : `${name}: ${err.message}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ');
}

function bound(text: string): string {
  return text.length <= MAX_LINE ? text : `${text.slice(0, MAX_LINE)}... (${text.length} chars)`;
}

/**
 * A log call's message with its `%s` arguments formatted (an Error argument as its
 * one-line summary), and its structured fields apart: what a structured logger gets.
 */
export function splitLogRecord(
  message: string,
  args: readonly unknown[],
): { text: string; fields: LogFields | undefined } {
  const placeholders = (message.match(/%[sdifjoOc]/g) ?? []).length;
  const last = args[args.length - 1];
  const fields = args.length > placeholders && isFields(last) ? last : undefined;
  const params = fields === undefined ? args : args.slice(0, -1);
  const shown = params.map((a) =>
    a instanceof Error ? errorSummary(a) : typeof a === 'string' ? bound(a) : a,
  );
  return { text: bound(oneLine(formatWithOptions(INSPECT, message, ...shown))), fields };
}

/**
 * One log record as text: the message with its arguments (an Error argument as its
 * one-line summary), then the fields as `key=value`; an `err` field adds its summary and,
 * on the following lines, its stack (once), as oslo's `LOG.exception` does.
 */
export function formatLogRecord(message: string, args: readonly unknown[]): string {
  const { text, fields } = splitLogRecord(message, args);
  let line = text;
  let stack = '';
  if (fields !== undefined) {
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'err' || value === undefined) continue;
      const text = typeof value === 'string' ? value : inspect(value, INSPECT);
      line += ` ${key}=${bound(oneLine(text))}`;
    }
    const err = fields.err;
    if (err !== undefined) {
      line += `: ${bound(errorSummary(err))}`;
      if (err instanceof Error && typeof err.stack === 'string') {
        // The stack's first lines repeat the message: keep only the frames.
        stack = err.stack
          .split('\n')
          .filter((l) => /^\s+at /.test(l))
          .join('\n');
        let cause: unknown = err.cause;
        for (let depth = 0; cause !== undefined && depth < 5; depth++) {
          stack += `\nCaused by: ${bound(errorSummary(cause))}`;
          cause = cause instanceof Error ? cause.cause : undefined;
        }
      }
    }
  }
  return stack === '' ? line : `${line}\n${stack}`;
}

/**
 * The default logger: warnings and errors go to stderr; debug and info lines are
 * printed only when `NODE_DEBUG=oslo-messaging` is set. Each record is one line (an
 * `err` field adds its stack below it); wire values are cut to a bounded size.
 */
export const defaultLogger: Logger = {
  debug: (message, ...args) => {
    if (debugOut.enabled) debugOut('%s', formatLogRecord(message, args));
  },
  info: (message, ...args) => {
    if (debugOut.enabled) debugOut('%s', formatLogRecord(message, args));
  },
  warn: (message, ...args) =>
    console.error(`WARNING oslo-messaging: ${formatLogRecord(message, args)}`),
  error: (message, ...args) =>
    console.error(`ERROR oslo-messaging: ${formatLogRecord(message, args)}`),
};

/** A logger that discards everything (for tests and quiet tools). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
