import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  pyDumps,
  pyDumpsNested,
  pyLoads,
  pyNumber,
  strtime,
  toPrimitive,
} from '../../src/wire/pyjson.js';
import { pyFloat } from '../../src/wire/pynumbers.js';

// Expected texts below are what Python 3.11's json.dumps(value) printed for the same value.
const dumpsCases: [string, unknown, string][] = [
  ['non-ASCII as lower-case \\u escapes', 'caf\u00e9 \u2603', String.raw`"caf\u00e9 \u2603"`],
  [
    'controls and DEL as \\u00XX',
    '\x00\x01\x1f\x7f\x80',
    String.raw`"\u0000\u0001\u001f\u007f\u0080"`,
  ],
  ['short escapes, no escape for /', '\b\f\n\r\t"\\/', String.raw`"\b\f\n\r\t\"\\/"`],
  ['astral characters as surrogate pairs', '\u{1F600}', String.raw`"\ud83d\ude00"`],
  ['a lone surrogate', '\ud800', String.raw`"\ud800"`],
  ['line and paragraph separators', '\u2028\u2029', String.raw`"\u2028\u2029"`],
  ['HTML characters unescaped', `<>&'`, `"<>&'"`],
  [
    'separators ", " and ": ", empty containers',
    { a: [], b: {}, c: [1, { d: null }] },
    '{"a": [], "b": {}, "c": [1, {"d": null}]}',
  ],
  ['literals', [true, false, null], '[true, false, null]'],
  ['keys in insertion order', { z: 1, a: 2, m: 3 }, '{"z": 1, "a": 2, "m": 3}'],
  ['escaped keys', { 'caf\u00e9"': 1 }, String.raw`{"caf\u00e9\"": 1}`],
  ['undefined members skipped', { a: undefined, b: 1 }, '{"b": 1}'],
  ['undefined and holes in arrays as null', [undefined, , 1], '[null, null, 1]'], // eslint-disable-line no-sparse-arrays
  [
    'a null-prototype object',
    Object.assign(Object.create(null) as object, { k: 'v' }),
    '{"k": "v"}',
  ],
  ['a float', 1.5, '1.5'],
  ['the largest safe integer as an int', 9007199254740991, '9007199254740991'],
  ['a whole number beyond 2^53 as a float', 9007199254740992, '9007199254740992.0'],
  ['1e16 as a float in exponent form', 1e16, '1e+16'],
  ['1e20 as a float', 1e20, '1e+20'],
  ['a bigint as an int', 2n ** 64n - 1n, '18446744073709551615'],
  ['a small bigint as an int', 42n, '42'],
  ['a PyFloat as a float', pyFloat(1), '1.0'],
  ['a PyFloat in exponent form', pyFloat(1e-7), '1e-07'],
  ['NaN as Python writes it', NaN, 'NaN'],
  ['Infinity and -Infinity as Python writes them', [Infinity, -Infinity], '[Infinity, -Infinity]'],
  ['shortest float digits', 0.1 + 0.2, '0.30000000000000004'],
  ['1e-4 in decimal', 1e-4, '0.0001'],
  ['0.00015 in decimal', 0.00015, '0.00015'],
  ['below 1e-4 in exponent form, two-digit exponent', 1e-5, '1e-05'],
  ['9.9e-05', 9.9e-5, '9.9e-05'],
  ['1.5e-07', 1.5e-7, '1.5e-07'],
  ['-2.5e-06', -2.5e-6, '-2.5e-06'],
  ['three-digit exponents', 1e-100, '1e-100'],
  ['the smallest double', 5e-324, '5e-324'],
  ['large floats', 1e21, '1e+21'],
  ['negative zero as a float', -0, '-0.0'],
];

for (const [name, value, expected] of dumpsCases) {
  test(`pyDumps - writes ${name} as Python's json.dumps does`, () => {
    assert.equal(pyDumps(value), expected);
  });
}

test('pyDumps - the output is ASCII only', () => {
  const text = pyDumps({ 'k\u00fc': ['\u00e9\u4e2d\u{1F600}', { x: '\u00ff' }] });
  assert.match(text, /^[\x20-\x7e]*$/);
  assert.deepEqual(JSON.parse(text), { 'k\u00fc': ['\u00e9\u4e2d\u{1F600}', { x: '\u00ff' }] });
});

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

