/**
 * Sets of code points for the Python regex translation (./python-re.ts): sorted range
 * lists, the sets Python's `\w`, `\d` and `\s` stand for, and Python's case-insensitive
 * matching (simple lower-case mapping plus `re`'s extra equivalences), all from tables
 * that Python itself produced (./python-re-tables.ts).
 *
 * @module
 */
import { CASED, DIGIT, EXTRA_CASES, LOWER, SPACE, WORD } from './python-re-tables.js';

/** Sorted, disjoint, non-adjacent inclusive ranges of code points. */
export type CodeSet = readonly (readonly [number, number])[];

export const MAX_CODE_POINT = 0x10ffff;

/** Sort and merge ranges into a {@link CodeSet}. */
export function normalize(ranges: Iterable<readonly [number, number]>): CodeSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function union(...sets: CodeSet[]): CodeSet {
  return normalize(sets.flat());
}

export function complement(set: CodeSet): CodeSet {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function intersect(a: CodeSet, b: CodeSet): CodeSet {
  return complement(union(complement(a), complement(b)));
}

export function has(set: CodeSet, c: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const range = set[mid]!;
    if (c < range[0]) hi = mid - 1;
    else if (c > range[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

export const single = (c: number): CodeSet => [[c, c]];

// ---------------------------------------------------------------------------------------
// Decoding the generated tables (formats in scripts/python-re-tables.py)

function decodeRanges(text: string): CodeSet {
  const out: [number, number][] = [];
  let prev = -1;
  for (const item of text.trim().split(' ')) {
    const [gap, length] = item.split('.').map((n) => parseInt(n, 36)) as [number, number];
    const lo = prev + 1 + gap;
    out.push([lo, lo + length]);
    prev = lo + length;
  }
  return out;
}

function memo<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

const ASCII_WORD: CodeSet = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const ASCII_DIGIT: CodeSet = [[0x30, 0x39]];
const ASCII_SPACE: CodeSet = [
  [0x09, 0x0d],
  [0x20, 0x20],
];

const unicodeWord = memo(() => decodeRanges(WORD));
const unicodeDigit = memo(() => decodeRanges(DIGIT));
const unicodeSpace = memo(() => decodeRanges(SPACE));

/** The set of a category escape (`d`, `s`, `w`, upper case for the complement). */
export function category(letter: string, ascii: boolean): CodeSet {
  const lower = letter.toLowerCase();
  const set =
    lower === 'd'
      ? ascii
        ? ASCII_DIGIT
        : unicodeDigit()
      : lower === 's'
        ? ascii
          ? ASCII_SPACE
          : unicodeSpace()
        : ascii
          ? ASCII_WORD
          : unicodeWord();
  return letter === lower ? set : complement(set);
}

// ---------------------------------------------------------------------------------------
// Case-insensitive matching, as Python's re compiles it (re/_compiler.py)

/** Python's case tables for one mode (Unicode, or ASCII with the `a` flag). */
interface CaseTable {
  /** The code points whose lower case differs, and their lower case. */
  readonly lower: ReadonlyMap<number, number>;
  /** The same keys as a set. */
  readonly lowered: CodeSet;
  readonly cased: CodeSet;
  /** `_EXTRA_CASES`: lower-case code point to its other equivalents (Unicode only). */
  readonly extra: ReadonlyMap<number, readonly number[]>;
  /** Lower-case value to the code points that lower to it. */
  readonly inverse: ReadonlyMap<number, readonly number[]>;
}

function caseTable(lower: Map<number, number>, cased: CodeSet, extra: Map<number, number[]>) {
  const inverse = new Map<number, number[]>();
  for (const [c, l] of lower) {
    const list = inverse.get(l);
    if (list === undefined) inverse.set(l, [c]);
    else list.push(c);
  }
  const lowered = normalize([...lower.keys()].map((c) => [c, c] as const));
  return { lower, lowered, cased, extra, inverse };
}

const unicodeCases = memo((): CaseTable => {
  const lower = new Map<number, number>();
  let start = 0;
  for (const item of LOWER.trim().split(' ')) {
    const [gap, count, stride, delta] = item.split('.').map((n) => parseInt(n, 36)) as [
      number,
      number,
      number,
      number,
    ];
    start += gap;
    for (let i = 0; i < count; i++) lower.set(start + i * stride, start + i * stride + delta);
  }
  const extra = new Map<number, number[]>();
  for (const item of EXTRA_CASES.trim().split(' ')) {
    const [key, ...others] = item.split('.').map((n) => parseInt(n, 36)) as [number, ...number[]];
    extra.set(key, others);
  }
  return caseTable(lower, decodeRanges(CASED), extra);
});

const asciiCases = memo((): CaseTable => {
  const lower = new Map<number, number>();
  for (let c = 0x41; c <= 0x5a; c++) lower.set(c, c + 0x20);
  const cased: CodeSet = [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ];
  return caseTable(lower, cased, new Map());
});

const tableFor = (ascii: boolean): CaseTable => (ascii ? asciiCases() : unicodeCases());

/** Every code point whose lower case is in `values` (Python compares `lower(ch)`). */
function preimage(table: CaseTable, values: CodeSet): CodeSet {
  const extra: [number, number][] = [];
  for (const [c, l] of table.lower) if (has(values, l)) extra.push([c, c]);
  return union(intersect(values, complement(table.lowered)), normalize(extra));
}

/** What an `IGNORECASE` literal matches (LITERAL_UNI_IGNORE, or IN_UNI_IGNORE with fixes). */
export function caseLiteral(c: number, ascii: boolean): CodeSet {
  const table = tableFor(ascii);
  if (!has(table.cased, c)) return single(c);
  const lo = table.lower.get(c) ?? c;
  const values = [lo, ...(table.extra.get(lo) ?? [])].map((v) => [v, v] as const);
  return preimage(table, normalize(values));
}

/**
 * What an `IGNORECASE` character class of these literal code points matches: if none is
 * cased, exactly them; otherwise every code point whose lower case is the lower case of a
 * member (or one of its extra equivalents). `undefined` for a cased class with members
 * beyond U+FFFF, which Python handles by other rules that are not reproduced.
 */
export function caseClass(members: CodeSet, ascii: boolean): CodeSet | undefined {
  const table = tableFor(ascii);
  if (intersect(members, table.cased).length === 0) return members;
  if (members.some(([, hi]) => hi > 0xffff)) return undefined;
  const lowered: [number, number][] = [];
  for (const [c, l] of table.lower) if (has(members, c)) lowered.push([l, l]);
  let charmap = union(intersect(members, complement(table.lowered)), normalize(lowered));
  const fixes: [number, number][] = [];
  for (const [key, others] of table.extra) {
    if (has(charmap, key)) for (const o of others) fixes.push([o, o]);
  }
  charmap = union(charmap, normalize(fixes));
  return preimage(table, charmap);
}

// ---------------------------------------------------------------------------------------
// Writing sets as JavaScript regex source (flag `u`)

export function escapeCodePoint(c: number): string {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    ? String.fromCharCode(c)
    : `\\u{${c.toString(16)}}`;
}

/** A set as JavaScript regex source (flag `u`). */
export function emitSet(set: CodeSet): string {
  if (set.length === 1 && set[0]![0] === set[0]![1]) return escapeCodePoint(set[0]![0]);
  if (set.length === 1 && set[0]![0] === 0 && set[0]![1] === MAX_CODE_POINT) return '[\\s\\S]';
  let out = '[';
  for (const [lo, hi] of set) {
    out += escapeCodePoint(lo);
    if (hi > lo) out += (hi > lo + 1 ? '-' : '') + escapeCodePoint(hi);
  }
  return out + ']';
}
