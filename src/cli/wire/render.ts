/**
 * How `listen` and `peek` print a message: `pretty` for a terminal, `json` (one decoded
 * object a line), `raw` (one capture record a line, the body exactly as received).
 *
 * @module
 */
import { formatJson } from '../json.js';
import type { WireMessage } from './decode.js';
import { formatRecord, type Delivery } from './record.js';

/** The output formats. */
export const FORMATS = ['pretty', 'json', 'raw'] as const;
/** An output format. */
export type Format = (typeof FORMATS)[number];

/** The decoded fields `--format json` prints, in this order. */
function jsonView(m: WireMessage): Record<string, unknown> {
  if (m.kind === 'notification') {
    return {
      exchange: m.exchange,
      routing_key: m.routing_key,
      priority: m.priority,
      message_id: m.message_id ?? null,
      timestamp: m.timestamp ?? null,
      publisher_id: m.publisher_id ?? null,
      event_type: m.event_type,
      payload: m.payload,
      context: m.context,
    };
  }
  return { ...m };
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}

/** A message for a person: a header line, where it came from, the payload. */
function pretty(m: WireMessage): string {
  const where = `  exchange=${m.exchange === '' ? '(default)' : m.exchange} routing_key=${m.routing_key}`;
  if (m.kind === 'notification') {
    const head = [
      m.timestamp ?? '-',
      (m.priority ?? '').padEnd(8),
      m.event_type,
      `publisher=${m.publisher_id ?? 'null'}`,
    ];
    return `${head.join('  ')}  id=${m.message_id ?? '-'}\n${where}\n${indent(formatJson(m.payload ?? null, 2))}\n`;
  }
  if (m.kind === 'rpc') {
    const version = m.version === null || m.version === undefined ? '' : ` version=${m.version}`;
    const ns = m.namespace === null || m.namespace === undefined ? '' : ` namespace=${m.namespace}`;
    return `RPC ${m.method ?? ''}${ns}${version}  msg_id=${m.message_id ?? '-'}\n${where}\n${indent(formatJson(m.args ?? null, 2))}\n`;
  }
  if (m.kind === 'reply') return `reply msg_id=${m.message_id ?? '-'}\n${where}\n`;
  return `undecodable message (${m.error ?? 'unknown'})\n${where}\n`;
}

/** One message in the chosen format, with its final newline. */
export function renderMessage(m: WireMessage, d: Delivery | undefined, format: Format): string {
  if (format === 'raw') {
    if (d === undefined) throw new Error('raw output needs the delivery');
    return `${formatRecord(d)}\n`;
  }
  if (format === 'json') return `${formatJson(jsonView(m))}\n`;
  return pretty(m);
}
