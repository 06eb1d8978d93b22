/**
 * The oslo wire format (spec §3, §4.4, §5.2): the 2.0 envelope, the underscore keys,
 * context flattening, message builders in oslo's key order, ids and notification
 * timestamps. Everything here produces the same bytes as Python oslo.messaging for the
 * same values.
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { InvalidRPCVersion, MalformedMessage, UnsupportedRpcEnvelopeVersion } from '../errors.js';
import { isCompatible } from '../version.js';
import {
  formatUtcDatetime,
  pyDumps,
  pyDumpsNested,
  pyLoads,
  setOwnKey,
  toPrimitive,
} from './pyjson.js';
import type { NotificationMessage } from './messages.js';
import { pyLoadsParsed } from './pyjson-read.js';

/** The envelope version this library writes and reads (same major, minor ≤ 0). */
export const ENVELOPE_VERSION = '2.0';

const VERSION_KEY = 'oslo.version';
const MESSAGE_KEY = 'oslo.message';
const CONTEXT_PREFIX = '_context_';

/** A message context as it is flattened onto the wire: a JSON object. */
export type WireContext = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------------------------------
// Ids

/** Random bytes for {@link hex32}, drawn 256 ids at a time from the CSPRNG. */
let idPool = Buffer.alloc(0);
let idOffset = 0;

/**
 * A new `uuid4().hex`: 32 lower-case hex digits, no dashes (`_msg_id`, `_unique_id`),
 * with the version (4) and variant bits of a random UUID. Drawn from the same CSPRNG
 * as `crypto.randomUUID`, several ids per call, and hex-encoded natively: one is made
 * for every message sent.
 */
export function hex32(): string {
  if (idOffset + 16 > idPool.length) {
    idPool = randomBytes(16 * 256);
    idOffset = 0;
  }
  const at = idOffset;
  idOffset = at + 16;
  idPool[at + 6] = (idPool[at + 6]! & 0x0f) | 0x40;
  idPool[at + 8] = (idPool[at + 8]! & 0x3f) | 0x80;
  return idPool.toString('hex', at, at + 16);
}

/** A new `str(uuid4())`: 36 characters with dashes (a notification's `message_id`). */
export function uuid36(): string {
  return randomUUID();
}

// ---------------------------------------------------------------------------------------
// Encoding and decoding

/**
 * The message dict as oslo's `jsonutils.dumps` writes it: Python `json.dumps` bytes, with
 * `to_primitive` applied to anything that is not JSON data (a Date becomes
 * `YYYY-MM-DDTHH:MM:SS.ffffff`). This is the whole body of a bare ("1.0") message, such as
 * a `messaging` (v1) notification, and the inner text of an envelope.
 *
 * @throws TypeError for values JSON can't carry (see `pyDumps`).
 */
export function encodeMessage(msg: Readonly<Record<string, unknown>>): string {
  return pyDumps(msg, toPrimitive);
}

/**
 * The 2.0 envelope, byte-identical to Python's:
 * `{"oslo.version": "2.0", "oslo.message": "<encodeMessage(msg) as a JSON string>"}`.
 * `oslo.message` is a JSON *string*, not a nested object.
 *
 * @throws TypeError for values JSON can't carry (see `pyDumps`).
 */