const refused: [string, unknown, RegExp][] = [
  ['a function', { f: () => 1 }, /^Object of type function is not JSON serializable$/],
  ['a symbol', [Symbol('s')], /^Object of type symbol is not JSON serializable$/],
  ['top-level undefined', undefined, /^Object of type undefined is not JSON serializable$/],
  ['a Date', { d: new Date(0) }, /^Object of type Date is not JSON serializable$/],
  ['a Map', new Map(), /^Object of type Map is not JSON serializable$/],
  ['a class instance', new Point(1, 2), /^Object of type Point is not JSON serializable$/],
];

for (const [name, value, message] of refused) {
  test(`pyDumps - refuses ${name} with a TypeError`, () => {
    assert.throws(() => pyDumps(value), { name: 'TypeError', message });
  });
}

test('pyDumps - refuses circular references with a TypeError', () => {
  const a: Record<string, unknown> = { name: 'a' };
  a['self'] = { back: [a] };
  assert.throws(() => pyDumps(a), { name: 'TypeError', message: 'Circular reference detected' });
  const list: unknown[] = [];
  list.push(list);
  assert.throws(() => pyDumps(list), { name: 'TypeError', message: 'Circular reference detected' });
});

test('pyDumps - a repeated (not circular) object is written each time', () => {
  const shared = { k: 1 };
  assert.equal(pyDumps([shared, { shared }]), '[{"k": 1}, {"shared": {"k": 1}}]');
});

test('pyDumps - the fallback replaces what JSON cannot carry, as Python default= does', () => {
  const value = { when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)), tags: new Set(['a']) };
  assert.equal(
    pyDumps(value, toPrimitive),
    '{"when": "2024-05-06T07:08:09.123000", "tags": ["a"]}',
  );
});

test('pyDumps - a fallback that returns its argument is refused, not looped on', () => {
  assert.throws(() => pyDumps(new Point(1, 2), (v) => v), /Object of type Point/);
  assert.throws(
    () =>
      pyDumps(
        () => 1,
        (v) => v,
      ),
    /Object of type function/,
  );
});

const nestedCases: unknown[] = [
  { method: 'echo', args: { b: 'caf\u00e9 \u2603', q: 'a "quoted" \\ path\n' } },
  ['\u0000', '\u{1F600}', 1e-7, null, true, {}],
  'plain',
  { failure: pyDumps({ class: 'E', tb: ['line "1"\n'] }) },
];

for (const [i, value] of nestedCases.entries()) {
  test(`pyDumpsNested - equals pyDumps(pyDumps(value)) (case ${i})`, () => {
    assert.equal(pyDumpsNested(value), pyDumps(pyDumps(value)));
  });
}

test('pyNumber - is exported for callers that write numbers themselves', () => {
  assert.equal(pyNumber(42), '42');
  assert.equal(pyNumber(3e-5), '3e-05');
});

test('pyLoads - parses standard JSON', () => {
  assert.deepEqual(pyLoads('{"a": [1, 2.5, "x"], "b": null}'), { a: [1, 2.5, 'x'], b: null });
});

test("pyLoads - accepts Python's NaN, Infinity and -Infinity outside strings", () => {
  const value = pyLoads('{"n": NaN, "list": [Infinity, -Infinity], "s": "NaN Infinity"}');
  assert.deepEqual(value, { n: NaN, list: [Infinity, -Infinity], s: 'NaN Infinity' });
});

test('pyLoads - still rejects text that is not JSON with a SyntaxError', () => {
  assert.throws(() => pyLoads('{"a": '), SyntaxError);
  assert.throws(() => pyLoads('{"a": NaN,}'), SyntaxError);
  assert.throws(() => pyLoads('nan'), SyntaxError);
});

test('strtime - writes oslo PERFECT_TIME_FORMAT in UTC with microseconds from milliseconds', () => {
  assert.equal(strtime(new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123))), '2024-05-06T07:08:09.123000');
  assert.equal(strtime(new Date(Date.UTC(2024, 4, 6, 7, 8, 9))), '2024-05-06T07:08:09.000000');
  assert.equal(strtime(new Date('0099-01-02T03:04:05.006Z')), '0099-01-02T03:04:05.006000');
});

test('strtime - refuses an invalid Date', () => {
  assert.throws(() => strtime(new Date(Number.NaN)), TypeError);
});

class Instance {
  visible = 'yes';
  skipped = undefined;
  nested = new Set([1, 2]);
  get computed(): number {
    return 1;
  }
}

