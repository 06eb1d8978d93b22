/**
 * Errors of the RabbitMQ connection layer. All extend `MessageDeliveryFailure`, so a
 * caller that only knows oslo's classes still gets the right one, and carry the AMQP
 * error as `cause`.
 *
 * @module
 */
import { MessageDeliveryFailure, type MessagingErrorOptions } from '../../errors.js';

/** The connection was closed with `close()`: the operation will never complete. */
export class ConnectionClosedError extends MessageDeliveryFailure {
  constructor(options?: MessagingErrorOptions) {
    super('The AMQP connection was closed', options);
  }
}

/**
 * The channel died after the message was written but before the broker confirmed it,
 * so it may or may not have been routed. Publishing again may duplicate it (oslo's
 * receivers drop duplicates by `_unique_id`); not publishing again may lose it.
 */
export class PublishConfirmLost extends MessageDeliveryFailure {
  readonly exchange: string;
  readonly routingKey: string;
  constructor(exchange: string, routingKey: string, options?: MessagingErrorOptions) {
    super(
      `The channel closed before the broker confirmed the message to exchange "${exchange}" with key "${routingKey}"`,
      options,
    );
    this.exchange = exchange;
    this.routingKey = routingKey;
  }
}

/**
 * The broker refused an operation and closed the channel (a soft AMQP error such as
 * 404 NOT_FOUND or 406 PRECONDITION_FAILED). Retrying the same operation fails again.
 */
export class AmqpChannelError extends MessageDeliveryFailure {
  /** AMQP reply code: 403, 404, 405 or 406. */
  readonly code: number;
  constructor(message: string, code: number, options?: MessagingErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Internal: the channel went away under an operation that can safely be tried again on
 * the next channel (nothing was written, or the operation is idempotent). Never reaches
 * a caller.
 */
export class ChannelLost extends Error {
  constructor(options?: MessagingErrorOptions) {
    super(
      options?.cause === undefined
        ? 'AMQP channel lost'
        : `AMQP channel lost: ${errorText(options.cause)}`,
      options,
    );
    this.name = 'ChannelLost';
  }
}

/** AMQP channel-level ("soft") error codes that a retry can't cure. */
const HARD_CHANNEL_CODES = new Set([403, 404, 405, 406]);

/** The AMQP reply code amqplib puts on errors from a close frame, if any. */
export function amqpReplyCode(err: unknown): number | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'number') return err.code;
  return undefined;
}

/** Turns an amqplib failure of a channel operation into ours. */
export function channelFailure(err: unknown): Error {
  const code = amqpReplyCode(err);
  if (code !== undefined && HARD_CHANNEL_CODES.has(code)) {
    return new AmqpChannelError(err instanceof Error ? err.message : String(err), code, {
      cause: err,
    });
  }
  return new ChannelLost({ cause: err });
}

/** A readable message from anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
