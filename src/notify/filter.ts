/**
 * NotificationFilter: which notifications an endpoint receives.
 *
 * @module
 */

/**
 * A pattern: a string holding a Python regular expression (what oslo's `filter_rule`
 * takes, so rules port unchanged), or a JavaScript `RegExp`.
 *
 * Either way it is matched the way Python's `re.match` does: **anchored at the start of
 * the value only**, not at its end. `'^compute'` and `'compute'` are the same rule;
 * write `'^active$'` to match the whole value.
 *
 * A string is translated from Python syntax: `(?P<name>...)` and `(?P=name)` named
 * groups, leading inline flags `(?i)`, `(?m)`, `(?s)`, the anchors `\A` and `\Z`, a `]`
 * first in a character class, and `$`, which (as in Python) also matches before a final
 * newline. Verbose patterns (`(?x)`) are refused. Other syntax is read by JavaScript's
 * `RegExp`, which agrees with Python on what filters normally use. A `RegExp` is used
 * as it is (its flags kept, except `g`).
 */
export type FilterPattern = string | RegExp;

/** Patterns on the keys of an object: `{ state: '^active$' }`. */
export type FilterPatterns = Readonly<Record<string, FilterPattern>>;

/** The criteria of a {@link NotificationFilter}. Every criterion given must match. */
export interface NotificationFilterOptions {
  /** Patterns on top-level keys of the (deserialised) request context. */
  context?: FilterPatterns | undefined;
  /** Pattern on the publisher id, e.g. `'^compute\\.'`. */
  publisherId?: FilterPattern | undefined;
  /** Pattern on the event type, e.g. `'^compute\\.instance\\.create\\.'`. */
  eventType?: FilterPattern | undefined;
  /** Patterns on the metadata: `message_id` and `timestamp`. */
  metadata?: FilterPatterns | undefined;
  /** Patterns on top-level keys of the (deserialised) payload. */
  payload?: FilterPatterns | undefined;
}

/**
 * Anything with a `match` method can be an endpoint's `filterRule`; a
 * {@link NotificationFilter} is the usual one.
 */
export interface NotificationFilterLike {
  /** True when the endpoint should receive this notification. */
  match(
    ctxt: unknown,
    publisherId: unknown,
    eventType: unknown,
    metadata: unknown,
    payload: unknown,
  ): boolean;
}

// Python's `$` (without MULTILINE) matches at the end or before a final newline;
// JavaScript's only at the end. `\A` and `\Z` are absolute whatever the flags.
const PY_DOLLAR = '(?=\\n?(?![\\s\\S]))';
const PY_START = '(?<![\\s\\S])';
const PY_END = '(?![\\s\\S])';

/** Translate a Python `re` pattern to a JavaScript one (see {@link FilterPattern}). */
function translatePython(pattern: string): { source: string; flags: string } {
  let flags = '';
  let i = 0;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(pattern);
  if (inline !== null) {
    const letters = inline[1] ?? '';
    if (letters.includes('x')) throw new SyntaxError('verbose patterns ((?x)) are not supported');
    for (const letter of letters)
      if ('ims'.includes(letter) && !flags.includes(letter)) flags += letter;
    i = inline[0].length;
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  let classStart = false;
  while (i < pattern.length) {
    const c = pattern.charAt(i);
    if (c === '\\') {
      const next = pattern.charAt(i + 1);
      if (next === '') throw new SyntaxError('bad escape (end of pattern)');
      if (!inClass && next === 'A') out += PY_START;
      else if (!inClass && next === 'Z') out += PY_END;
      else out += c + next;
      i += 2;
      classStart = false;
      continue;
    }
    if (inClass) {
      // Python reads a `]` right after `[` or `[^` as a literal; JavaScript as an empty class.
      if (c === ']' && classStart) out += '\\]';
      else {
        if (c === ']') inClass = false;
        out += c;
      }
      classStart = false;
      i += 1;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classStart = true;
      out += c;
      i += 1;
      if (pattern.charAt(i) === '^') {
        out += '^';
        i += 1;
      }
      continue;
    }
    if (c === '$') {
      out += multiline ? '$' : PY_DOLLAR;
      i += 1;
      continue;
    }
    if (pattern.startsWith('(?P<', i)) {
      out += '(?<';
      i += 4;
      continue;
    }
    if (pattern.startsWith('(?P=', i)) {
      const close = pattern.indexOf(')', i);
      if (close < 0) throw new SyntaxError('missing ), unterminated name');
      out += `\\k<${pattern.slice(i + 4, close)}>`;
      i = close + 1;
      continue;
    }
    out += c;
    i += 1;
  }
  return { source: out, flags };
}

/** Compile a pattern so that `test()` anchors at the start only (Python's `re.match`). */
function compile(pattern: FilterPattern, field: string): RegExp {
  if (pattern instanceof RegExp) {
    return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '') + 'y');
  }
  if (typeof pattern !== 'string') {
    throw new TypeError(`NotificationFilter ${field} must be a string or a RegExp`);
  }
  try {
    const { source, flags } = translatePython(pattern);
    // The sticky flag with lastIndex 0 anchors the match at the start of the value.
    return new RegExp(source, flags + 'y');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new SyntaxError(
      `NotificationFilter ${field}: invalid pattern ${JSON.stringify(pattern)}: ${reason}`,
      {
        cause: err,
      },
    );
  }
}