const primitiveCases: [string, unknown, unknown][] = [
  ['strings, numbers, booleans and null unchanged', ['s', 1.5, true, null], ['s', 1.5, true, null]],
  ['undefined as null', undefined, null],
  [
    'a Date as UTC ISO with microseconds',
    new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
    '2024-01-02T03:04:05.006000',
  ],
  ['a Buffer as its UTF-8 text', Buffer.from('caf\u00e9'), 'caf\u00e9'],
  ['a Uint8Array as its UTF-8 text', new TextEncoder().encode('\u2603'), '\u2603'],
  ['an ArrayBuffer as its UTF-8 text', new TextEncoder().encode('ab').buffer, 'ab'],
  ['a Set as an array', new Set(['a', 'b']), ['a', 'b']],
  [
    'a Map as an object',
    new Map<unknown, unknown>([
      ['k', 1],
      [2, 'two'],
      [true, null],
    ]),
    { k: 1, 2: 'two', true: null },
  ],
  ['a typed array as an array of numbers', new Int16Array([1, -2]), [1, -2]],
  ['an object with toJSON as its result', { toJSON: () => ({ a: 1 }) }, { a: 1 }],
  [
    'a class instance as its own enumerable members',
    new Instance(),
    { visible: 'yes', nested: [1, 2] },
  ],
  ['an Error as a Python-style repr', new TypeError("it's"), `TypeError("it's")`],
  ['an Error without message', new RangeError(), 'RangeError()'],
  ['a bigint as it is', 2n ** 64n, 2n ** 64n],
  [
    'nested values recursively',
    { a: [new Date(0), { b: new Set([1]) }] },
    { a: ['1970-01-01T00:00:00.000000', { b: [1] }] },
  ],
];

for (const [name, value, expected] of primitiveCases) {
  test(`toPrimitive - converts ${name}`, () => {
    assert.deepEqual(toPrimitive(value), expected);
  });
}

test('toPrimitive - keeps a __proto__ key as data, never as the prototype', () => {
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
  const out = toPrimitive(parsed) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__', 'a']);
  assert.equal(pyDumps(out), '{"__proto__": {"polluted": true}, "a": 1}');
});

const primitiveRefused: [string, unknown][] = [
  ['a function', { f: () => 1 }],
  ['a symbol', Symbol('s')],
  ['an invalid Date', new Date(Number.NaN)],
  ['invalid UTF-8 bytes', Buffer.from([0xff, 0xfe])],
  ['a Map with object keys', new Map([[{}, 1]])],
];

for (const [name, value] of primitiveRefused) {
  test(`toPrimitive - refuses ${name} with a TypeError`, () => {
    assert.throws(() => toPrimitive(value), TypeError);
  });
}

test('toPrimitive - refuses circular references with a TypeError', () => {
  const a: Record<string, unknown> = {};
  a['a'] = a;
  assert.throws(() => toPrimitive(a), {
    name: 'TypeError',
    message: 'Circular reference detected',
  });
});

test('toPrimitive - returns a fresh tree and leaves its input alone', () => {
  const input = { list: [1, { x: 1 }] };
  const out = toPrimitive(input) as typeof input;
  assert.deepEqual(out, input);
  assert.notEqual(out, input);
  assert.notEqual(out.list, input.list);
});

test('object keys are written the same every time, plain and nested, past the key cache', () => {
  // Keys are escaped once and remembered per nesting mode: the same key must come out
  // right in both modes, in any order, and after the cache started over.
  const tricky = { 'a"b': 1, 'c\\d': 2, é: 3, '\u2028': 4, plain: 5 };
  const plain = '{"a\\"b": 1, "c\\\\d": 2, "\\u00e9": 3, "\\u2028": 4, "plain": 5}';
  for (let round = 0; round < 3; round++) {
    assert.equal(pyDumpsNested(tricky), pyDumps(plain));
    assert.equal(pyDumps(tricky), plain);
  }
  const many: Record<string, number> = {};
  for (let i = 0; i < 5000; i++) many[`k${i}"`] = i;
  const once = pyDumps(many);
  assert.equal(pyDumps(many), once);
  assert.deepEqual(JSON.parse(once), many);
  assert.equal(pyDumps(tricky), plain);
  const long = 'x'.repeat(100) + '"';
  assert.equal(pyDumps({ [long]: 1 }), `{"${'x'.repeat(100)}\\"": 1}`);
});