export function encodeEnvelope(msg: Readonly<Record<string, unknown>>): string {
  return `{"oslo.version": "2.0", "oslo.message": ${pyDumpsNested(msg, toPrimitive)}}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseObject(
  text: string,
  what: string,
  parse: (text: string) => unknown = pyLoads,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new MalformedMessage(`${what} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MalformedMessage(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Decode a received body into the message dict, as oslo's `deserialize_msg` does:
 *
 * - a JSON object with both `oslo.version` and `oslo.message` is a 2.0 envelope: the
 *   version must have major 2 and minor 0 (a revision `2.0.0` is accepted), and
 *   `oslo.message` must be a string holding a JSON object, which is returned;
 * - any other JSON object is a bare "1.0" message and is returned as it is.
 *
 * Compact JSON, raw UTF-8 instead of `\u` escapes, and Python's `NaN`/`Infinity` are
 * accepted. A `Uint8Array` (or Buffer) must be UTF-8.
 *
 * @throws UnsupportedRpcEnvelopeVersion for any other envelope version (oslo rejects such
 * a message without requeue and never dispatches it).
 * @throws MalformedMessage for invalid UTF-8 or JSON, JSON that is not an object, or an
 * `oslo.message` that is not a string holding a JSON object.
 */
export function decodeMessage(body: string | Uint8Array): Record<string, unknown> {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch (err) {
      throw new MalformedMessage('message body is not valid UTF-8', { cause: err });
    }
  }
  const outer = parseObject(text, 'message body', parseOuter);
  if (!Object.hasOwn(outer, VERSION_KEY) || !Object.hasOwn(outer, MESSAGE_KEY)) return outer;
  const version = outer[VERSION_KEY];
  if (typeof version !== 'string' || !isEnvelopeVersionSupported(version)) {
    throw new UnsupportedRpcEnvelopeVersion(
      typeof version === 'string' ? version : String(JSON.stringify(version)),
    );
  }
  const inner = outer[MESSAGE_KEY];
  if (typeof inner !== 'string') {
    throw new MalformedMessage(`"${MESSAGE_KEY}" is not a string`);
  }
  return parseObject(inner, `"${MESSAGE_KEY}"`);
}

const isEnvelope = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  Object.hasOwn(value, VERSION_KEY) &&
  Object.hasOwn(value, MESSAGE_KEY);

/**
 * The outer level: an envelope holds only strings, so the native parser is exact for it
 * and the numbers are read (as Python would) in `oslo.message`; a bare message is read as
 * Python reads it.
 */
function parseOuter(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return pyLoads(text); // NaN or Infinity in a bare message, or not JSON at all
  }
  return isEnvelope(parsed) ? parsed : pyLoadsParsed(text, parsed);
}

