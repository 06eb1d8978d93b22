/**
 * Python regular expressions (`re`, `str` patterns) with Python's meaning, on JavaScript's
 * engine. A pattern is parsed as Python 3.11's `re/_parser.py` parses it, refused with
 * Python's reason where Python would refuse it, and written as an equivalent JavaScript
 * regex (flag `u`) in which nothing is left to JavaScript's differing defaults: `\w`, `\d`,
 * `\s` and `\b` are Python's Unicode classes (./python-re-tables.ts, produced by Python),
 * `.`, `^`, `$`, `\Z` and case-insensitive matching are Python's, `{,n}`, `(?P<name>...)`,
 * `(?#...)`, inline and scoped flags, verbose mode, atomic groups and possessive
 * quantifiers are understood. What cannot be translated exactly is refused with
 * {@link UnsupportedPattern}, naming the construct.
 *
 * @module
 */
import { UnsupportedPattern } from '../errors.js';
import { parsePattern, type Node } from './python-re-parse.js';
import { category, emitSet, has } from './python-re-sets.js';

// ---------------------------------------------------------------------------------------
// Writing the JavaScript regex (flag `u`, no other flags)

class Emitter {
  /** Python group number to JavaScript group number. */
  readonly groups = new Map<number, number>();
  count = 0;

  emit(node: Node): string {
    switch (node.t) {
      case 'set':
        return emitSet(node.set);
      case 'at':
        return node.src;
      case 'seq':
        return node.items.map((item) => this.emit(item)).join('');
      case 'alt':
        return `(?:${node.items.map((item) => this.emit(item)).join('|')})`;
      case 'group': {
        if (node.id === undefined) return `(?:${this.emit(node.body)})`;
        this.groups.set(node.id, ++this.count);
        return `(${this.emit(node.body)})`;
      }
      case 'look':
        return `(?${node.behind ? '<' : ''}${node.neg ? '!' : '='}${this.emit(node.body)})`;
      case 'atomic':
        return this.atomic(node.body);
      case 'repeat': {
        const count =
          node.min === 0 && node.max === Infinity
            ? '*'
            : node.min === 1 && node.max === Infinity
              ? '+'
              : node.min === 0 && node.max === 1
                ? '?'
                : node.max === Infinity
                  ? `{${node.min},}`
                  : node.min === node.max
                    ? `{${node.min}}`
                    : `{${node.min},${node.max}}`;
        if (node.mode === 'possessive') {
          return this.atomic({
            t: 'repeat',
            min: node.min,
            max: node.max,
            mode: 'greedy',
            body: node.body,
          });
        }
        return `(?:${this.emit(node.body)})${count}${node.mode === 'lazy' ? '?' : ''}`;
      }
      case 'ref':
        return `(?:\\${this.groups.get(node.id)!})`;
    }
  }

  /** `(?>X)`: a lookahead never backtracks into X; the backreference consumes its match. */
  atomic(body: Node): string {
    const index = ++this.count;
    return `(?=(${this.emit(body)}))(?:\\${index})`;
  }
}

/**
 * A Python regular expression (a `str` pattern of Python's `re`), matched with Python's
 * meaning: `\w \d \s \b` are Unicode as in Python, `.` excludes only `\n`, `$` also
 * matches before a final newline, `{,n}` is a quantifier, `(?P<name>...)`, `(?P=name)`,
 * `(?#...)`, `(?>...)`, possessive quantifiers, global and scoped inline flags
 * (`(?i)`, `(?x)`, `(?a)`, `(?s)`, `(?m)`, `(?i:...)`, `(?-i:...)`) and `IGNORECASE` with
 * Python's case equivalences. Based on Python 3.11 (Debian 12), Unicode 14.
 *
 * @example
 * ```ts
 * import { PythonRegExp } from 'oslo-messaging';
 *
 * const re = new PythonRegExp('(?i)compute\\.instance\\.');
 * console.log(re.match('Compute.Instance.create.end')); // true: re.match anchors at the start only
 * ```
 */
export class PythonRegExp {
  /** The Python pattern as given. */
  readonly pattern: string;
  /** The equivalent JavaScript source (flag `u`). */
  readonly source: string;
  readonly #match: RegExp;
  readonly #search: RegExp;
  readonly #full: RegExp;

  /**
   * @throws PatternError where Python would refuse the pattern, with Python's reason
   * @throws UnsupportedPattern for a valid pattern with no exact translation
   */
  constructor(pattern: string) {
    if (typeof pattern !== 'string') throw new TypeError('a Python pattern must be a string');
    this.pattern = pattern;
    const source = new Emitter().emit(parsePattern(pattern));
    this.source = source;
    try {
      this.#match = new RegExp(`^(?:${source})`, 'u');
      this.#search = new RegExp(source, 'u');
      this.#full = new RegExp(`^(?:${source})$`, 'u');
    } catch (err) {
      throw new UnsupportedPattern('a construct JavaScript refused', pattern, undefined, {
        cause: err,
      });
    }
  }

  /** Python's `re.match`: a match that starts at the start of `text` (it may end anywhere). */
  match(text: string): boolean {
    return this.#match.test(text);
  }

  /** Python's `re.search`: a match anywhere in `text`. */
  search(text: string): boolean {
    return this.#search.test(text);
  }

  /** Python's `re.fullmatch`: a match of all of `text`. */
  fullmatch(text: string): boolean {
    return this.#full.test(text);
  }

  toString(): string {
    return `re.compile(${JSON.stringify(this.pattern)})`;
  }
}

/** @internal For tests: whether `c` is in Python's `\w` (Unicode). */
export function isPythonWordChar(c: number): boolean {
  return has(category('w', false), c);
}
