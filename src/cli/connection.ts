/**
 * How a subcommand gets its transport (`--url`, `$OSLO_MESSAGING_TRANSPORT_URL`,
 * `--config-file`), the tool's logger, and deadlines that bound every wait on the broker.
 *
 * @module
 */

import {
  Config,
  formatLogRecord,
  getNotificationTransport,
  getRpcTransport,
  type Logger,
  type NotificationTransport,
  type RPCTransport,
  type Transport,
} from '../index.js';
import { checkBroker } from './amqp/broker.js';
import { CliFailure, ConnectFailure, oneLine, signalExitCode } from './errors.js';
import { flagOpt, intOpt, listOpt, nameOpt, PROG, type OptionValues } from './options.js';

/** The environment variable read when `--url` is not given. */
export const URL_ENV = 'OSLO_MESSAGING_TRANSPORT_URL';

/** Default of `--connect-timeout`, in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The tool's logger. Library log lines are kept back while a command starts, so that a
 * failure prints exactly one line; once `live`, warnings and errors (a lost connection,
 * a reconnect) go to stderr as they happen. `--debug` prints everything at once.
 */
export class CliLogger implements Logger {
  /** Print warnings and errors as they are logged. */
  live = false;
  readonly #debug: boolean;
  readonly #errors: string[] = [];

  constructor(debug: boolean) {
    this.#debug = debug;
  }

  /** Errors logged so far, one line each (the notifier reports failed sends this way). */
  get errors(): readonly string[] {
    return this.#errors;
  }

  debug(message: string, ...args: unknown[]): void {
    if (this.#debug) this.#print('debug', message, args);
  }

  info(message: string, ...args: unknown[]): void {
    if (this.#debug) this.#print('info', message, args);
  }

  warn(message: string, ...args: unknown[]): void {
    if (this.#debug || this.live) this.#print('warning', message, args);
  }

  error(message: string, ...args: unknown[]): void {
    const line = render(message, args);
    this.#errors.push(line);
    if (this.#debug || this.live) process.stderr.write(`${PROG}: error: ${line}\n`);
  }

  #print(level: string, message: string, args: unknown[]): void {
    process.stderr.write(`${PROG}: ${level}: ${render(message, args)}\n`);
  }
}

function render(message: string, args: unknown[]): string {
  // The library's one-line form (errors as `Class: message`, structured fields as
  // key=value); the tool shows no stack.
  return oneLine(formatLogRecord(message, args).split('\n')[0] ?? '');
}

/** The options about the connection every broker-facing subcommand takes. */
export interface ConnectionSettings {
  readonly url: string | undefined;
  readonly configFiles: readonly string[];
  readonly connectTimeoutMs: number;
  readonly debug: boolean;
}

/** Read `--url`, `--config-file`, `--connect-timeout` and `--debug`. */
export function connectionSettings(values: OptionValues): ConnectionSettings {
  const fromEnv = process.env[URL_ENV];
  return {
    url: nameOpt(values, 'url') ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv),
    configFiles: listOpt(values, 'config-file'),
    connectTimeoutMs: intOpt(values, 'connect-timeout', { min: 1 }) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    debug: flagOpt(values, 'debug'),
  };
}

/**
 * The configuration: the `--config-file`s in order, with `control_exchange` overridden
 * when `--exchange` is given (notifications have no per-target exchange).
 */
export async function loadConfig(settings: ConnectionSettings, exchange?: string): Promise<Config> {
  const overrides =
    exchange === undefined ? undefined : { DEFAULT: { control_exchange: exchange } };
  if (settings.configFiles.length === 0) return Config.from(overrides);
  const conf = await Config.fromFiles(settings.configFiles, overrides);
  // Printed at once, unlike library warnings while a command starts: they are about the
  // files the user named (ignored options, options without effect here).
  for (const notice of conf.notices()) process.stderr.write(`${PROG}: warning: ${notice}\n`);
  return conf;
}

/**
 * Check that a new transport's broker can be used before anything is sent: a refused
 * login, a missing virtual host, a TLS failure or a port that does not speak AMQP fail
 * at once with the reason (the driver would retry them, or report a bare timeout).
 */
async function checked<T extends Transport>(
  transport: T,
  settings: ConnectionSettings,
): Promise<T> {
  try {
    await checkBroker(transport.url, transport.conf, settings.connectTimeoutMs);
    return transport;
  } catch (err) {
    await closeTransport(transport);
    throw err;
  }
}

/** An RPC transport: the URL from the settings, else the configuration's. */
export async function openRpcTransport(
  settings: ConnectionSettings,
  logger: Logger,
  exchange?: string,
): Promise<RPCTransport> {
  const conf = await loadConfig(settings, exchange);
  return checked(getRpcTransport(conf, { url: settings.url, logger }), settings);
}

/** A notification transport: the URL from the settings, else the configuration's. */
export async function openNotificationTransport(
  settings: ConnectionSettings,
  logger: Logger,
  exchange?: string,
): Promise<NotificationTransport> {
  const conf = await loadConfig(settings, exchange);
  return checked(getNotificationTransport(conf, { url: settings.url, logger }), settings);
}

/**
 * `promise`, or a {@link CliFailure} from `onTimeout` if it has not settled within `ms`.
 * The timer is cleared on every path.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error of a broker that did not answer within `--connect-timeout`. */
export function unreachable(transport: Transport, ms: number): CliFailure {
  return new ConnectFailure(
    `cannot reach the broker at ${transport.url.toString()}: no connection within ${ms} ms`,
  );
}

/**
 * Close a transport, giving up after `ms` (a broker that went away must not hold the
 * tool open). Never rejects.
 */
export async function closeTransport(transport: Transport, ms = 2_000): Promise<void> {
  await withDeadline(transport.cleanup(), ms, () => new Error('cleanup timed out')).catch(
    () => undefined,
  );
}

/**
 * `promise`, unless the interrupt comes first: then a {@link CliFailure} with 128 + the
 * signal's number (a Ctrl-C while a command is still connecting ends it at once with 130,
 * a SIGTERM with 143).
 */
export async function unlessInterrupted<T>(
  promise: Promise<T>,
  interrupt: { promise: Promise<NodeJS.Signals> },
): Promise<T> {
  const interrupted = interrupt.promise.then((signal) => {
    throw new CliFailure(`interrupted (${signal})`, signalExitCode(signal));
  });
  return Promise.race([promise, interrupted]);
}

/** Resolves on the first SIGINT or SIGTERM; the handlers are removed by `dispose`. */
export function onInterrupt(): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = (): void => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const handler = (signal: NodeJS.Signals): void => resolve(signal);
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    dispose = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  });
  return { promise, dispose };
}
