/**
 * `node:diagnostics_channel` channels for what the transport does, so an APM can observe
 * the library without its API. Messages are published only while a channel has
 * subscribers; with none, the hook is inactive.
 *
 * @module
 */
import diagnostics from 'node:diagnostics_channel';

import type { DeliverEvent, SendEvent, TransportHook } from '../transport-hooks.js';

/**
 * The names of the library's diagnostics channels. Subscribe with
 * `diagnostics_channel.subscribe(name, fn)`.
 *
 * - `send`: a message is about to be sent: `{ transport, kind ('call' | 'cast' |
 *   'fanout' | 'notify' | 'reply'), target, exchange, destination, method, messageId,
 *   ctxt, headers }`.
 * - `sendEnd`: it was sent (a call: its reply arrived) or failed: the same object, with
 *   `error` (`undefined` on success) and `durationMs`.
 * - `deliver`: a server received a message: `{ transport, kind ('rpc' |
 *   'notification'), message, target }`.
 * - `processEnd`: the server finished with it: the same object, with `error`,
 *   `requeued` and `durationMs`.
 * - `status`: the transport's status changed: `{ transport, status }`.
 * - `rejected`: the driver rejected a malformed message: `{ transport, connection, kind
 *   ('rpc' | 'notification' | 'reply'), exchange, routingKey, reason }`.
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  send: 'oslo-messaging:send',
  sendEnd: 'oslo-messaging:send:end',
  deliver: 'oslo-messaging:deliver',
  processEnd: 'oslo-messaging:process:end',
  status: 'oslo-messaging:status',
  rejected: 'oslo-messaging:rejected',
} as const);

const send = diagnostics.channel(DIAGNOSTICS_CHANNELS.send);
const sendEnd = diagnostics.channel(DIAGNOSTICS_CHANNELS.sendEnd);
const deliver = diagnostics.channel(DIAGNOSTICS_CHANNELS.deliver);
const processEnd = diagnostics.channel(DIAGNOSTICS_CHANNELS.processEnd);
const status = diagnostics.channel(DIAGNOSTICS_CHANNELS.status);
const rejected = diagnostics.channel(DIAGNOSTICS_CHANNELS.rejected);

/** Publish a transport's status change, when someone listens. */
export function publishStatus(transport: object, value: string): void {
  if (status.hasSubscribers) status.publish({ transport, status: value });
}

/** Publish a message rejected as malformed, when someone listens. */
export function publishRejected(
  transport: object,
  event: {
    readonly connection: string;
    readonly kind: string;
    readonly exchange: string;
    readonly routingKey: string;
    readonly reason: Error;
  },
): void {
  if (!rejected.hasSubscribers) return;
  const { connection, kind, exchange, routingKey, reason } = event;
  rejected.publish({ transport, connection, kind, exchange, routingKey, reason });
}

/** The hook that publishes sends and deliveries of `transport`. */
export function diagnosticsHook(transport: object): TransportHook {
  return {
    active: () =>
      send.hasSubscribers ||
      sendEnd.hasSubscribers ||
      deliver.hasSubscribers ||
      processEnd.hasSubscribers,

    onSend(event: SendEvent) {
      const message = { transport, ...event };
      if (send.hasSubscribers) send.publish(message);
      const started = performance.now();
      return (error) => {
        if (sendEnd.hasSubscribers) {
          sendEnd.publish({ ...message, error, durationMs: performance.now() - started });
        }
      };
    },

    onDeliver(event: DeliverEvent) {
      const message = { transport, ...event };
      if (deliver.hasSubscribers) deliver.publish(message);
      const started = performance.now();
      return {
        end: ({ error, requeued = false }) => {
          if (processEnd.hasSubscribers) {
            processEnd.publish({
              ...message,
              error,
              requeued,
              durationMs: performance.now() - started,
            });
          }
        },
      };
    },
  };
}
