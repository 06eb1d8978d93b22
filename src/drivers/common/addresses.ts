/**
 * oslo.messaging's broker-neutral names (spec §4.1, §5.3): what every driver calls its
 * exchanges, routing keys and queues, so that the fake and the rabbit driver route
 * exactly alike. Pure functions.
 *
 * @module
 */
import { hex32 } from '../../wire/envelope.js';

/** Routing key (and queue name) of an RPC request: `T`, or `T.S` when a server is named. */
export function rpcRoutingKey(topic: string, server: string | undefined): string {
  return server === undefined ? topic : `${topic}.${server}`;
}

/** The fanout exchange of a topic: always `<topic>_fanout`, whatever the target's exchange. */
export function fanoutExchangeName(topic: string): string {
  return `${topic}_fanout`;
}

/** A new per-server fanout queue name: `<topic>_fanout_<hex32>`. */
export function fanoutQueueName(topic: string, unique: string = hex32()): string {
  return `${topic}_fanout_${unique}`;
}

/** A new reply queue name: `reply_<hex32>`. */
export function replyQueueName(unique: string = hex32()): string {
  return `reply_${unique}`;
}

/** Routing key (and default queue name) of a notification: `<topic>.<priority lower-case>`. */
export function notificationRoutingKey(topic: string, priority: string): string {
  return `${topic}.${priority.toLowerCase()}`;
}

/** A private tap queue (the command-line tool's `listen`; not an oslo object): `tap_<hex32>`. */
export function tapQueueName(unique: string = hex32()): string {
  return `tap_${unique}`;
}
