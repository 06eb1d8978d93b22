/**
 * What an oslo message on the wire says, for an operator: a notification's priority,
 * event type, publisher, message id and payload; an RPC request's method; a reply. Decoded
 * with Python's JSON rules (big integers exact), without the library's dispatch.
 *
 * @module
 */
import { parseJson } from '../json.js';
import { bodyText, type Delivery } from './record.js';

/** One decoded message. Field names are oslo's, as Python code and `jq` filters know them. */
export interface WireMessage {
  readonly kind: 'notification' | 'rpc' | 'reply' | 'unknown';
  readonly exchange: string;
  readonly routing_key: string;
  /** `2.0` for the oslo envelope, `null` for a bare (1.0) message. */
  readonly envelope: string | null;
  readonly priority?: string | undefined;
  readonly message_id?: string | undefined;
  readonly timestamp?: string | undefined;
  readonly publisher_id?: string | null | undefined;
  readonly event_type?: string | undefined;
  readonly payload?: unknown;
  /** RPC: the method, its arguments, namespace and version. */
  readonly method?: string | undefined;
  readonly args?: unknown;
  readonly namespace?: string | null | undefined;
  readonly version?: string | null | undefined;
  /** The `_context_*` keys without their prefix. */
  readonly context: Readonly<Record<string, unknown>>;
  /** Why the body could not be read as an oslo message, if it could not. */
  readonly error?: string | undefined;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Decode one delivery; never throws (an unreadable body gives `kind: 'unknown'` and `error`). */
export function decodeDelivery(d: Delivery): WireMessage {
  const base = { exchange: d.exchange, routing_key: d.routingKey };
  const text = bodyText(d.body);
  if (text === undefined) {
    return { ...base, kind: 'unknown', envelope: null, context: {}, error: 'body is not UTF-8' };
  }
  let outer: Record<string, unknown> | undefined;
  let inner: Record<string, unknown> | undefined;
  let envelope: string | null = null;
  try {
    outer = asObject(parseJson(text));
    const wrapped = outer === undefined ? undefined : str(outer['oslo.message']);
    if (outer !== undefined && wrapped !== undefined) {
      envelope = str(outer['oslo.version']) ?? null;
      inner = asObject(parseJson(wrapped));
    } else {
      inner = outer;
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ...base, kind: 'unknown', envelope, context: {}, error: `not JSON: ${reason}` };
  }
  if (inner === undefined) {
    return { ...base, kind: 'unknown', envelope, context: {}, error: 'not a JSON object' };
  }
  const context: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inner)) {
    if (key.startsWith('_context_')) context[key.slice('_context_'.length)] = value;
  }
  if (typeof inner['event_type'] === 'string' && typeof inner['priority'] === 'string') {
    return {
      ...base,
      kind: 'notification',
      envelope,
      priority: inner['priority'],
      message_id: str(inner['message_id']),
      timestamp: str(inner['timestamp']),
      publisher_id: typeof inner['publisher_id'] === 'string' ? inner['publisher_id'] : null,
      event_type: inner['event_type'],
      payload: inner['payload'],
      context,
    };
  }
  if (typeof inner['method'] === 'string') {
    return {
      ...base,
      kind: 'rpc',
      envelope,
      method: inner['method'],
      args: inner['args'],
      namespace: str(inner['namespace']) ?? null,
      version: str(inner['version']) ?? null,
      message_id: str(inner['_msg_id']),
      context,
    };
  }
  if ('result' in inner || 'failure' in inner || 'ending' in inner) {
    return { ...base, kind: 'reply', envelope, message_id: str(inner['_msg_id']), context };
  }
  return { ...base, kind: 'unknown', envelope, context, error: 'not an oslo message' };
}

/**
 * The topic a routing key belongs to: `<topic>.<priority>` for notifications,
 * `<topic>` or `<topic>.<server>` for RPC requests.
 */
export function topicOf(m: WireMessage): string {
  const key = m.routing_key;
  if (m.kind === 'notification' && m.priority !== undefined) {
    const suffix = `.${m.priority.toLowerCase()}`;
    if (key.endsWith(suffix)) return key.slice(0, -suffix.length);
  }
  if (m.kind === 'rpc') {
    const dot = key.indexOf('.');
    return dot < 0 ? key : key.slice(0, dot);
  }
  return key;
}