function compileAll(patterns: FilterPatterns | undefined, field: string): Map<string, RegExp> {
  const out = new Map<string, RegExp>();
  if (patterns === undefined) return out;
  if (typeof patterns !== 'object' || patterns === null || Array.isArray(patterns)) {
    throw new TypeError(`NotificationFilter ${field} must be an object of {key: pattern}`);
  }
  for (const [key, pattern] of Object.entries(patterns)) {
    out.set(key, compile(pattern, `${field}.${key}`));
  }
  return out;
}

function matches(regex: RegExp, value: unknown): boolean {
  // oslo: a value that is not a string never matches (numbers, booleans, null, lists).
  if (typeof value !== 'string') return false;
  regex.lastIndex = 0;
  return regex.test(value);
}

function matchesAll(regexes: Map<string, RegExp>, data: unknown): boolean {
  if (regexes.size === 0) return true;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  for (const [key, regex] of regexes) {
    // A missing key is a mismatch. Keys inherited from Object.prototype hold functions,
    // which are not strings, so they never match either.
    if (!(key in data)) return false;
    if (!matches(regex, (data as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * Which notifications an endpoint receives (oslo's `NotificationFilter`): set it as the
 * endpoint's `filterRule`. A notification that does not match is not given to that
 * endpoint; other endpoints still get it, and it is acknowledged as usual.
 *
 * Semantics, as oslo's:
 * - every criterion given must match (AND); an empty filter matches everything;
 * - patterns match at the start of the value only (Python `re.match`);
 * - `context`, `metadata` and `payload` look at **top-level keys only**: a key
 *   `'a.b'` names the key `"a.b"`, not a nested path (upstream has no nested lookup);
 * - a missing key, or a value that is not a string (a number, a boolean, `null`, a
 *   list, an object), is a mismatch, as is a payload that is not an object.
 *
 * @throws SyntaxError at construction for a pattern that does not compile
 *
 * @example
 * ```ts
 * const endpoint = {
 *   filterRule: new NotificationFilter({
 *     publisherId: '^compute\\.',
 *     eventType: '^compute\\.instance\\.create\\.',
 *     context: { project_id: '^p-' },
 *     payload: { state: '^active$' },
 *   }),
 *   info(ctxt, publisherId, eventType, payload, metadata) {},
 * };
 * ```
 */
export class NotificationFilter implements NotificationFilterLike {
  readonly #publisherId: RegExp | undefined;
  readonly #eventType: RegExp | undefined;
  readonly #context: Map<string, RegExp>;
  readonly #metadata: Map<string, RegExp>;
  readonly #payload: Map<string, RegExp>;

  constructor(options: NotificationFilterOptions = {}) {
    this.#publisherId =
      options.publisherId === undefined ? undefined : compile(options.publisherId, 'publisherId');
    this.#eventType =
      options.eventType === undefined ? undefined : compile(options.eventType, 'eventType');
    this.#context = compileAll(options.context, 'context');
    this.#metadata = compileAll(options.metadata, 'metadata');
    this.#payload = compileAll(options.payload, 'payload');
  }

  /** True when every criterion matches. Arguments as an endpoint method receives them. */
  match(
    ctxt: unknown,
    publisherId: unknown,
    eventType: unknown,
    metadata: unknown,
    payload: unknown,
  ): boolean {
    return (
      (this.#publisherId === undefined || matches(this.#publisherId, publisherId)) &&
      (this.#eventType === undefined || matches(this.#eventType, eventType)) &&
      matchesAll(this.#context, ctxt) &&
      matchesAll(this.#metadata, metadata) &&
      matchesAll(this.#payload, payload)
    );
  }
}
