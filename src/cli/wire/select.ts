/**
 * Which messages an operator asked to see: `--event-type`, `--publisher` and `--filter`
 * (Python regular expressions with `NotificationFilter`'s semantics, because they are a
 * NotificationFilter) and `--since` (a notification's timestamp).
 *
 * @module
 */
import { NotificationFilter, type NotificationFilterOptions } from '../../index.js';
import { UsageError } from '../errors.js';
import { listOpt, stringOpt, type OptionSpec, type OptionValues } from '../options.js';
import type { WireMessage } from './decode.js';

/** The options of {@link selectionOf}. */
export const SELECT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'event-type': { type: 'string', value: 'REGEX', help: 'only event types matching this' },
  publisher: { type: 'string', value: 'REGEX', help: 'only publisher ids matching this' },
  filter: {
    type: 'string',
    multiple: true,
    value: 'KEY=REGEX',
    help:
      'only notifications where KEY matches REGEX (Python re.match, as NotificationFilter): ' +
      'KEY is event_type, publisher_id, or payload.NAME, context.NAME, metadata.NAME for a top-level key',
  },
  since: {
    type: 'string',
    value: 'WHEN',
    help: "only notifications stamped at or after WHEN: a duration back from now (90s, 15m, 2h, 1d) or a UTC time ('2026-11-29 05:04:52', ISO 8601)",
  },
};

/** A predicate on decoded messages; `undefined` when nothing was asked. */
export interface Selection {
  readonly filter: NotificationFilter | undefined;
  /** Epoch ms: notifications stamped before this are skipped. */
  readonly sinceMs: number | undefined;
  /** True when the message is wanted. */
  matches(m: WireMessage): boolean;
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: epoch ms. A duration counts back from `now`. */
export function parseSince(text: string, now = Date.now()): number {
  const duration = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(text.trim());
  if (duration !== null) return now - Number(duration[1]) * (UNITS[duration[2] ?? 's'] ?? 1000);
  const ms = oslotime(text.trim());
  if (ms === undefined) {
    throw new UsageError(
      `--since must be a duration (90s, 15m, 2h, 1d) or a UTC time ('2026-11-29 05:04:52'), got '${text}'`,
    );
  }
  return ms;
}

/**
 * Epoch ms of oslo's naive-UTC timestamp (`2026-11-29 05:04:52[.838860]`) or an ISO 8601
 * time; a time without a zone is UTC, as oslo writes them.
 */
export function oslotime(text: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d)(?:[ T](\d\d:\d\d(?::\d\d(?:\.\d+)?)?))?(Z|[+-]\d\d:?\d\d)?$/.exec(
    text,
  );
  if (m === null) return undefined;
  const time = m[2] ?? '00:00:00';
  // Date takes milliseconds only: cut microseconds.
  const clipped = time.replace(/(\.\d{3})\d+$/, '$1');
  const ms = Date.parse(`${m[1]}T${clipped}${m[3] ?? 'Z'}`);
  return Number.isNaN(ms) ? undefined : ms;
}

function filterOptions(values: OptionValues): NotificationFilterOptions | undefined {
  const options: {
    eventType?: string;
    publisherId?: string;
    payload?: Record<string, string>;
    context?: Record<string, string>;
    metadata?: Record<string, string>;
  } = {};
  const eventType = stringOpt(values, 'event-type');
  const publisher = stringOpt(values, 'publisher');
  if (eventType !== undefined) options.eventType = eventType;
  if (publisher !== undefined) options.publisherId = publisher;
  for (const item of listOpt(values, 'filter')) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq);
    const pattern = item.slice(eq + 1);
    if (key === 'event_type') options.eventType = pattern;
    else if (key === 'publisher_id') options.publisherId = pattern;
    else {
      const dot = key.indexOf('.');
      const group = key.slice(0, dot);
      const name = key.slice(dot + 1);
      if (dot < 0 || name === '' || !['payload', 'context', 'metadata'].includes(group)) {
        throw new UsageError(
          `--filter must be KEY=REGEX with KEY event_type, publisher_id, payload.NAME, context.NAME or metadata.NAME, got '${item}'`,
        );
      }
      const into = (options[group as 'payload' | 'context' | 'metadata'] ??= {});
      into[name] = pattern;
    }
  }
  return Object.keys(options).length === 0 ? undefined : options;
}

/** The selection the options ask for. A bad pattern is a SyntaxError (usage, exit 2). */
export function selectionOf(values: OptionValues, now = Date.now()): Selection {
  const options = filterOptions(values);
  const filter = options === undefined ? undefined : new NotificationFilter(options);
  const sinceText = stringOpt(values, 'since');
  const sinceMs = sinceText === undefined ? undefined : parseSince(sinceText, now);
  return {
    filter,
    sinceMs,
    matches(m: WireMessage): boolean {
      if (filter === undefined && sinceMs === undefined) return true;
      if (m.kind !== 'notification') return false;
      if (sinceMs !== undefined) {
        const at = m.timestamp === undefined ? undefined : oslotime(m.timestamp);
        if (at === undefined || at < sinceMs) return false;
      }
      const metadata = { message_id: m.message_id, timestamp: m.timestamp };
      return (
        filter === undefined ||
        filter.match(m.context, m.publisher_id, m.event_type, metadata, m.payload)
      );
    },
  };
}
