/**
 * Exit statuses and one-line error messages of the command-line tool. A user never sees
 * a stack trace: every failure becomes one line on stderr and an exit status.
 *
 * @module
 */
import {
  ConfigurationError,
  DriverLoadFailure,
  InvalidRPCVersion,
  PatternError,
  InvalidTarget,
  InvalidTransportURL,
  MessagingTimeout,
  RemoteError,
} from '../index.js';

/** The exit statuses of `oslo-messaging`. */
export const ExitCode = {
  /** Done. */
  OK: 0,
  /** The operation failed: a remote error, the broker refused or could not be reached. */
  FAILURE: 1,
  /** Bad input: unknown subcommand or option, malformed JSON, a bad URL or configuration. */
  USAGE: 2,
  /** Nothing came back in time: no reply to a call, too few notifications before `--timeout`. */
  TIMEOUT: 3,
  /**
   * No usable connection: the broker refused the TCP connection or was not reached, the
   * port does not speak AMQP, TLS failed, the login or the virtual host was refused.
   */
  UNREACHABLE: 4,
  /** Interrupted by SIGINT (Ctrl-C) before the command could finish starting: 128 + 2. */
  INTERRUPTED: 130,
  /** Ended by SIGTERM before the command could finish starting: 128 + 15. */
  TERMINATED: 143,
} as const;

/** A value of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every exit status with its meaning, as `--help` prints them; the README's table says
 * the same at more length (a unit test holds the three together).
 */
export const EXIT_STATUSES: readonly {
  readonly codes: readonly ExitCode[];
  readonly meaning: string;
}[] = [
  {
    codes: [ExitCode.OK],
    meaning: 'done (also listen, top or a server ended by Ctrl-C once running)',
  },
  {
    codes: [ExitCode.FAILURE],
    meaning: 'failed: a remote error, a message refused or not routed, no such queue',
  },
  { codes: [ExitCode.USAGE], meaning: 'bad usage: command, option, JSON, URL or pattern' },
  { codes: [ExitCode.TIMEOUT], meaning: 'timed out: no reply, fewer notifications than --count' },
  {
    codes: [ExitCode.UNREACHABLE],
    meaning: 'the broker could not be used: unreachable, not AMQP, TLS, login, vhost',
  },
  {
    codes: [ExitCode.INTERRUPTED, ExitCode.TERMINATED],
    meaning: 'SIGINT or SIGTERM before the command was running (128 + signal)',
  },
];

/** Bad command-line input: printed with a hint to `--help`, exit status 2. */
export class UsageError extends Error {
  /** The subcommand whose `--help` the hint points to, if any. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** A failure the tool itself detected (a deadline, too few messages), with its exit status. */
export class CliFailure extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.FAILURE) {
    super(message);
    this.name = 'CliFailure';
    this.exitCode = exitCode;
  }
}

/**
 * The broker could not be used, with the reason and what to check, in one line (exit
 * status {@link ExitCode.UNREACHABLE}).
 */
export class ConnectFailure extends CliFailure {
  constructor(message: string) {
    super(message, ExitCode.UNREACHABLE);
    this.name = 'ConnectFailure';
  }
}

/** The status for a signal that ended a command before it was running: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): ExitCode {
  return signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.TERMINATED;
}

/** The exit status for an error thrown by a command. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof CliFailure) return err.exitCode;
  if (err instanceof MessagingTimeout) return ExitCode.TIMEOUT;
  if (
    err instanceof InvalidTransportURL ||
    err instanceof DriverLoadFailure ||
    err instanceof ConfigurationError ||
    err instanceof InvalidTarget ||
    err instanceof InvalidRPCVersion ||
    err instanceof PatternError ||
    err instanceof SyntaxError
  ) {
    return ExitCode.USAGE;
  }
  return ExitCode.FAILURE;
}

/** Collapse whitespace runs (newlines included) so that a message stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * An error as one line: `Class: message`, as the last line of a Python traceback reads.
 * A remote error names the remote class (`RemoteError: nova.exception.NotFound: ...`).
 */
export function describeError(err: unknown): string {
  if (err instanceof RemoteError) {
    const cls =
      err.module === '' || err.module === 'builtins' ? err.excType : `${err.module}.${err.excType}`;
    return oneLine(`RemoteError: ${cls}: ${err.value}`);
  }
  if (err instanceof UsageError || err instanceof CliFailure) return oneLine(err.message);
  if (err instanceof Error) {
    const name = err.name === '' ? 'Error' : err.name;
    const message = err.message === '' ? describeCause(err) : err.message;
    return oneLine(message === '' ? name : `${name}: ${message}`);
  }
  return oneLine(String(err));
}

function describeCause(err: Error): string {
  const cause: unknown = err.cause;
  // AggregateError (a connection refused on both IPv4 and IPv6) has no message of its own.
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  return cause === undefined ? '' : describeError(cause);
}
