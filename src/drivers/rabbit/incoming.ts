/**
 * Received messages: decoding a delivery into oslo's message dict (size limit,
 * content type, compression, envelope), checking the fields a server relies on, and
 * the {@link IncomingMessage} objects handed to servers.
 *
 * A delivery that fails any check never reaches a server: the listener logs it and
 * rejects it without requeue, as oslo does with what it can't decode.
 *
 * @module
 */
import { MalformedMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { DeliveryInfo, IncomingMessage, MessageHeaders } from '../driver.js';
import type { RequestContext } from '../../wire/messages.js';
import { decodeMessage, unpackContext, type UnpackedMessage } from '../../wire/envelope.js';
import { decompress } from './compression.js';
import type { Delivery } from './connection.js';

const JSON_CONTENT_TYPE = 'application/json';

/**
 * The message dict of a delivery.
 *
 * - The body may be at most `maxBytes`, before and after decompression.
 * - `content_type` must be `application/json`: kombu hands oslo anything else undecoded,
 *   and oslo then rejects it.
 * - `content_encoding` may be absent or UTF-8.
 * - A `compression` header names kombu's compression (`application/x-gzip` is zlib).
 * - The body is a 2.0 envelope or a bare JSON object (see `decodeMessage`).
 *
 * @throws MalformedMessage or UnsupportedRpcEnvelopeVersion
 */
export function decodeDelivery(delivery: Delivery, maxBytes: number): Record<string, unknown> {
  let body = delivery.body;
  if (body.length > maxBytes) {
    throw new MalformedMessage(
      `message body of ${body.length} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  const { contentType, contentEncoding, headers } = delivery.properties;
  if (contentType !== JSON_CONTENT_TYPE) {
    throw new MalformedMessage(
      `content type ${JSON.stringify(contentType ?? null)} is not ${JSON_CONTENT_TYPE}`,
    );
  }
  if (contentEncoding !== undefined && !/^utf-?8$/i.test(contentEncoding)) {
    throw new MalformedMessage(`content encoding ${JSON.stringify(contentEncoding)} is not utf-8`);
  }
  const compression = headers?.['compression'];
  if (compression !== undefined && compression !== null) {
    if (typeof compression !== 'string') {
      throw new MalformedMessage(
        `compression header ${JSON.stringify(compression)} is not a string`,
      );
    }
    body = decompress(body, compression, maxBytes);
  }
  return decodeMessage(body);
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function optionalStringField(message: Record<string, unknown>, key: string): void {
  const value = message[key];
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw new MalformedMessage(`"${key}" is not a string: ${JSON.stringify(value)}`);
  }
}

/**
 * Split and check an RPC request: `method` a non-empty string; `args` an object (a
 * missing `args` is `{}`, as oslo's dispatcher reads it); `namespace` and `version`
 * strings or null; a call (`_msg_id`) must name its reply queue.
 *
 * @throws MalformedMessage
 */
export function unpackRpcRequest(decoded: Record<string, unknown>): UnpackedMessage {
  const unpacked = unpackContext(decoded);
  const message = unpacked.message;
  const method = message['method'];
  if (typeof method !== 'string' || method === '') {
    throw new MalformedMessage(
      method === undefined
        ? 'RPC request has no "method"'
        : `"method" is not a non-empty string: ${JSON.stringify(method)}`,
    );
  }
  const args = message['args'];
  if (args === undefined) {
    message['args'] = {};
  } else if (!isPlainObject(args)) {
    throw new MalformedMessage(`"args" is not an object: ${JSON.stringify(args)}`);
  }
  optionalStringField(message, 'namespace');
  optionalStringField(message, 'version');
  if (unpacked.msgId !== undefined && unpacked.replyQ === undefined) {
    throw new MalformedMessage(`RPC call ${unpacked.msgId} has no "_reply_q" to reply to`);
  }
  return unpacked;
}

/**
 * Split and check a notification: `priority` and `event_type` non-empty strings;
 * `publisher_id`, `message_id` and `timestamp` strings or null (oslo's notifier sends
 * `publisher_id: null` when it has none). A missing `payload` is `null`. An unknown
 * priority value passes: the dispatcher logs it and acks, as oslo.
 *
 * @throws MalformedMessage
 */
export function unpackNotification(decoded: Record<string, unknown>): UnpackedMessage {
  const unpacked = unpackContext(decoded);
  const message = unpacked.message;
  for (const key of ['priority', 'event_type'] as const) {
    const value = message[key];
    if (typeof value !== 'string' || value === '') {
      throw new MalformedMessage(
        value === undefined
          ? `notification has no "${key}"`
          : `"${key}" is not a non-empty string: ${JSON.stringify(value)}`,
      );
    }
  }
  for (const key of ['publisher_id', 'message_id', 'timestamp']) optionalStringField(message, key);
  if (message['payload'] === undefined) message['payload'] = null;
  return unpacked;
}

/** How a received message is settled on its connection. */
export interface Settler {
  ack(delivery: Delivery): void;
  reject(delivery: Delivery, requeue: boolean): void;
}

/**
 * A received message. Exactly one of acknowledge/requeue/reject takes effect; later
 * calls are no-ops. Settling never rejects: on a dead channel it does nothing (the
 * broker already gave the message back).
 */
export class RabbitIncomingMessage implements IncomingMessage {
  readonly ctxt: RequestContext;
  readonly message: Record<string, unknown>;
  readonly uniqueId: string | undefined;
  protected readonly logger: Logger;
  readonly #delivery: Delivery;
  readonly #settler: Settler;
  readonly #onSettled: (() => void) | undefined;
  #settled = false;

  constructor(
    delivery: Delivery,
    unpacked: UnpackedMessage,
    settler: Settler,
    logger: Logger,
    onSettled?: () => void,
  ) {
    this.#delivery = delivery;
    this.#settler = settler;
    this.ctxt = unpacked.ctxt;
    this.message = unpacked.message;
    this.uniqueId = unpacked.uniqueId;
    this.logger = logger;
    this.#onSettled = onSettled;
  }

  /** Exchange, routing key and redelivered flag of the AMQP delivery. */
  get delivery(): DeliveryInfo {
    return this.#delivery.fields;
  }

  /** The AMQP application headers with text values (others are left out). */
  get headers(): MessageHeaders {
    return textHeaders(this.#delivery.properties.headers);
  }

  async acknowledge(): Promise<void> {
    if (!this.#settle('acknowledge')) return;
    this.#settler.ack(this.#delivery);
    this.onAcknowledged();
  }

  async requeue(): Promise<void> {
    if (!this.#settle('requeue')) return;
    this.#settler.reject(this.#delivery, true);
  }

  async reject(): Promise<void> {
    if (!this.#settle('reject')) return;
    this.#settler.reject(this.#delivery, false);
  }

  /** Called once the message was acked. */
  protected onAcknowledged(): void {}

  #settle(what: string): boolean {
    if (this.#settled) {
      this.logger.debug('Ignoring %s: the message was already settled', what);
      return false;
    }
    this.#settled = true;
    this.#onSettled?.();
    return true;
  }
}

const NO_HEADERS: MessageHeaders = Object.freeze({});

/** The text entries of an AMQP header table (oslo sends an empty one). */
function textHeaders(table: Readonly<Record<string, unknown>> | undefined): MessageHeaders {
  if (table === undefined) return NO_HEADERS;
  let out: Record<string, string> | undefined;
  for (const key of Object.keys(table)) {
    const value = table[key];
    if (typeof value === 'string') (out ??= {})[key] = value;
    else if (Buffer.isBuffer(value)) (out ??= {})[key] = value.toString('utf8');
  }
  return out === undefined ? NO_HEADERS : Object.freeze(out);
}

/** A received notification: its `_unique_id` is recorded when it is acked (oslo). */
export class RabbitNotificationMessage extends RabbitIncomingMessage {
  #onAck: (() => void) | undefined;

  setOnAcknowledged(onAck: () => void): void {
    this.#onAck = onAck;
  }

  protected override onAcknowledged(): void {
    this.#onAck?.();
  }
}
