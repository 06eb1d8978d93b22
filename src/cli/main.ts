#!/usr/bin/env node
/**
 * Entry point of the `oslo-messaging` executable.
 *
 * @module
 */
import { main } from './cli.js';
import { describeError, ExitCode } from './errors.js';
import { PROG } from './options.js';

function fatal(err: unknown): void {
  // Whatever escaped (an error event nobody handled): one line, never a stack trace.
  process.stderr.write(`${PROG}: ${describeError(err)}\n`);
  process.exit(ExitCode.FAILURE);
}

process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
// `oslo-messaging listen | head`: a closed pipe ends the tool quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(ExitCode.OK);
  fatal(err);
});

const code = await main(process.argv.slice(2));
// Transports are closed by now; exiting explicitly ends whatever a broker that went
// away may still hold open (a connect attempt, a reconnect timer). Output to pipes,
// files and terminals is written synchronously on POSIX, so nothing is lost.
process.exit(code);
