/**
 * Logging. The library never writes to a global logger: each transport has a
 * {@link Logger}, passed down to its drivers and servers. Any object with these four
 * methods works (console, pino, winston through a thin adapter).
 *
 * @module
 */
import { debuglog, format } from 'node:util';

/** The logger a transport, server or notifier writes to. */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

const debugOut = debuglog('oslo-messaging');

/**
 * The default logger: warnings and errors go to stderr; debug and info lines are
 * printed only when `NODE_DEBUG=oslo-messaging` is set.
 */
export const defaultLogger: Logger = {
  debug: (message, ...args) => debugOut(message, ...args),
  info: (message, ...args) => debugOut(message, ...args),
  warn: (message, ...args) => console.error(`WARNING oslo-messaging: ${format(message, ...args)}`),
  error: (message, ...args) => console.error(`ERROR oslo-messaging: ${format(message, ...args)}`),
};

/** A logger that discards everything (for tests and quiet tools). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
