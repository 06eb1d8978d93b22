import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';

import { decodeMessage, encodeEnvelope } from '../../src/wire/envelope.js';
import { pyDumps, pyLoads, toPrimitive } from '../../src/wire/pyjson.js';
import {
  inheritFloatMarks,
  isReceivedFloat,
  PyFloat,
  pyFloat,
  pyFloatRepr,
} from '../../src/wire/pynumbers.js';

// What Python's json module wrote for the values of test/fixtures/python/numbers.py, run
// with /usr/bin/python3 (Debian's 3.11); that script regenerates the file.
interface NumberFixture {
  python: string;
  corpus: unknown;
  envelope: string;
  cases: { name: string; text: string; typed: unknown }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/python/numbers.json', import.meta.url), 'utf8'),
) as NumberFixture;

type Typed = ['int' | 'float', string];
const isTyped = (value: unknown): value is Typed =>
  Array.isArray(value) &&
  value.length === 2 &&
  (value[0] === 'int' || value[0] === 'float') &&
  typeof value[1] === 'string';

/** The value the documented rule gives for a typed description from Python. */
function expected(typed: unknown): unknown {
  if (isTyped(typed)) {
    const [kind, text] = typed;
    if (kind === 'float') {
      return text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : +text;
    }
    const big = BigInt(text);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }
  if (Array.isArray(typed)) return typed.map(expected);
  if (typed !== null && typeof typed === 'object') {
    return Object.fromEntries(Object.entries(typed).map(([k, v]) => [k, expected(v)]));
  }
  return typed;
}

/** Every whole float is marked where it was received; no int is. */
function checkMarks(typed: unknown, value: unknown, path: string): void {
  if (typed === null || typeof typed !== 'object' || isTyped(typed)) return;
  const container = value as Record<string | number, unknown>;
  const entries: [string | number, unknown][] = Array.isArray(typed)
    ? typed.map((t, i) => [i, t])
    : Object.entries(typed);
  for (const [key, item] of entries) {
    if (isTyped(item)) {
      const whole = item[0] === 'float' && Number.isInteger(Number(item[1]));
      assert.equal(isReceivedFloat(container, key), whole, `${path}.${key} ${item.join(' ')}`);
    } else {
      checkMarks(item, container[key], `${path}.${key}`);
    }
  }
}

test(`pyLoads - reads every number Python ${fixture.python} writes as the rule says`, () => {
  for (const { name, text, typed } of fixture.cases) {
    const value = pyLoads(text);
    assert.deepStrictEqual(value, expected(typed), name);
    checkMarks(typed, value, name);
  }
});

test('pyDumps - writes back what Python wrote, byte for byte (ints, floats, NaN)', () => {
  for (const { name, text } of fixture.cases) assert.equal(pyDumps(pyLoads(text)), text, name);
});

test('envelope - a Python envelope full of numbers decodes and re-encodes byte for byte', () => {
  const message = decodeMessage(fixture.envelope);
  assert.deepStrictEqual(message['args'], expected(fixture.corpus));
  assert.equal(encodeEnvelope(message), fixture.envelope);
});

test('pyLoads - an int beyond 2^53 arrives as a bigint, exactly', () => {
  const value = pyLoads('{"bytes": 18446744073709551615, "id": 9007199254740993}');
  assert.deepStrictEqual(value, { bytes: 18446744073709551615n, id: 9007199254740993n });
});

test('pyLoads - ints within 2^53 stay numbers, and Python -0 (an int) is 0', () => {
  assert.deepStrictEqual(
    pyLoads('[9007199254740991, -9007199254740991, -0]'),
    [9007199254740991, -9007199254740991, 0],
  );
});

test('pyLoads - __proto__ keys stay data on the slow path too', () => {
  const value = pyLoads('{"__proto__": {"x": 1.0}, "n": 1e400}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepStrictEqual(Object.keys(value), ['__proto__', 'n']);
  assert.equal(value['n'], Infinity);
});

test('pyLoads - rejects what is not JSON on the slow path with a SyntaxError', () => {
  for (const text of ['{"a": 1.0,}', '[1.0', '[1.0] x', '{"a" 1.0}', '[01.0]', '[1.0 2]']) {
    assert.throws(() => pyLoads(text), SyntaxError, text);
  }
});

test('pyFloat - sends a whole number as a Python float', () => {
  assert.equal(
    pyDumps({ ratio: pyFloat(1), big: pyFloat(1e20), n: 1 }),
    '{"ratio": 1.0, "big": 1e+20, "n": 1}',
  );
  assert.equal(Number(pyFloat(2.5)) + 1, 3.5);
  assert.equal(JSON.stringify({ f: pyFloat(3) }), '{"f":3}');
  assert.throws(() => new PyFloat('1' as unknown as number), TypeError);
});

test('whole floats - a changed value loses its float mark', () => {
  const value = pyLoads('{"a": 1.0, "b": 2.0}') as Record<string, number>;
  value['a'] = 5;
  assert.equal(pyDumps(value), '{"a": 5, "b": 2.0}');
});

test('whole floats - marks follow copies made by toPrimitive and inheritFloatMarks', () => {
  const value = pyLoads('{"a": [1.0, 2], "b": 3.0}') as Record<string, unknown>;
  assert.equal(pyDumps(toPrimitive(value)), '{"a": [1.0, 2], "b": 3.0}');
  const copy = { ...value };
  assert.equal(pyDumps(copy), '{"a": [1.0, 2], "b": 3}', 'a plain spread loses the mark');
  inheritFloatMarks(value, copy);
  assert.equal(pyDumps(copy), '{"a": [1.0, 2], "b": 3.0}');
});

const reprCases: [number, string][] = [
  [1, '1.0'],
  [-0, '-0.0'],
  [1e15, '1000000000000000.0'],
  [1e16, '1e+16'],
  [1.5e300, '1.5e+300'],
  [1e-4, '0.0001'],
  [1e-5, '1e-05'],
  [5e-324, '5e-324'],
  [0.1 + 0.2, '0.30000000000000004'],
];

test("pyFloatRepr - matches Python's repr() of a float", () => {
  for (const [value, text] of reprCases) assert.equal(pyFloatRepr(value), text, text);
});

// ---------------------------------------------------------------------------------------
// Property: random nested payloads round-trip through the envelope unchanged.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.maxSafeInteger(),
  fc.bigInt().filter((n) => n > MAX_SAFE || n < -MAX_SAFE),
  fc.double().map(pyFloat),
  fc.string({ unit: 'binary' }),
);
const { payload } = fc.letrec<{ payload: unknown }>((tie) => ({
  payload: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('payload'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('payload'), { maxKeys: 5 }),
  ),
}));

/** What a receiver gets for a value sent: a PyFloat arrives as its number. */
function received(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(received);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: received(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

test('envelope - random nested payloads round-trip unchanged (property)', () => {
  fc.assert(
    fc.property(payload, (value) => {
      const body = encodeEnvelope({ payload: value, _unique_id: 'x' });
      const decoded = decodeMessage(body);
      assert.deepStrictEqual(decoded['payload'], received(value));
      // Sent again, the same bytes: whole floats stay floats, big ints stay ints.
      assert.equal(encodeEnvelope(decoded), body);
    }),
    { numRuns: 500 },
  );
});
