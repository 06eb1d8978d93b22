/**
 * Numbers as Python sends them. Python has unbounded `int`s and double `float`s, and its
 * `json` module keeps them apart (`1` versus `1.0`) and writes `NaN`, `Infinity` and
 * `-Infinity` for non-finite floats. JavaScript has doubles and `bigint`s. The rule this
 * library applies, in both directions, so that no number is silently changed:
 *
 * | on the wire (Python)                        | in JavaScript                            |
 * | ------------------------------------------- | ---------------------------------------- |
 * | an int within ±(2^53 − 1)                   | `number` (a safe integer)                |
 * | any other int                               | `bigint`                                 |
 * | a float (`1.5`, `1.0`, `1e+20`, `NaN`, ...)  | `number`                                 |
 *
 * and when writing: a `bigint` is an int; a `number` is an int only when it is a safe
 * integer, otherwise a float (`1.5`, `1e+20`, `-0.0`, `NaN`); a {@link PyFloat} is always a
 * float. A whole float that was received (`1.0`) is a `number` like the int `1`: it is
 * remembered as a float where it was received (the object or array holding it, see
 * {@link markFloat}), so echoing or forwarding that value writes `1.0` again. Anywhere
 * else, wrap a whole number in {@link pyFloat} to send a float.
 *
 * @module
 */

/** An integer as Python may send it: a safe-integer `number`, or a `bigint` beyond that. */
export type PyInt = number | bigint;

/**
 * A number that is written as a Python float even when it is whole: `pyFloat(1)` is sent
 * as `1.0`, where the plain `1` is sent as the int `1`. Create one with {@link pyFloat}.
 */
export class PyFloat {
  /** The value. */
  readonly value: number;

  constructor(value: number) {
    if (typeof value !== 'number') throw new TypeError('PyFloat needs a number');
    this.value = value;
    Object.freeze(this);
  }

  /** The value, so that arithmetic and comparisons work on it. */
  valueOf(): number {
    return this.value;
  }

  /** The float as `json.dumps` writes it: `1.0`, `1e+20`, `NaN`. */
  toString(): string {
    return pyFloatRepr(this.value);
  }

  /** `JSON.stringify` gives the number (JSON has no int/float distinction). */
  toJSON(): number {
    return this.value;
  }
}

/**
 * Send `value` as a Python float, even when it is whole: `{ ratio: pyFloat(1) }` is written
 * `{"ratio": 1.0}` and a Python receiver gets `1.0`, not the int `1`.
 */
export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

// ---------------------------------------------------------------------------------------
// Where whole floats were received

type FloatMarks = Map<string | number, number>;

// Containers (objects and arrays) holding whole floats that arrived as Python floats, the
// key and the number. A value that is later replaced loses its mark (the number stored
// must still be there), and the marks go with the container when it is collected.
const marks = new WeakMap<object, FloatMarks>();
let anyMarks = false;

/**
 * Remember that `container[key]` arrived as a Python float although it is whole (`1.0`),
 * so that writing the same container writes `1.0` again.
 *
 * @internal
 */
export function markFloat(container: object, key: string | number, value: number): void {
  let own = marks.get(container);
  if (own === undefined) {
    own = new Map();
    marks.set(container, own);
    anyMarks = true;
  }
  own.set(key, value);
}

/**
 * The whole floats received in `container`, or `undefined` (the common case: one lookup
 * per container, and none at all until some whole float was received).
 *
 * @internal
 */
export function floatMarksOf(container: object): ReadonlyMap<string | number, number> | undefined {
  return anyMarks ? marks.get(container) : undefined;
}

/**
 * Carry the float marks of `from` over to `to`, a copy of it (the copy's values are
 * checked again when written, so a changed value is not marked).
 *
 * @internal
 */
export function inheritFloatMarks(from: object, to: object): void {
  const own = floatMarksOf(from);
  if (own !== undefined) marks.set(to, new Map(own));
}

/**
 * Whether `container[key]` is a whole number that arrived as a Python float, e.g. to tell
 * `1.0` from `1` in a received payload.
 */
export function isReceivedFloat(container: object, key: string | number): boolean {
  const value: unknown = (container as Record<string | number, unknown>)[key];
  return typeof value === 'number' && floatMarksOf(container)?.get(key) === value;
}

// ---------------------------------------------------------------------------------------
// Writing numbers

/**
 * Python's `repr()` of a float as `json.dumps` writes it: the shortest digits that read
 * back to the same double, `.0` on whole numbers, exponent form (`1e+16`, `1e-05`, two
 * exponent digits at least) below 1e-4 and from 1e16, and `NaN`, `Infinity`, `-Infinity`.
 */
export function pyFloatRepr(value: number): string {
  if (value !== value) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const abs = value < 0 ? -value : value;
  if (abs >= 1e-4 && abs < 1e16) {
    // JavaScript writes this range without an exponent, with the same shortest digits.
    const text = '' + value;
    return text.includes('.') ? text : text + '.0';
  }
  // toExponential() without an argument gives the shortest round-trip digits.
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[+-]/, '');
  return `${mantissa}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
}

/**
 * A `number` as this library writes it (see the module comment): a safe integer as an int
 * (unless `asFloat`), anything else as a Python float.
 */
export function pyNumber(value: number, asFloat = false): string {
  if (!asFloat && Number.isSafeInteger(value) && !(value === 0 && Object.is(value, -0))) {
    return '' + value;
  }
  return pyFloatRepr(value);
}

/** The largest magnitude of an integer that a `number` holds exactly. */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A JSON integer literal as this library reads it: a safe `number`, else a `bigint`.
 *
 * @internal
 */
export function readInt(token: string): number | bigint {
  // Up to 15 digits is always safe; `+ 0` turns Python's `-0` (an int) into 0.
  const digits = token.charCodeAt(0) === 45 ? token.length - 1 : token.length;
  if (digits <= 15) return Number(token) + 0;
  const big = BigInt(token);
  return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
}
