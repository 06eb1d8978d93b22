/**
 * The exit statuses are one list: the values the tool returns (`ExitCode`), what
 * `--help` prints and the README's table name the same statuses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { toolHelp } from '../../../src/cli/cli.js';
import { EXIT_STATUSES, ExitCode } from '../../../src/cli/errors.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The statuses of the README's exit status table, as `[codes, meaning]` rows. */
function readmeTable(): [number[], string][] {
  const start = README.indexOf('| exit status |');
  assert.ok(start >= 0, 'README has no exit status table');
  const rows = README.slice(start).split('\n\n')[0]?.split('\n').slice(2) ?? [];
  return rows.map((row) => {
    const [, codes = '', meaning = ''] = row.split('|').map((c) => c.trim());
    return [[...codes.matchAll(/\d+/g)].map((m) => Number(m[0])), meaning];
  });
}

const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);

test('cli exit status - every ExitCode is listed once by --help and by the README', () => {
  const values = sorted(Object.values(ExitCode));
  assert.deepEqual(sorted(EXIT_STATUSES.flatMap((e) => e.codes)), values);
  assert.deepEqual(sorted(readmeTable().flatMap(([codes]) => codes)), values);
});

test('cli exit status - --help prints each status with its meaning', () => {
  const help = toolHelp();
  const section = help.slice(help.indexOf('Exit status:'));
  for (const e of EXIT_STATUSES) {
    const line = section.split('\n').find((l) => l.startsWith(`  ${e.codes.join(' or ')} `));
    assert.ok(line?.includes(e.meaning.split(' ').slice(0, 3).join(' ')), `--help: ${line}`);
  }
});

test('cli exit status - the README and --help agree on what each status means', () => {
  // One word of the meaning that both must use, per status.
  const keyword = new Map<number, RegExp>([
    [ExitCode.OK, /done/],
    [ExitCode.FAILURE, /remote error/],
    [ExitCode.USAGE, /usage/],
    [ExitCode.TIMEOUT, /timed out/],
    [ExitCode.UNREACHABLE, /broker could not be used/],
    [ExitCode.INTERRUPTED, /SIGINT/],
    [ExitCode.TERMINATED, /SIGTERM/],
  ]);
  for (const [codes, meaning] of readmeTable()) {
    for (const code of codes) assert.match(meaning, keyword.get(code) ?? /^$/, `README ${code}`);
  }
  for (const e of EXIT_STATUSES) {
    for (const code of e.codes) {
      assert.match(e.meaning, keyword.get(code) ?? /^$/, `--help ${code}`);
    }
  }
});
