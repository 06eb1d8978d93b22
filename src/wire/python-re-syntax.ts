/**
 * The pieces of the Python regex parser (./python-re-parse.ts): the tokenizer and state
 * (Python's `Tokenizer` and `State`), escapes, character classes, quantifier counts and
 * inline flags, as `re/_parser.py` reads them.
 *
 * @module
 */
import { PatternError, UnsupportedPattern } from '../errors.js';
import {
  caseClass,
  caseLiteral,
  category,
  complement,
  emitSet,
  MAX_CODE_POINT,
  normalize,
  single,
  union,
  type CodeSet,
} from './python-re-sets.js';

export interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly x: boolean;
  readonly a: boolean;
}

export type Node =
  | { readonly t: 'set'; readonly set: CodeSet }
  | { readonly t: 'at'; readonly src: string }
  | { readonly t: 'seq'; readonly items: Node[] }
  | { readonly t: 'alt'; readonly items: Node[] }
  | { readonly t: 'group'; readonly id: number | undefined; readonly body: Node }
  | { readonly t: 'look'; readonly behind: boolean; readonly neg: boolean; readonly body: Node }
  | { readonly t: 'atomic'; readonly body: Node }
  | {
      readonly t: 'repeat';
      readonly min: number;
      readonly max: number;
      readonly mode: 'greedy' | 'lazy' | 'possessive';
      readonly body: Node;
    }
  | { readonly t: 'ref'; readonly id: number };

export const SPECIAL = '.\\[{()*+?^$|';
export const WHITESPACE = ' \t\n\r\v\f';
export const DIGITS = /^[0-9]$/;
const OCTAL = /^[0-7]$/;
const HEX = /^[0-9a-fA-F]$/;
const LETTER = /^[a-zA-Z]$/;
export const IDENTIFIER = /^[\p{XID_Start}_]\p{XID_Continue}*$/u;
const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
export const FLAG_LETTERS = 'iLmsxatu';
// Python refuses counts from this one; counts past LIMIT are not translated (see below).
export const MAXREPEAT = 4294967295;
export const REPEAT_LIMIT = 100_000;
export const ANY_CHAR = '[\\s\\S]';

/** Parser state, as Python's `Tokenizer` plus `State`. */
export class Parser {
  readonly pattern: string;
  pos = 0;
  globalFlags: Flags = { i: false, m: false, s: false, x: false, a: false };
  /** Per group (index = Python group number): its width once closed. */
  readonly widths: ([number, number] | undefined)[] = [undefined];
  readonly names = new Map<string, number>();
  /** Groups that may not take part in a match (optional, in a branch, negated). */
  readonly maybeUnset = new Set<number>();
  readonly refs: { id: number; pos: number }[] = [];
  lookbehindDepth = 0;

  constructor(pattern: string) {
    this.pattern = pattern;
  }

  fail(reason: string, pos: number = this.pos): never {
    throw new PatternError(reason, this.pattern, pos);
  }

  unsupported(construct: string, pos: number = this.pos): never {
    throw new UnsupportedPattern(construct, this.pattern, pos);
  }

  /** The next token (a character, or a backslash and the character after it). */
  peek(): string | undefined {
    const p = this.pattern;
    if (this.pos >= p.length) return undefined;
    const ch = String.fromCodePoint(p.codePointAt(this.pos)!);
    if (ch !== '\\') return ch;
    if (this.pos + 1 >= p.length) this.fail('bad escape (end of pattern)', p.length - 1);
    return '\\' + String.fromCodePoint(p.codePointAt(this.pos + 1)!);
  }

  get(): string | undefined {
    const token = this.peek();
    if (token !== undefined) this.pos += token.length;
    return token;
  }

  match(text: string): boolean {
    if (this.peek() !== text) return false;
    this.pos += text.length;
    return true;
  }

  getWhile(count: number, ok: RegExp): string {
    let out = '';
    while (out.length < count && this.pos < this.pattern.length) {
      const ch = this.pattern.charAt(this.pos);
      if (!ok.test(ch)) break;
      out += ch;
      this.pos += 1;
    }
    return out;
  }

  getUntil(terminator: string, name: string): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) {
        if (out === '') this.fail(`missing ${name}`);
        this.fail(`missing ${terminator}, unterminated name`, this.pos - out.length);
      }
      this.get();
      if (c === terminator) {
        if (out === '') this.fail(`missing ${name}`, this.pos - 1);
        return out;
      }
      out += c;
    }
  }
}

