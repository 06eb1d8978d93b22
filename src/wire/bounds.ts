/**
 * Values from the wire are bounded before they are used: durations (a client's `_timeout`)
 * are validated and clamped, and any wire value shown in a log line is cut to a preview
 * that says how big it was. A peer can't make a server spin on timers or write megabytes
 * of log.
 *
 * @module
 */

/**
 * The longest duration taken from the wire: one day. Node's timers hold at most about
 * 24.8 days (2^31 - 1 ms) and fire at once beyond that, which would turn a huge
 * call-monitor timeout into a busy loop of heartbeats.
 */
export const MAX_WIRE_DURATION_MS = 24 * 60 * 60 * 1000;

/** A duration read from the wire. */
export interface WireDuration {
  /** Milliseconds, at most {@link MAX_WIRE_DURATION_MS}. */
  readonly ms: number;
  /** Whether the value asked for more and was cut to the maximum. */
  readonly clamped: boolean;
}

/**
 * Whole seconds from the wire as Python's `int()` reads them (a number, truncated; a
 * bigint; a string of decimal digits), or `undefined` for anything else (`null`, NaN,
 * Infinity, `"2.5"`, objects).
 */
export function wireSeconds(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) {
    const text = value.trim();
    return text.replace(/^[+-]/, '').length > 15 ? BigInt(text) : Number.parseInt(text, 10);
  }
  return undefined;
}

/** `seconds` (non-negative) as a {@link WireDuration}, clamped to the maximum. */
export function clampWireDuration(seconds: number | bigint): WireDuration {
  const max = MAX_WIRE_DURATION_MS;
  if (typeof seconds === 'bigint') {
    return seconds * 1000n > BigInt(max)
      ? { ms: max, clamped: true }
      : { ms: Number(seconds) * 1000, clamped: false };
  }
  const ms = seconds * 1000;
  return ms > max ? { ms: max, clamped: true } : { ms, clamped: false };
}

/** How many characters of a wire value a log line shows. */
export const LOG_PREVIEW_CHARS = 200;

/**
 * A wire value for a log line, at most about `limit` characters: strings as they are, or
 * cut with their size (`"aaaa..." (5242880 chars)`); other values as compact JSON-like
 * text, cut the same way, without ever writing out a huge value in full.
 */
export function preview(value: unknown, limit: number = LOG_PREVIEW_CHARS): string {
  if (typeof value === 'string') {
    return value.length <= limit ? value : `${value.slice(0, limit)}... (${value.length} chars)`;
  }
  const out: string[] = [];
  let size = 0;
  const put = (text: string): boolean => {
    out.push(text);
    size += text.length;
    return size <= limit;
  };
  const walk = (v: unknown, depth: number): boolean => {
    if (typeof v === 'string') return put(JSON.stringify(v.length > limit ? v.slice(0, limit) : v));
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
      return put(String(v));
    if (v === null || v === undefined) return put('null');
    if (typeof v !== 'object' || depth > 8) return put(`<${typeof v}>`);
    const array = Array.isArray(v);
    if (!put(array ? '[' : '{')) return false;
    let first = true;
    for (const key in v) {
      if (!first && !put(', ')) return false;
      first = false;
      if (!array && !put(`${JSON.stringify(key.slice(0, limit))}: `)) return false;
      if (!walk((v as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return put(array ? ']' : '}');
  };
  if (walk(value, 0)) return out.join('');
  return `${out.join('').slice(0, limit)}... (truncated)`;
}
