/**
 * The shape of a subcommand.
 *
 * @module
 */
import type { ExitCode } from '../errors.js';
import type { CommandSpec, ParsedArgs } from '../options.js';

/** A subcommand: its option table (for parsing and `--help`) and what it does. */
export interface Command {
  readonly spec: CommandSpec;
  /**
   * The command handles SIGINT and SIGTERM itself (a listener stops cleanly on Ctrl-C).
   * Otherwise a signal ends it at once with 128 + the signal's number.
   */
  readonly handlesSignals?: boolean;
  /** Runs the command; resolves with the exit status, throws for a failure. */
  run(args: ParsedArgs): Promise<ExitCode>;
}