export function parseRepeat(
  ps: Parser,
  token: string,
  start: number,
): { min: number; max: number; mode: 'greedy' | 'lazy' | 'possessive' } | undefined {
  let min = 0;
  let max = Infinity;
  if (token === '+') min = 1;
  else if (token === '?') max = 1;
  else if (token === '{') {
    if (ps.peek() === '}') return undefined;
    const lo = ps.getWhile(Infinity, DIGITS);
    let hi = lo;
    if (ps.match(',')) hi = ps.getWhile(Infinity, DIGITS);
    if (!ps.match('}')) {
      ps.pos = start + 1;
      return undefined;
    }
    if (lo !== '') min = Number(lo);
    if (hi !== '') max = Number(hi);
    if (min >= MAXREPEAT || (max !== Infinity && max >= MAXREPEAT)) {
      ps.fail('the repetition number is too large', start);
    }
    if (max < min) ps.fail('min repeat greater than max repeat', start);
    if (min > REPEAT_LIMIT || (max !== Infinity && max > REPEAT_LIMIT)) {
      ps.unsupported(`a repetition count above ${REPEAT_LIMIT}`, start);
    }
  }
  const mode = ps.match('?') ? 'lazy' : ps.match('+') ? 'possessive' : 'greedy';
  return { min, max, mode };
}

export function parseEscape(ps: Parser, token: string, flags: Flags, start: number): Node {
  const c = token.charAt(1);
  if (c === 'A') return { t: 'at', src: '(?<![\\s\\S])' };
  if (c === 'Z') return { t: 'at', src: '(?![\\s\\S])' };
  if (c === 'b' || c === 'B') return { t: 'at', src: boundary(c === 'b', flags.a) };
  if ('dDsSwW'.includes(c)) return { t: 'set', set: category(c, flags.a) };
  if (c >= '1' && c <= '9') {
    let digits = c;
    if (DIGITS.test(ps.pattern.charAt(ps.pos))) {
      digits += ps.pattern.charAt(ps.pos++);
      if (
        OCTAL.test(digits[0]!) &&
        OCTAL.test(digits[1]!) &&
        OCTAL.test(ps.pattern.charAt(ps.pos))
      ) {
        digits += ps.pattern.charAt(ps.pos++);
        const value = parseInt(digits, 8);
        if (value > 0o377)
          ps.fail(`octal escape value \\${digits} outside of range 0-0o377`, start);
        return literal(value, flags);
      }
    }
    return reference(ps, Number(digits), flags, start, start + 1);
  }
  const value = escapeValue(ps, token, start, false);
  return literal(value, flags);
}

/** The code point of a literal escape (outside or inside a class). */
export function escapeValue(ps: Parser, token: string, start: number, inClass: boolean): number {
  const c = token.charAt(1);
  const escaped = ESCAPES[c];
  if (escaped !== undefined) return escaped;
  const hex = (count: number): number => {
    const digits = ps.getWhile(count, HEX);
    if (digits.length !== count) ps.fail(`incomplete escape \\${c}${digits}`, start);
    return parseInt(digits, 16);
  };
  if (c === 'x') return hex(2);
  if (c === 'u') return hex(4);
  if (c === 'U') {
    const value = hex(8);
    if (value > MAX_CODE_POINT)
      ps.fail(`bad escape \\U${value.toString(16).padStart(8, '0')}`, start);
    return value;
  }
  if (c === 'N') ps.unsupported('\\N{...} (a character by its Unicode name)', start);
  if (c === '0' || (inClass && OCTAL.test(c))) {
    const digits = c + ps.getWhile(2, OCTAL);
    const value = parseInt(digits, 8);
    if (value > 0o377) ps.fail(`octal escape value \\${digits} outside of range 0-0o377`, start);
    return value;
  }
  if (token.length === 2 && (LETTER.test(c) || DIGITS.test(c)))
    ps.fail(`bad escape ${token}`, start);
  return token.codePointAt(1)!;
}

export function literal(c: number, flags: Flags): Node {
  return { t: 'set', set: flags.i ? caseLiteral(c, flags.a) : single(c) };
}

export function reference(ps: Parser, id: number, flags: Flags, start: number, at: number): Node {
  if (id >= ps.widths.length) ps.fail(`invalid group reference ${id}`, at);
  if (ps.widths[id] === undefined) ps.fail('cannot refer to an open group', start);
  if (ps.lookbehindDepth > 0) ps.unsupported('a backreference inside a lookbehind', start);
  if (flags.i) ps.unsupported('a backreference with IGNORECASE ((?i))', start);
  ps.refs.push({ id, pos: start });
  return { t: 'ref', id };
}

