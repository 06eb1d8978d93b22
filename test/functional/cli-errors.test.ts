/**
 * The `oslo-messaging` executable on bad input: unknown subcommands and options,
 * malformed JSON, bad URLs and configuration, an unreachable broker. Each gets one line
 * on stderr (never a stack trace) and a non-zero exit status, within a bounded time.
 * Also `--help` on the tool and on every subcommand.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** Nothing listens on port 1: connections are refused at once. */
const NO_BROKER = 'rabbit://guest:guest@127.0.0.1:1/';
const COMMANDS = [
  'listen',
  'notify',
  'call',
  'cast',
  'ping',
  'queues',
  'top',
  'peek',
  'republish',
  'move',
  'bench',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      {
        cwd: ROOT,
        timeout: 30_000,
        env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '', ...env },
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** One line on stderr matching `pattern`, nothing on stdout, no stack trace. */
function assertOneLineError(run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit status; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'a stack trace was printed');
  const lines = run.stderr.split('\n');
  assert.equal(lines.length, 2, `expected one line on stderr, got: ${JSON.stringify(run.stderr)}`);
  assert.equal(lines[1], '');
  assert.match(lines[0] ?? '', pattern);
}

const USAGE: readonly { name: string; args: string[]; stderr: RegExp }[] = [
  {
    name: 'an unknown subcommand',
    args: ['frobnicate'],
    stderr:
      /^oslo-messaging: unknown command 'frobnicate'; commands are listen, notify, call, cast, ping, queues, top, peek, republish, move, bench \(see 'oslo-messaging --help'\)$/,
  },
  {
    name: 'an unknown option',
    args: ['notify', '--frob'],
    stderr:
      /^oslo-messaging notify: Unknown option '--frob' \(see 'oslo-messaging notify --help'\)$/,
  },
  {
    name: 'an option without its value',
    args: ['listen', '--count'],
    stderr: /^oslo-messaging listen: Option '--count <value>' argument missing/,
  },
  {
    name: 'malformed JSON in --payload',
    args: ['notify', '--payload', '{"a": 1'],
    stderr: /^oslo-messaging notify: --payload is not valid JSON: /,
  },
  {
    name: 'a JSON array as --args',
    args: ['call', '--topic', 't', 'm', '--args', '[1, 2]'],
    stderr: /^oslo-messaging call: --args must be a JSON object/,
  },
  {
    name: 'malformed JSON in --context',
    args: ['cast', '--topic', 't', 'm', '--context', "{'single': 'quotes'}"],
    stderr: /^oslo-messaging cast: --context is not valid JSON: /,
  },
  {
    name: 'a missing method',
    args: ['call', '--topic', 't'],
    stderr: /^oslo-messaging call: missing argument METHOD/,
  },
  {
    name: 'a missing --topic',
    args: ['call', 'm'],
    stderr: /^oslo-messaging call: --topic is required/,
  },
  {
    name: 'a count that is not a number',
    args: ['listen', '--count', 'abc'],
    stderr: /^oslo-messaging listen: --count must be an integer >= 1, got 'abc'/,
  },
  {
    name: 'a peek beyond its bound',
    args: ['peek', 'q', '--count', '10001'],
    stderr: /^oslo-messaging peek: --count must be an integer between 1 and 10000, got '10001'/,
  },
  {
    name: 'an unknown priority',
    args: ['listen', '--priority', 'loud', '--url', 'fake://'],
    stderr:
      /^oslo-messaging listen: --priority must be one of audit, debug, info, warn, error, critical, sample, got 'loud'/,
  },
  {
    name: 'an invalid --event-type pattern',
    args: ['listen', '--event-type', '(', '--url', 'fake://'],
    stderr:
      /^oslo-messaging: PatternError: NotificationFilter eventType: missing \), unterminated subpattern at position 0$/,
  },
  {
    name: 'a malformed version',
    args: ['call', '--topic', 't', 'm', '--version', '1', '--url', 'fake://'],
    stderr: /^oslo-messaging: InvalidRPCVersion: /,
  },
  {
    name: 'a URL without a scheme',
    args: ['notify', '--url', 'localhost:5672'],
    stderr: /^oslo-messaging: InvalidTransportURL: /,
  },
  {
    name: 'a URL with an unknown scheme',
    args: ['cast', '--topic', 't', 'm', '--url', 'amqp1://h/'],
    stderr: /^oslo-messaging: DriverLoadFailure: Failed to load transport driver "amqp1"/,
  },
  {
    name: 'a URL query naming no rabbit option',
    args: ['notify', '--url', 'rabbit://h/?no_such_option=1'],
    stderr: /^oslo-messaging: ConfigurationError: .*no such option no_such_option/,
  },
  {
    name: 'a missing config file',
    args: ['notify', '--config-file', '/nonexistent/omtc.conf'],
    stderr:
      /^oslo-messaging: ConfigurationError: Failed to read config file \/nonexistent\/omtc\.conf/,
  },
  {
    name: 'an unknown bench role',
    args: ['bench', 'everything'],
    stderr:
      /^oslo-messaging bench: ROLE must be one of rpc-server, rpc-client, notify-server, notify-client, all/,
  },
  {
    name: 'a bad bench mode',
    args: ['bench', 'rpc-client', '--mode', 'broadcast'],
    stderr: /^oslo-messaging bench: --mode must be one of call, cast, fanout/,
  },
];

