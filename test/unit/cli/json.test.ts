/**
 * The CLI's reading and writing of JSON as Python's json module does: integers beyond
 * 2^53 exact, NaN and Infinity accepted, errors with a position.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  formatJson as formatPythonJson,
  parseJson as parsePythonJson,
} from '../../../src/cli/json.js';

test('python json - integers beyond 2^53 are read as exact bigints, smaller ones as numbers', () => {
  assert.deepEqual(parsePythonJson('{"a": 123456789012345678901234, "b": 9007199254740991}'), {
    a: 123456789012345678901234n,
    b: 9007199254740991,
  });
  assert.deepEqual(parsePythonJson('[-9007199254740993, 1.5e300, 10000000000000000.0]'), [
    -9007199254740993n,
    1.5e300,
    10000000000000000,
  ]);
});

test('python json - NaN, Infinity and -Infinity are accepted, as json.loads does', () => {
  const v = parsePythonJson('{"n": NaN, "i": Infinity, "m": -Infinity, "s": "NaN"}') as Record<
    string,
    unknown
  >;
  assert.ok(Number.isNaN(v['n']));
  assert.equal(v['i'], Infinity);
  assert.equal(v['m'], -Infinity);
  assert.equal(v['s'], 'NaN');
});

test('python json - what is not JSON is a SyntaxError with a position', () => {
  for (const text of ["{'single': 'quotes'}", '{"a": 1', 'True', '[1,]', '{"a": 1} x', 'nan']) {
    assert.throws(() => parsePythonJson(text), SyntaxError, text);
  }
  assert.throws(() => parsePythonJson('[1, 12345678901234567890,]'), /position 25/);
});

test('python json - a __proto__ key is data, not a prototype', () => {
  const v = parsePythonJson('{"__proto__": {"x": 1}, "n": 12345678901234567890}') as object;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__', 'n']);
});

test('python json - formatting keeps bigints exact and writes NaN as Python does', () => {
  const value = { a: 123456789012345678901234n, b: [NaN, -Infinity, 1.5], c: 'é', d: undefined };
  assert.equal(
    formatPythonJson(value),
    '{"a":123456789012345678901234,"b":[NaN,-Infinity,1.5],"c":"é"}',
  );
  assert.equal(formatPythonJson({ x: [1n] }, 2), '{\n  "x": [\n    1\n  ]\n}');
  assert.equal(formatPythonJson([]), '[]');
});
