/**
 * Structured logging: a pino-compatible logger (pino, or anything with its calling
 * convention `logger.error(fields, message)`) given as a transport's `logger` receives
 * every record as an object of fields (`{ err, method, msg_id, ... }`, an error always
 * as `err`, never formatted into text) and the message.
 *
 * @module
 */
import { splitLogRecord, type Logger } from '../log.js';

/** A logger with pino's calling convention: fields first, then the message. */
export interface PinoLikeLogger {
  /** A debug record: its fields (`err`, `method`, ...), then the message. */
  debug(fields: object, message?: string): void;
  /** An info record. */
  info(fields: object, message?: string): void;
  /** A warning record. */
  warn(fields: object, message?: string): void;
  /** An error record; an error is in `fields.err`. */
  error(fields: object, message?: string): void;
  /** pino's child loggers; its presence (with `bindings`) is how one is recognised. */
  child(bindings: object): unknown;
  /** pino's bindings of this logger. */
  bindings(): object;
}

/** Whether `logger` follows pino's convention (it has `child()` and `bindings()`). */
export function isPinoLike(logger: unknown): logger is PinoLikeLogger {
  const l = logger as Partial<PinoLikeLogger> | null;
  return (
    typeof l === 'object' &&
    l !== null &&
    typeof l.child === 'function' &&
    typeof l.bindings === 'function'
  );
}

/** A {@link Logger} that writes to a pino-compatible one, fields first. */
export function structuredLogger(target: PinoLikeLogger): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, ...args: unknown[]): void => {
      const { text, fields } = splitLogRecord(message, args);
      target[level]({ ...fields }, text);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The logger a transport uses: a pino-compatible one adapted, any other as given. */
export function asLogger(logger: Logger | PinoLikeLogger): Logger {
  return isPinoLike(logger) ? structuredLogger(logger) : logger;
}
