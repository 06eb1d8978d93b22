/**
 * Capture records: one message as it was on the wire, on one JSON line, as `listen --raw`
 * and `peek --raw` print it and `republish` reads it back.
 *
 * ```json
 * {"body": {"oslo.version": "2.0", "oslo.message": "..."}, "exchange": "nova",
 *  "routing_key": "notifications.info", "redelivered": false,
 *  "properties": {"content_type": "application/json", "delivery_mode": 2, ...}}
 * ```
 *
 * `body` comes first and holds the message body **byte for byte** when it is JSON on one
 * line (what oslo sends), so `jq -c .body` prints the envelope as received. Other bodies
 * are kept exactly too, as `body_text` (a JSON string) or, when not UTF-8, `body_base64`.
 *
 * @module
 */

/** A message and where it was delivered from. */
export interface Delivery {
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  /** AMQP basic properties, with AMQP's snake_case names (`content_type`, `headers`...). */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly body: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text, or `undefined` when it is not UTF-8. */
export function bodyText(body: Buffer): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

function isOneLineJson(text: string): boolean {
  if (/[\r\n\u2028\u2029]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** One capture record, without the newline. */
export function formatRecord(d: Delivery): string {
  const text = bodyText(d.body);
  const body =
    text === undefined
      ? `"body_base64":${JSON.stringify(d.body.toString('base64'))}`
      : isOneLineJson(text)
        ? `"body":${text}`
        : `"body_text":${JSON.stringify(text)}`;
  const rest = JSON.stringify({
    exchange: d.exchange,
    routing_key: d.routingKey,
    redelivered: d.redelivered,
    properties: d.properties,
  });
  return `{${body},${rest.slice(1)}`;
}

/** Index just past the JSON value starting at `i` (whitespace skipped before it). */
function skipValue(text: string, start: number): number {
  let i = start;
  while (' \t'.includes(text.charAt(i)) && i < text.length) i += 1;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '"') {
      for (i += 1; i < text.length && text.charAt(i) !== '"'; i++) {
        if (text.charAt(i) === '\\') i += 1;
      }
      if (depth === 0) return i + 1;
    } else if (c === '{' || c === '[') {
      depth += 1;
    } else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
      if (depth < 0) return i;
    } else if (depth === 0 && (c === ',' || c === ' ')) {
      return i;
    }
  }
  return i;
}

/**
 * Read a capture record back. The body keeps its exact bytes: its text is cut from the
 * line, not parsed and written again.
 *
 * @throws SyntaxError for a line that is not a capture record.
 */
export function parseRecord(line: string): Delivery {
  const record = JSON.parse(line) as unknown;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new SyntaxError('not a capture record (a JSON object with body and routing_key)');
  }
  const r = record as Record<string, unknown>;
  let body: Buffer;
  if (typeof r['body_base64'] === 'string') {
    body = Buffer.from(r['body_base64'], 'base64');
  } else if (typeof r['body_text'] === 'string') {
    body = Buffer.from(r['body_text'], 'utf8');
  } else if ('body' in r) {
    const head = /^\{\s*"body"\s*:/.exec(line);
    // Written by formatRecord: body first, cut out verbatim. Otherwise (a record edited
    // with jq, say) the parsed value is written as compact JSON.
    const text =
      head === null
        ? JSON.stringify(r['body'])
        : line.slice(head[0].length, skipValue(line, head[0].length)).trim();
    body = Buffer.from(text, 'utf8');
  } else {
    throw new SyntaxError('not a capture record: no body, body_text or body_base64');
  }
  if (typeof r['routing_key'] !== 'string') {
    throw new SyntaxError('not a capture record: no routing_key');
  }
  const properties = r['properties'];
  return {
    exchange: typeof r['exchange'] === 'string' ? r['exchange'] : '',
    routingKey: r['routing_key'],
    redelivered: r['redelivered'] === true,
    properties:
      typeof properties === 'object' && properties !== null && !Array.isArray(properties)
        ? (properties as Record<string, unknown>)
        : {},
    body,
  };
}

/** AMQP basic properties by amqplib's names, and ours (AMQP's, as kombu and oslo name them). */
export const PROPERTY_NAMES: Readonly<Record<string, string>> = {
  contentType: 'content_type',
  contentEncoding: 'content_encoding',
  headers: 'headers',
  deliveryMode: 'delivery_mode',
  priority: 'priority',
  correlationId: 'correlation_id',
  replyTo: 'reply_to',
  expiration: 'expiration',
  messageId: 'message_id',
  timestamp: 'timestamp',
  type: 'type',
  userId: 'user_id',
  appId: 'app_id',
};
