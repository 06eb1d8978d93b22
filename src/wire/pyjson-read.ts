/**
 * Reading JSON as Python's `json.loads` does, without changing any number: integers beyond
 * ±(2^53 − 1) become `bigint`s, whole floats (`1.0`) are remembered as floats where they
 * were received, and the `NaN`, `Infinity` and `-Infinity` that Python writes are read
 * (see ./pynumbers.ts for the rule).
 *
 * Most messages hold none of those, and take the native `JSON.parse`: one scan of the text
 * (strings skipped whole) decides. The others go through a small parser of our own.
 *
 * @module
 */
import { markFloat, readInt } from './pynumbers.js';

/** The end of the string starting at `start` (its closing quote), or -1. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (end > 0 && text.charCodeAt(end - 1) === 92 /* backslash */) {
    let backslashes = 1;
    while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes += 1;
    if (backslashes % 2 === 0) break;
    end = text.indexOf('"', end + 1);
  }
  return end;
}

const INTEGER = /^-?\d+$/;

const isNumberChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;

/**
 * Whether `JSON.parse` would change a number of this text (or refuse it): one pass that
 * jumps over strings and looks at every number token and Python constant.
 */
function needsOwnParser(text: string): boolean {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i = stringEnd(text, i);
      if (i < 0) return false; // not JSON: JSON.parse will say so
    } else if ((c >= 48 && c <= 57) || c === 45 /* - */) {
      const start = i;
      let float = false;
      while (i + 1 < length && isNumberChar(text.charCodeAt(i + 1))) {
        i += 1;
        const d = text.charCodeAt(i);
        if (d === 46 || d === 101 || d === 69) float = true;
      }
      if (float) {
        // Only a whole float needs remembering (1.0, 1e+20, -0.0).
        if (Number.isInteger(Number(text.slice(start, i + 1)))) return true;
      } else if (i - start >= 15 || (c === 45 && i === start + 1)) {
        const token = text.slice(start, i + 1);
        if (!INTEGER.test(token)) return false; // not JSON: JSON.parse will say so
        if (token === '-0' || typeof readInt(token) === 'bigint') return true;
      }
    } else if (c === 78 /* N */ || c === 73 /* I */) {
      return true; // NaN, Infinity
    }
  }
  return false;
}

const STRING = /"[^"\\]*(?:\\[\s\S][^"\\]*)*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class Reader {
  readonly text: string;
  pos = 0;
  /** Whether the last value read was a float token (for marking whole floats). */
  float = false;

  constructor(text: string) {
    this.text = text;
  }

  fail(what: string): never {
    const at = this.pos < this.text.length ? `at position ${this.pos}` : 'at the end';
    throw new SyntaxError(`${what} in JSON ${at}`);
  }

  skip(): void {
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++this.pos);
  }

  value(): unknown {
    this.skip();
    this.float = false;
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    if (c === 123 /* { */) return this.object();
    if (c === 91 /* [ */) return this.array();
    if (c === 34 /* " */) return this.string();
    if (text.startsWith('true', this.pos)) return this.literal(4, true);
    if (text.startsWith('false', this.pos)) return this.literal(5, false);
    if (text.startsWith('null', this.pos)) return this.literal(4, null);
    if (text.startsWith('NaN', this.pos)) return this.constant(3, NaN);
    if (text.startsWith('Infinity', this.pos)) return this.constant(8, Infinity);
    if (text.startsWith('-Infinity', this.pos)) return this.constant(9, -Infinity);
    return this.number();
  }

  literal(length: number, value: unknown): unknown {
    this.pos += length;
    return value;
  }

  constant(length: number, value: number): number {
    this.pos += length;
    this.float = true;
    return value;
  }

  number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail('Unexpected token');
    this.pos = NUMBER.lastIndex;
    if (m[1] === undefined && m[2] === undefined) return readInt(m[0]);
    this.float = true;
    return Number(m[0]);
  }

  string(): string {
    STRING.lastIndex = this.pos;
    const m = STRING.exec(this.text);
    if (m === null) this.fail('Unterminated string');
    this.pos = STRING.lastIndex;
    // The native parser checks escapes and control characters.
    return JSON.parse(m[0]) as string;
  }

  array(): unknown[] {
    this.pos += 1;
    const out: unknown[] = [];
    this.skip();
    if (this.text.charCodeAt(this.pos) === 93 /* ] */) {
      this.pos += 1;
      return out;
    }
    for (;;) {
      const item = this.value();
      if (this.float && typeof item === 'number' && Number.isInteger(item)) {
        markFloat(out, out.length, item);
      }
      out.push(item);
      this.skip();
      const c = this.text.charCodeAt(this.pos);
      if (c !== 44 /* , */ && c !== 93 /* ] */) this.fail("Expected ',' or ']'");
      this.pos += 1;
      if (c !== 44) return out;
    }
  }

  object(): Record<string, unknown> {
    this.pos += 1;
    const out: Record<string, unknown> = {};
    this.skip();
    if (this.text.charCodeAt(this.pos) === 125 /* } */) {
      this.pos += 1;
      return out;
    }
    for (;;) {
      this.skip();
      if (this.text.charCodeAt(this.pos) !== 34) this.fail('Expected a property name');
      const key = this.string();
      this.skip();
      if (this.text.charCodeAt(this.pos) !== 58 /* : */) this.fail("Expected ':'");
      this.pos += 1;
      const item = this.value();
      if (key === '__proto__') {
        // As JSON.parse: an own data property, never the prototype.
        Object.defineProperty(out, key, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        out[key] = item;
      }
      if (this.float && typeof item === 'number' && Number.isInteger(item)) {
        markFloat(out, key, item);
      }
      this.skip();
      const c = this.text.charCodeAt(this.pos);
      if (c !== 44 /* , */ && c !== 125 /* } */) this.fail("Expected ',' or '}'");
      this.pos += 1;
      if (c !== 44) return out;
    }
  }
}

/**
 * Parse JSON as Python's `json.loads` does, keeping every number as it was sent:
 *
 * - an integer within ±(2^53 − 1) is a `number`, any other integer a `bigint`
 *   (`18446744073709551615` arrives exactly);
 * - a float is a `number`; a whole one (`1.0`, `1e+20`) is remembered as a float in the
 *   object or array that holds it, so writing that object again writes a float;
 * - `NaN`, `Infinity` and `-Infinity` (Python writes them for non-finite floats) are read;
 * - `__proto__` keys stay data, as with `JSON.parse`.
 *
 * @throws SyntaxError for anything that is not JSON (or Python's constants).
 */
export function pyLoads(text: string): unknown {
  return needsOwnParser(text) ? readOwn(text) : JSON.parse(text);
}

/**
 * {@link pyLoads} for a text that `JSON.parse` already read into `parsed`: the same result,
 * without parsing twice when the native result is exact.
 *
 * @internal
 */
export function pyLoadsParsed(text: string, parsed: unknown): unknown {
  return needsOwnParser(text) ? readOwn(text) : parsed;
}

function readOwn(text: string): unknown {
  const reader = new Reader(text);
  const value = reader.value();
  reader.skip();
  if (reader.pos < text.length) reader.fail('Unexpected data after the value');
  return value;
}
