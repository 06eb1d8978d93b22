/**
 * A tap: a private queue bound to an exchange with the routing keys an oslo consumer uses,
 * so the tool sees a copy of every message (raw body and delivery fields) and takes none
 * from the real consumers. The queue is exclusive (the broker deletes it when the tool's
 * connection ends, however it ends) and bounded, so a stalled terminal cannot make the
 * broker hold messages without limit.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

import type { Channel, ChannelModel } from 'amqplib';

import { PROPERTY_NAMES, type Delivery } from '../wire/record.js';

/** Messages the tap queue holds before the broker drops the oldest. */
export const TAP_MAX_LENGTH = 10_000;

/** What a tap binds to. */
export interface TapOptions {
  readonly exchange: string;
  readonly routingKeys: readonly string[];
  /**
   * How to declare the exchange when it does not exist yet (as oslo does: a topic
   * exchange with `amqp_durable_queues` and `amqp_auto_delete`). An existing exchange is
   * never declared again, so its flags are never contradicted.
   */
  readonly declare: { readonly durable: boolean; readonly autoDelete: boolean };
}

/** A running tap. */
export interface Tap {
  readonly queue: string;
  /** Stop delivering and delete the queue. Never rejects. */
  close(): Promise<void>;
}

/** AMQP properties of a message with AMQP's names, leaving out the unset ones. */
export function propertiesOf(msg: { properties: object }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(msg.properties)) {
    if (value === undefined || value === null) continue;
    const key = PROPERTY_NAMES[name] ?? name;
    out[key] = value instanceof Date ? Math.floor(value.getTime() / 1000) : (value as unknown);
  }
  return out;
}

/** A delivered message as a {@link Delivery}. */
export function deliveryOf(msg: {
  fields: { exchange: string; routingKey: string; redelivered: boolean };
  properties: object;
  content: Buffer;
}): Delivery {
  return {
    exchange: msg.fields.exchange,
    routingKey: msg.fields.routingKey,
    redelivered: msg.fields.redelivered,
    properties: propertiesOf(msg),
    body: msg.content,
  };
}

async function ensureExchange(conn: ChannelModel, options: TapOptions): Promise<void> {
  if (options.exchange === '') return;
  const probe = await conn.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkExchange(options.exchange);
    await probe.close();
    return;
  } catch {
    // 404: the channel is closed by the broker; declare it on a fresh one.
  }
  const ch = await conn.createChannel();
  try {
    await ch.assertExchange(options.exchange, 'topic', options.declare);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/**
 * Start a tap; `onMessage` gets every message in arrival order.
 * @param prefix - a readable start of the queue name, e.g. `oslo-messaging-cli.listen`
 */
export async function openTap(
  conn: ChannelModel,
  options: TapOptions,
  prefix: string,
  onMessage: (d: Delivery) => void,
): Promise<Tap> {
  await ensureExchange(conn, options);
  const ch: Channel = await conn.createChannel();
  ch.on('error', () => undefined);
  const queue = `${prefix}.${randomBytes(4).toString('hex')}`;
  await ch.assertQueue(queue, {
    exclusive: true,
    autoDelete: true,
    durable: false,
    arguments: { 'x-max-length': TAP_MAX_LENGTH, 'x-overflow': 'drop-head' },
  });
  for (const key of options.routingKeys) await ch.bindQueue(queue, options.exchange, key);
  await ch.prefetch(256);
  const { consumerTag } = await ch.consume(queue, (msg) => {
    if (msg === null) return;
    onMessage(deliveryOf(msg));
    ch.ack(msg);
  });
  return {
    queue,
    close: async () => {
      try {
        await ch.cancel(consumerTag);
        await ch.deleteQueue(queue);
        await ch.close();
      } catch {
        // The connection is going away: the exclusive queue goes with it.
      }
    },
  };
}
