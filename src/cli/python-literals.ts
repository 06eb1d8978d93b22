/**
 * JSON as Python's `json` module reads and writes it, for what the operator types
 * (`--payload`, `--args`, `--context`) and what the tool prints: integers beyond 2^53
 * stay exact (as `bigint`), and the `NaN`, `Infinity` and `-Infinity` that Python's
 * `json.dumps` writes for such floats are accepted.
 *
 * This is the CLI's own adapter until the library's wire module keeps big integers exact
 * itself; then {@link parsePythonJson} and {@link formatPythonJson} should defer to it.
 *
 * @module
 */

/** Integers with more digits than this may not fit a double exactly. */
const SAFE_DIGITS = 15;
const LONG_DIGITS = /\d{16,}/;
const PY_CONSTANT = /NaN|Infinity/;

/** A syntax error with the offset where reading stopped. */
export class PythonJsonError extends SyntaxError {
  constructor(message: string, offset: number) {
    super(`${message} at position ${offset}`);
    this.name = 'SyntaxError';
  }
}

/**
 * Parse JSON as Python's `json.loads` does. Integers that a double cannot hold exactly
 * become `bigint`; `NaN`, `Infinity` and `-Infinity` become those numbers. Standard JSON
 * with no long digit runs takes the native parser.
 *
 * @throws SyntaxError naming the position, for anything else that is not JSON.
 */
export function parsePythonJson(text: string): unknown {
  if (!LONG_DIGITS.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      if (!PY_CONSTANT.test(text)) throw err;
    }
  }
  const parser = new Parser(text);
  parser.skipSpace();
  const value = parser.value();
  parser.skipSpace();
  if (!parser.done()) throw new PythonJsonError('Unexpected data after the JSON value', parser.pos);
  return value;
}

class Parser {
  pos = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  done(): boolean {
    return this.pos >= this.#text.length;
  }

  skipSpace(): void {
    while (this.pos < this.#text.length && ' \t\n\r'.includes(this.#text.charAt(this.pos))) {
      this.pos += 1;
    }
  }

  #fail(what: string): never {
    const found = this.done() ? 'end of input' : `'${this.#text.charAt(this.pos)}'`;
    throw new PythonJsonError(`Expected ${what}, found ${found}`, this.pos);
  }

  #literal(word: string): boolean {
    if (!this.#text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  value(): unknown {
    const c = this.#text.charAt(this.pos);
    if (c === '{') return this.#object();
    if (c === '[') return this.#array();
    if (c === '"') return this.#string();
    if (this.#literal('true')) return true;
    if (this.#literal('false')) return false;
    if (this.#literal('null')) return null;
    if (this.#literal('NaN')) return NaN;
    if (this.#literal('Infinity')) return Infinity;
    if (this.#literal('-Infinity')) return -Infinity;
    if (c === '-' || (c >= '0' && c <= '9')) return this.#number();
    return this.#fail('a JSON value');
  }

  #object(): Record<string, unknown> {
    this.pos += 1;
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.#literal('}')) return out;
    for (;;) {
      this.skipSpace();
      if (this.#text.charAt(this.pos) !== '"') this.#fail('a string key');
      const key = this.#string();
      this.skipSpace();
      if (!this.#literal(':')) this.#fail("':'");
      this.skipSpace();
      // An own property even for `__proto__`, as JSON.parse makes (it is data in Python).
      Object.defineProperty(out, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipSpace();
      if (this.#literal('}')) return out;
      if (!this.#literal(',')) this.#fail("',' or '}'");
    }
  }

  #array(): unknown[] {
    this.pos += 1;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.#literal(']')) return out;
    for (;;) {
      this.skipSpace();
      out.push(this.value());
      this.skipSpace();
      if (this.#literal(']')) return out;
      if (!this.#literal(',')) this.#fail("',' or ']'");
    }
  }

  #string(): string {
    // Find the closing quote, then let the native parser handle the escapes.
    const start = this.pos;
    let i = start + 1;
    while (i < this.#text.length) {
      const c = this.#text.charAt(i);
      if (c === '\\') i += 2;
      else if (c === '"') break;
      else i += 1;
    }
    if (i >= this.#text.length) {
      this.pos = this.#text.length;
      this.#fail("'\"'");
    }
    this.pos = i + 1;
    try {
      return JSON.parse(this.#text.slice(start, i + 1)) as string;
    } catch {
      throw new PythonJsonError('Bad string', start);
    }
  }

  #number(): number | bigint {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.#text.slice(this.pos));
    if (match === null) return this.#fail('a number');
    this.pos += match[0].length;
    const text = match[0];
    if (match[2] !== undefined || match[3] !== undefined) return Number(text);
    const digits = (match[1] ?? '').length;
    if (digits <= SAFE_DIGITS) return Number(text);
    const big = BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }
}

/**
 * A value as Python's `json.dumps` would write it, keeping `bigint`s exact and writing
 * non-finite numbers as `NaN`, `Infinity` and `-Infinity`. With `indent`, one member a
 * line, as `json.dumps(indent=...)`.
 */
export function formatPythonJson(value: unknown, indent?: number): string {
  return write(value, indent === undefined ? undefined : ' '.repeat(indent), '');
}

function write(value: unknown, step: string | undefined, pad: string): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return JSON.stringify(value);
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.stringify(value);
  }
  const inner = step === undefined ? '' : pad + step;
  const open = step === undefined ? '' : `\n${inner}`;
  const close = step === undefined ? '' : `\n${pad}`;
  const sep = step === undefined ? ',' : `,\n${inner}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v: unknown) => write(v === undefined ? null : v, step, inner));
    return `[${open}${items.join(sep)}${close}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const colon = step === undefined ? ':' : ': ';
  const items = entries.map(([k, v]) => `${JSON.stringify(k)}${colon}${write(v, step, inner)}`);
  return `{${open}${items.join(sep)}${close}}`;
}

/** True when a value holds a bigint or a non-finite number somewhere. */
export function needsPythonJson(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(needsPythonJson);
}