function isEnvelopeVersionSupported(version: string): boolean {
  if (version === ENVELOPE_VERSION) return true; // what every oslo release sends
  try {
    return isCompatible(ENVELOPE_VERSION, version);
  } catch (err) {
    if (err instanceof InvalidRPCVersion) return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Context

/**
 * Flatten a context onto a message (spec §3.4): each top-level context entry becomes a
 * top-level `_context_<key>` entry, value unchanged (nested values stay nested). Entries
 * are appended after the message's own keys, which is the order oslo writes. Mutates and
 * returns `msg`.
 */
export function packContext(
  msg: Record<string, unknown>,
  ctxt: WireContext | null | undefined,
): Record<string, unknown> {
  if (ctxt === null || ctxt === undefined) return msg;
  for (const key of Object.keys(ctxt)) msg[CONTEXT_PREFIX + key] = ctxt[key];
  return msg;
}

/** A received message split into its context, its body and its routing keys. */
export interface UnpackedMessage {
  /**
   * The restored context: every `_context_<key>` entry as `<key>`, plus `client_timeout`
   * (the `_timeout` value, `null` when absent), which oslo leaves in the context it hands
   * to endpoints. Context keys named `client_timeout` are overwritten.
   */
  ctxt: Record<string, unknown>;
  /** The message without `_context_*`, `_msg_id`, `_reply_q`, `_timeout` and `_unique_id`. */
  message: Record<string, unknown>;
  /** `_msg_id`: set on calls (and on replies), absent on casts and notifications. */
  msgId: string | undefined;
  /** `_reply_q`: the caller's reply queue, set on calls. */
  replyQ: string | undefined;
  /**
   * `_timeout` as it was sent: the caller's call-monitor timeout in seconds, normally a
   * number or `null`; `null` when absent. Not validated (oslo ignores values it can't use).
   */
  clientTimeout: unknown;
  /** `_unique_id`, for duplicate detection (spec §4.8). */
  uniqueId: string | undefined;
}

function optionalString(msg: Record<string, unknown>, key: string): string | undefined {
  const value = msg[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new MalformedMessage(`"${key}" is not a string: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Split a decoded message as oslo's `unpack_context` (and duplicate check) do: remove every
 * `_context_*` key and rebuild the context from them; remove `_msg_id`, `_reply_q`,
 * `_timeout` and `_unique_id` and return them separately; add `client_timeout` to the
 * context. The input is not modified.
 *
 * @throws MalformedMessage when `_msg_id`, `_reply_q` or `_unique_id` is neither a string
 * nor null.
 */
export function unpackContext(msg: Readonly<Record<string, unknown>>): UnpackedMessage {
  const ctxt: Record<string, unknown> = {};
  const message: Record<string, unknown> = {};
  for (const key of Object.keys(msg)) {
    if (key.startsWith(CONTEXT_PREFIX)) {
      setOwnKey(ctxt, key.slice(CONTEXT_PREFIX.length), msg[key]);
    } else if (
      key !== '_msg_id' &&
      key !== '_reply_q' &&
      key !== '_timeout' &&
      key !== '_unique_id'
    ) {
      setOwnKey(message, key, msg[key]);
    }
  }
  // oslo overwrites the context's msg_id and reply_q with the request's own and then
  // moves them out of the dict (RpcContext keeps them as attributes), so an endpoint
  // never sees those keys; client_timeout stays in the dict.
  delete ctxt['msg_id'];
  delete ctxt['reply_q'];
  const clientTimeout = msg['_timeout'] ?? null;
  ctxt['client_timeout'] = clientTimeout;
  return {
    ctxt,
    message,
    msgId: optionalString(msg, '_msg_id'),
    replyQ: optionalString(msg, '_reply_q'),
    clientTimeout,
    uniqueId: optionalString(msg, '_unique_id'),
  };
}

// ---------------------------------------------------------------------------------------
// Builders. Key order is oslo's (spec §3.3); receivers don't depend on it, byte equality does.

/** The RPC request proper. */
export interface RpcRequestFields {
  method: string;
  /** Keyword arguments (oslo sends no positional ones). */
  args: Readonly<Record<string, unknown>>;
  /** Written only when set (not `undefined` or `null`). */
  namespace?: string | null | undefined;
  /** Written only when set (not `undefined` or `null`). */
  version?: string | null | undefined;
}

/** The underscore keys of an RPC request. */
export interface RpcRequestKeys {
  /** Set for a call (then `replyQ` is required), absent for a cast or fanout cast. */
  msgId?: string | undefined;
  /** The caller's reply queue, `reply_<hex32>`; calls only. */
  replyQ?: string | undefined;
  /**
   * Calls only: the call-monitor timeout in seconds, sent as `_timeout` (not the call
   * timeout, which travels as the AMQP expiration). `null`/omitted: no heartbeats.
   */
  timeout?: number | null | undefined;
  /** @default a new {@link hex32} */
  uniqueId?: string | undefined;
}

/**
 * An RPC request dict. Call: `method, args, [namespace], [version], _msg_id, _reply_q,
 * _timeout, _unique_id, _context_*`; cast: `method, args, [namespace], [version],
 * _unique_id, _context_*`.
 *
 * @throws TypeError when `msgId` is given without `replyQ`.
 */
export function buildRpcRequest(
  request: RpcRequestFields,
  keys: RpcRequestKeys,
  ctxt?: WireContext | null,
): Record<string, unknown> {
  const msg: Record<string, unknown> = { method: request.method, args: request.args };
  if (request.namespace !== undefined && request.namespace !== null) {
    msg['namespace'] = request.namespace;
  }
  if (request.version !== undefined && request.version !== null) msg['version'] = request.version;
  if (keys.msgId !== undefined) {
    if (keys.replyQ === undefined) throw new TypeError('an RPC call needs a reply queue (replyQ)');
    msg['_msg_id'] = keys.msgId;
    msg['_reply_q'] = keys.replyQ;
    msg['_timeout'] = keys.timeout ?? null;
  }
  msg['_unique_id'] = keys.uniqueId ?? hex32();
  return packContext(msg, ctxt);
}

/** The fields of an RPC reply or heartbeat. */
export interface RpcReplyFields {
  /** The method's return value; `undefined` is sent as `null`. */
  result?: unknown;
  /** A failure string from `serializeRemoteError`, or `null`. */
  failure?: string | null | undefined;
  /**
   * `true` for the final reply, `false` for a call-monitor heartbeat. A Python caller
   * treats a missing or false `ending` as "more to come" and waits until it times out.
   * @default true
   */
  ending?: boolean | undefined;
  /** The `_msg_id` of the call being answered. */
  msgId: string;
  /** @default a new {@link hex32} (every reply and heartbeat needs a fresh one) */
  uniqueId?: string | undefined;
}

/**
 * An RPC reply dict: `result, failure, ending, _msg_id, _unique_id`. A heartbeat is
 * `{ result: null, failure: null, ending: false }`.
 */
export function buildRpcReply(fields: RpcReplyFields): Record<string, unknown> {
  return {
    result: fields.result === undefined ? null : fields.result,
    failure: fields.failure ?? null,
    ending: fields.ending ?? true,
    _msg_id: fields.msgId,
    _unique_id: fields.uniqueId ?? hex32(),
  };
}

/** The fields of a notification. */
export interface NotificationFields {
  /** @default a new {@link uuid36} (with dashes, unlike `_unique_id`) */
  messageId?: string | undefined;
  publisherId: string | null;
  eventType: string;
  /** Upper case, as oslo writes it: `INFO`, `WARN` (never `WARNING`), `AUDIT`, ... */
  priority: string;
  /** Already serialised (see `JsonPayloadSerializer`); `undefined` is sent as `null`. */
  payload: unknown;
  /**
   * A Date is written with {@link formatNotificationTimestamp}; a string as it is.
   * @default now
   */
  timestamp?: Date | string | undefined;
  /** @default a new {@link hex32} */
  uniqueId?: string | undefined;
}

/**
 * A notification dict: `message_id, publisher_id, event_type, priority, payload,
 * timestamp, _unique_id, _context_*`.
 */
export function buildNotification(
  fields: NotificationFields,
  ctxt?: WireContext | null,
): Record<string, unknown> {
  const timestamp = fields.timestamp ?? new Date();
  const msg: Record<string, unknown> = {
    message_id: fields.messageId ?? uuid36(),
    publisher_id: fields.publisherId,
    event_type: fields.eventType,
    priority: fields.priority,
    payload: fields.payload === undefined ? null : fields.payload,
    timestamp: typeof timestamp === 'string' ? timestamp : formatNotificationTimestamp(timestamp),
    _unique_id: fields.uniqueId ?? hex32(),
  };
  return packContext(msg, ctxt);
}

/**
 * The body a driver publishes for a notification: oslo's 2.0 envelope for `version` 2
 * (the `messagingv2` driver), the same dict bare for 1 (the `messaging` driver).
 */
export function encodeNotification(
  message: NotificationMessage,
  ctxt: WireContext | null | undefined,
  version: 1 | 2,
): string {
  const msg = buildNotification(
    {
      messageId: message.message_id,
      publisherId: message.publisher_id,
      eventType: message.event_type,
      priority: message.priority,
      payload: message.payload,
      timestamp: message.timestamp,
    },
    ctxt,
  );
  return version === 2 ? encodeEnvelope(msg) : encodeMessage(msg);
}

// ---------------------------------------------------------------------------------------
// Notification timestamps

/**
 * A notification `timestamp`: Python's `str()` of a naive UTC datetime,
 * `YYYY-MM-DD HH:MM:SS.ffffff` with a space, no zone, and no `.ffffff` at all when the
 * microsecond is 0 (so a Date on a whole second gives `YYYY-MM-DD HH:MM:SS`).
 *
 * @throws TypeError for an invalid Date or a year outside 1..9999.
 */
export function formatNotificationTimestamp(date: Date): string {
  // A notifier sending thousands a second formats the same millisecond several times.
  const time = date.getTime();
  if (time === lastTimestamp.time) return lastTimestamp.text;
  const text = formatUtcDatetime(date, ' ', date.getUTCMilliseconds() !== 0);
  lastTimestamp = { time, text };
  return text;
}

let lastTimestamp: { readonly time: number; readonly text: string } = { time: NaN, text: '' };

const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Parse a notification timestamp in either form (with or without `.ffffff`; a `T`
 * separator is accepted too) as UTC. Microseconds are truncated to milliseconds.
 * Returns `undefined` for anything else, including impossible dates.
 */
export function parseNotificationTimestamp(text: string): Date | undefined {
  const m = TIMESTAMP_PATTERN.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] === undefined ? 0 : Math.floor(Number(m[7].padEnd(6, '0')) / 1000);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC rolls over (month 13, Feb 30, hour 24) and maps years 0..99 to 1900..1999.
  date.setUTCFullYear(year);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  return date;
}
