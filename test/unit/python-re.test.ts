import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { PatternError, UnsupportedPattern } from '../../src/errors.js';
import { fnmatchToRegExp, fnmatchTranslate } from '../../src/notify/routing.js';
import { PythonRegExp } from '../../src/wire/python-re.js';

// What Python's re.match said for every pattern x subject: produced by running
// test/fixtures/python/regex.py with /usr/bin/python3 (Debian's 3.11), which regenerates it.
interface RegexFixture {
  python: string;
  subjects: string[];
  unsupported: string[];
  cases: ({ pattern: string; error: string } | { pattern: string; match: string })[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/python/regex.json', import.meta.url), 'utf8'),
) as RegexFixture;
const unsupported = new Set(fixture.unsupported);

function compile(pattern: string): PythonRegExp | Error {
  try {
    return new PythonRegExp(pattern);
  } catch (err) {
    return err as Error;
  }
}

test(`PythonRegExp - refuses every pattern Python ${fixture.python} refuses, with PatternError`, () => {
  const wrong: string[] = [];
  for (const c of fixture.cases) {
    if (!('error' in c)) continue;
    const re = compile(c.pattern);
    if (!(re instanceof PatternError))
      wrong.push(`${JSON.stringify(c.pattern)} (Python: ${c.error})`);
  }
  assert.deepEqual(wrong, []);
});

test('PythonRegExp - refuses the listed constructs with UnsupportedPattern, naming them', () => {
  for (const pattern of unsupported) {
    const re = compile(pattern);
    assert.ok(re instanceof UnsupportedPattern, `${JSON.stringify(pattern)}: ${String(re)}`);
    assert.ok(re.construct.length > 0);
    assert.equal(re.pattern, pattern);
  }
});

test(`PythonRegExp - matches as Python's re.match on every other pattern x subject`, () => {
  const wrong: string[] = [];
  let compared = 0;
  for (const c of fixture.cases) {
    if (!('match' in c) || unsupported.has(c.pattern)) continue;
    const re = compile(c.pattern);
    if (re instanceof Error) {
      wrong.push(`${JSON.stringify(c.pattern)} refused: ${re.message}`);
      continue;
    }
    fixture.subjects.forEach((subject, i) => {
      compared += 1;
      const expected = c.match[i] === '1';
      if (re.match(subject) !== expected) {
        wrong.push(
          `${JSON.stringify(c.pattern)} on ${JSON.stringify(subject)}: Python ${expected}`,
        );
      }
    });
  }
  assert.deepEqual(wrong.slice(0, 30), []);
  assert.ok(compared > 30_000, `compared ${compared}`);
});

test('PythonRegExp - search and fullmatch', () => {
  const re = new PythonRegExp('b+');
  assert.equal(re.match('abb'), false);
  assert.equal(re.search('abb'), true);
  assert.equal(re.fullmatch('bb'), true);
  assert.equal(re.fullmatch('bba'), false);
  assert.equal(String(re), 're.compile("b+")');
});

test('PythonRegExp - errors carry the pattern and the position, as re.error does', () => {
  assert.throws(() => new PythonRegExp('a**'), {
    name: 'PatternError',
    message: 'multiple repeat at position 2',
    pattern: 'a**',
    pos: 2,
  });
  assert.throws(() => new PythonRegExp('(a)?(?(1)b|c)'), {
    name: 'UnsupportedPattern',
    construct: 'a conditional group (?(id/name)yes|no)',
  });
});

test("fnmatch - translates shell patterns as Python's fnmatch.translate and matches as fnmatchcase", () => {
  const globs = (
    fixture as unknown as { fnmatch: { pattern: string; translated: string; match: string }[] }
  ).fnmatch;
  assert.ok(globs.length > 10);
  for (const glob of globs) {
    assert.equal(fnmatchTranslate(glob.pattern), glob.translated, glob.pattern);
    const compiled = fnmatchToRegExp(glob.pattern);
    fixture.subjects.forEach((subject, i) => {
      assert.equal(
        compiled.test(subject),
        glob.match[i] === '1',
        `${glob.pattern} ${JSON.stringify(subject)}`,
      );
    });
  }
});