export function boundary(word: boolean, ascii: boolean): string {
  const w = emitSet(category('w', ascii));
  const at = `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
  const notAt = `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w}))`;
  // Python: neither matches anywhere in an empty string.
  return word ? at : `(?:(?<=${ANY_CHAR})|(?=${ANY_CHAR}))${notAt}`;
}

export function parseClass(ps: Parser, flags: Flags, start: number): Node {
  const literals: [number, number][] = [];
  const categories: CodeSet[] = [];
  const negate = ps.match('^');
  let empty = true;
  const item = (): CodeSet | number => {
    const token = ps.get();
    if (token === undefined) ps.fail('unterminated character set', start);
    if (!token.startsWith('\\')) return token.codePointAt(0)!;
    const c = token.charAt(1);
    if ('dDsSwW'.includes(c)) return category(c, flags.a);
    return escapeValue(ps, token, ps.pos - token.length, true);
  };
  for (;;) {
    const at = ps.pos;
    if (ps.peek() === ']' && !empty) {
      ps.get();
      break;
    }
    const first = item();
    const firstText = ps.pattern.slice(at, ps.pos);
    empty = false;
    if (ps.match('-')) {
      if (ps.peek() === undefined) ps.fail('unterminated character set', start);
      if (ps.match(']')) {
        if (typeof first === 'number') literals.push([first, first]);
        else categories.push(first);
        literals.push([0x2d, 0x2d]);
        break;
      }
      const thatAt = ps.pos;
      const second = item();
      const range = `${firstText}-${ps.pattern.slice(thatAt, ps.pos)}`;
      if (typeof first !== 'number' || typeof second !== 'number' || second < first) {
        ps.fail(`bad character range ${range}`, at);
      }
      literals.push([first, second]);
    } else if (typeof first === 'number') {
      literals.push([first, first]);
    } else {
      categories.push(first);
    }
  }
  let set = normalize(literals);
  if (flags.i) {
    const folded = caseClass(set, flags.a);
    if (folded === undefined) {
      ps.unsupported('a case-insensitive class with cased characters beyond U+FFFF', start);
    }
    set = folded;
  }
  set = union(set, ...categories);
  return { t: 'set', set: negate ? complement(set) : set };
}

export function parseFlags(
  ps: Parser,
  first: string,
  start: number,
): { add: string; del: string } | undefined {
  let add = '';
  let del = '';
  let char: string | undefined = first;
  if (char !== '-') {
    for (;;) {
      if (char === 'L') ps.fail("bad inline flags: cannot use 'L' flag with a str pattern");
      if (char === 't') ps.unsupported('the TEMPLATE flag ((?t))', start);
      add += char;
      if (add.includes('a') && add.includes('u')) {
        ps.fail("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
      }
      char = ps.get();
      if (char === undefined) ps.fail('missing -, : or )');
      if (')-:'.includes(char)) break;
      if (!FLAG_LETTERS.includes(char))
        ps.fail(/\p{L}/u.test(char) ? 'unknown flag' : 'missing -, : or )', ps.pos - 1);
    }
  }
  if (char === ')') {
    return undefined;
  }
  if (char === '-') {
    char = ps.get();
    if (char === undefined) ps.fail('missing flag');
    if (!FLAG_LETTERS.includes(char))
      ps.fail(/\p{L}/u.test(char) ? 'unknown flag' : 'missing flag', ps.pos - 1);
    for (;;) {
      if ('aLu'.includes(char)) ps.fail("bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
      if (char === 't') ps.unsupported('the TEMPLATE flag ((?t))', start);
      del += char;
      char = ps.get();
      if (char === undefined) ps.fail('missing :');
      if (char === ':') break;
      if (!FLAG_LETTERS.includes(char))
        ps.fail(/\p{L}/u.test(char) ? 'unknown flag' : 'missing :', ps.pos - 1);
    }
  }
  if ([...add].some((f) => del.includes(f)))
    ps.fail('bad inline flags: flag turned on and off', ps.pos - 1);
  return { add, del };
}

export function withFlags(flags: Flags, add: string, del: string): Flags {
  const on = (f: keyof Flags): boolean =>
    add.includes(f) ? true : del.includes(f) ? false : flags[f];
  return { i: on('i'), m: on('m'), s: on('s'), x: on('x'), a: add.includes('u') ? false : on('a') };
}
