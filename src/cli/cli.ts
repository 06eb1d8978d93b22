/**
 * The command-line tool: subcommand dispatch, `--help`, `--version`, and the rule that
 * every failure is one line on stderr with a non-zero exit status, never a stack trace.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

import { benchCommand } from './commands/bench.js';
import type { Command } from './commands/command.js';
import { listenCommand } from './commands/listen.js';
import { notifyCommand } from './commands/notify.js';
import { peekCommand } from './commands/peek.js';
import { queuesCommand } from './commands/queues.js';
import { topCommand } from './commands/top.js';
import { moveCommand, republishCommand } from './commands/republish.js';
import { callCommand, castCommand, pingCommand } from './commands/rpc.js';
import { onInterrupt, unlessInterrupted } from './connection.js';
import { describeError, EXIT_STATUSES, ExitCode, exitCodeOf, UsageError } from './errors.js';
import { commandHelp, formatRow, parseCommandArgs, PROG } from './options.js';

const COMMANDS: readonly Command[] = [
  listenCommand,
  notifyCommand,
  callCommand,
  castCommand,
  pingCommand,
  queuesCommand,
  topCommand,
  peekCommand,
  republishCommand,
  moveCommand,
  benchCommand,
];

/** The tool's `--help`. */
export function toolHelp(): string {
  const lines = [
    `Usage: ${PROG} <command> [options]`,
    '',
    'OpenStack oslo.messaging from the command line: tail and send notifications, call RPC',
    'servers, benchmark a broker. Wire-compatible with Python services.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => formatRow(c.spec.name, c.spec.summary)),
    '',
    'Options:',
    formatRow('-h, --help', 'show this help; `<command> --help` for a command'),
    formatRow('--version', 'print the version'),
    '',
    'The transport comes from --url, else $OSLO_MESSAGING_TRANSPORT_URL, else transport_url in',
    '--config-file, else rabbit://guest:guest@localhost:5672/.',
    '',
    'Exit status:',
    ...EXIT_STATUSES.map((e) => formatRow(e.codes.join(' or '), e.meaning)),
  ];
  return `${lines.join('\n')}\n`;
}

function version(): string {
  // src/cli/ and dist/cli/ are both two levels below package.json.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const pkg = JSON.parse(text) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/**
 * Run the tool with `argv` (without `node` and the script). Resolves with the exit
 * status; writes results to stdout and one line per failure to stderr.
 */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  try {
    return await dispatch(argv);
  } catch (err) {
    let line = `${PROG}: ${describeError(err)}`;
    if (err instanceof UsageError) {
      line = `${PROG}${err.command === undefined ? '' : ` ${err.command}`}: ${describeError(err)}`;
      line += ` (see '${PROG}${err.command === undefined ? '' : ` ${err.command}`} --help')`;
    }
    process.stderr.write(`${line}\n`);
    return exitCodeOf(err);
  }
}

async function dispatch(argv: readonly string[]): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const command = COMMANDS.find((c) => c.spec.name === topic);
    process.stdout.write(command === undefined ? toolHelp() : commandHelp(command.spec));
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${PROG} ${version()}\n`);
    return ExitCode.OK;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (command === undefined) {
    const what = name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}'`;
    throw new UsageError(`${what}; commands are ${COMMANDS.map((c) => c.spec.name).join(', ')}`);
  }
  const args = parseCommandArgs(command.spec, rest);
  if (args.help) {
    process.stdout.write(commandHelp(command.spec));
    return ExitCode.OK;
  }
  const interrupt = command.handlesSignals === true ? undefined : onInterrupt();
  try {
    const running = command.run(args);
    return await (interrupt === undefined ? running : unlessInterrupted(running, interrupt));
  } catch (err) {
    // Value checks deep in a command don't know its name; the hint should.
    if (err instanceof UsageError && err.command === undefined) {
      throw new UsageError(err.message, command.spec.name);
    }
    throw err;
  } finally {
    interrupt?.dispose();
  }
}
