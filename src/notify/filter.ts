/**
 * NotificationFilter: which notifications an endpoint receives.
 *
 * @module
 */
import { PatternError } from '../errors.js';
import { PythonRegExp } from '../wire/python-re.js';

/**
 * A pattern: a string holding a Python regular expression (what oslo's `filter_rule`
 * takes, so rules port unchanged), or a JavaScript `RegExp`.
 *
 * Either way it is matched the way Python's `re.match` does: **anchored at the start of
 * the value only**, not at its end. `'^compute'` and `'compute'` are the same rule;
 * write `'^active$'` to match the whole value.
 *
 * A string is a Python `re` pattern with Python's meaning (see `PythonRegExp`): `\w`,
 * `\d`, `\s` and `\b` are Unicode as in Python, `.` excludes only `\n`, `$` also matches
 * before a final newline, `{,n}` is a quantifier, `(?P<name>...)`, `(?#...)`, inline flags
 * such as `(?i)` and `(?x)`, scoped flags, atomic groups and possessive quantifiers are
 * understood. A pattern that cannot be translated exactly is refused at construction.
 * A `RegExp` is used as it is, with JavaScript's meaning (its flags kept, except `g`).
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

/** A compiled pattern: true when it matches at the start of the value. */
interface Matcher {
  match(value: string): boolean;
}

/** Compile a pattern so that `match()` anchors at the start only (Python's `re.match`). */
function compile(pattern: FilterPattern, field: string): Matcher {
  if (pattern instanceof RegExp) {
    const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '') + 'y');
    return {
      match: (value) => {
        // The sticky flag with lastIndex 0 anchors the match at the start of the value.
        regex.lastIndex = 0;
        return regex.test(value);
      },
    };
  }
  if (typeof pattern !== 'string') {
    throw new TypeError(`NotificationFilter ${field} must be a string or a RegExp`);
  }
  try {
    return new PythonRegExp(pattern);
  } catch (err) {
    // Same class and fields; the message names the field: `NotificationFilter eventType: ...`.
    if (err instanceof PatternError) err.message = `NotificationFilter ${field}: ${err.message}`;
    throw err;
  }
}

function compileAll(patterns: FilterPatterns | undefined, field: string): Map<string, Matcher> {
  const out = new Map<string, Matcher>();
  if (patterns === undefined) return out;
  if (typeof patterns !== 'object' || patterns === null || Array.isArray(patterns)) {
    throw new TypeError(`NotificationFilter ${field} must be an object of {key: pattern}`);
  }
  for (const [key, pattern] of Object.entries(patterns)) {
    out.set(key, compile(pattern, `${field}.${key}`));
  }
  return out;
}

function matches(regex: Matcher, value: unknown): boolean {
  // oslo: a value that is not a string never matches (numbers, booleans, null, lists).
  return typeof value === 'string' && regex.match(value);
}

function matchesAll(regexes: Map<string, Matcher>, data: unknown): boolean {
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
 * @throws PatternError at construction for a pattern Python would refuse (Python's
 *   reason, the field named), `UnsupportedPattern` for a valid Python pattern that
 *   has no exact translation (the construct named): never a different match
 *
 * @example
 * ```ts
 * import { NotificationFilter, type NotificationEndpoint } from 'oslo-messaging';
 *
 * const filterRule = new NotificationFilter({
 *   publisherId: '^compute\\.',
 *   eventType: '^compute\\.instance\\.create\\.',
 *   context: { project_id: '^p-' },
 *   payload: { state: '^active$' },
 * });
 * // Given to a listener, the endpoint only sees what its filterRule matches.
 * const endpoint: NotificationEndpoint = {
 *   filterRule,
 *   info(ctxt, publisherId, eventType, payload) {
 *     console.log(eventType, payload);
 *   },
 * };
 * const ctxt = { project_id: 'p-1' };
 * const event = 'compute.instance.create.end';
 * console.log(filterRule.match(ctxt, 'compute.h1', event, {}, { state: 'active' })); // true
 * console.log(filterRule.match(ctxt, 'network.h1', event, {}, { state: 'active' })); // false
 * console.log(Object.keys(endpoint)); // [ 'filterRule', 'info' ]
 * ```
 */
export class NotificationFilter implements NotificationFilterLike {
  readonly #publisherId: Matcher | undefined;
  readonly #eventType: Matcher | undefined;
  readonly #context: Map<string, Matcher>;
  readonly #metadata: Map<string, Matcher>;
  readonly #payload: Map<string, Matcher>;

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