for (const c of USAGE) {
  test(`cli - ${c.name} is a usage error: one line, exit status 2`, async () => {
    assertOneLineError(await cli(c.args), 2, c.stderr);
  });
}

test('cli - a bad value in a config file is a usage error naming the option', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omtc_'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.conf');
  await writeFile(file, '[oslo_messaging_rabbit]\nheartbeat_rate = often\n');
  assertOneLineError(
    await cli(['notify', '--config-file', file]),
    2,
    /^oslo-messaging: ConfigurationError: .*oslo_messaging_rabbit\.heartbeat_rate.*often/,
  );
});

test('cli - a bad URL in the environment is reported like --url', async () => {
  assertOneLineError(
    await cli(['cast', '--topic', 't', 'm'], { OSLO_MESSAGING_TRANSPORT_URL: 'nope' }),
    2,
    /^oslo-messaging: InvalidTransportURL: Invalid transport URL: nope/,
  );
});

/**
 * Every command that talks to the broker checks it first: a refused connection is one
 * line naming the address and what to check, exit status 4 (the broker could not be
 * used), at once rather than after retries or a timeout.
 */
const REFUSED =
  /^oslo-messaging: connection refused by 127\.0\.0\.1:1: is RabbitMQ running there, and is the port right \(5672, or 5671 with ssl\)\?$/;
const UNREACHABLE: readonly { name: string; args: string[] }[] = [
  { name: 'notify', args: ['notify', '--topic', 'omtc_t'] },
  { name: 'cast', args: ['cast', '--topic', 'omtc_t', 'm'] },
  { name: 'call', args: ['call', '--topic', 'omtc_t', 'm', '--timeout', '1000'] },
  { name: 'ping', args: ['ping', '--topic', 'omtc_t', '--timeout', '1000'] },
  { name: 'listen', args: ['listen', '--topic', 'omtc_t'] },
  { name: 'listen --pool', args: ['listen', '--topic', 'omtc_t', '--pool', 'omtc_p'] },
  { name: 'queues', args: ['queues'] },
  { name: 'top', args: ['top'] },
  { name: 'peek', args: ['peek', 'omtc_q'] },
  { name: 'move', args: ['move', 'omtc_q', '--to-queue', 'omtc_r'] },
  { name: 'bench rpc-server', args: ['bench', 'rpc-server', '--topic', 'omtc_t'] },
  {
    name: 'bench rpc-client',
    args: ['bench', 'rpc-client', '--topic', 'omtc_t', '--mode', 'cast'],
  },
];

for (const c of UNREACHABLE) {
  test(`cli - ${c.name} with a refused connection fails with one line naming the address, exit status 4`, async () => {
    assertOneLineError(await cli([...c.args, '--url', NO_BROKER]), 4, REFUSED);
  });
}

test('cli - --help on the tool lists the subcommands; no subcommand prints it and exits 2', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.equal(help.stderr, '');
  for (const name of COMMANDS) {
    assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
  }
  const bare = await cli([]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, help.stdout);
});

for (const name of COMMANDS) {
  test(`cli ${name} --help - prints its usage and options, exit status 0`, async () => {
    const run = await cli([name, '--help']);
    assert.equal(run.code, 0);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, new RegExp(`^Usage: oslo-messaging ${name} \\[options\\]`));
    assert.match(run.stdout, /--url URL/);
    assert.match(run.stdout, /--config-file PATH/);
    assert.match(run.stdout, /-h, --help/);
  });
}

test('cli --version - prints the package version', async () => {
  const run = await cli(['--version']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^oslo-messaging \d+\.\d+\.\d+/);
});
