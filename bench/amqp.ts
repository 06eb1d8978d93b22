/**
 * The orchestrator's direct broker access (amqplib): the amqplib form of a transport URL,
 * a fast, bounded stream of oslo-format notifications or calls for the memory checks, and
 * the deletion of everything a run declared.
 */
import { randomUUID } from 'node:crypto';

import { connect } from 'amqplib';

/** `rabbit://u:p@h:port/vhost?query` as an amqplib URL (first host, no query). */
export function amqpUrl(url: string): string {
  const u = new URL(url.replace(/^(rabbit|kombu):/, 'amqp:'));
  const user = u.username === '' ? 'guest' : u.username;
  const pass = u.password === '' ? 'guest' : u.password;
  const vhost = u.pathname === '' || u.pathname === '/' ? '' : u.pathname;
  return `amqp://${user}:${pass}@${u.host.split(',')[0] ?? '127.0.0.1:5672'}${vhost}`;
}

/** What `feed` publishes. */
export interface FeedOptions {
  exchange: string;
  /** Notifications go to `<topic>.info`, calls to `<topic>`. */
  topic: string;
  kind: 'notify' | 'call';
  count: number;
  payloadSize: number;
  /** Pause publishing while the target queue holds more than this many messages. */
  maxBacklog: number;
  /** Keep the connection (and the reply queue) until this settles. */
  until?: Promise<unknown>;
}

/**
 * Publish `count` messages in oslo's 2.0 envelope, as a Python client sends them, to the
 * topic exchange, up to 1000 unconfirmed at a time, and keep the queue's backlog under
 * `maxBacklog` (so a million messages do not sit in the broker's memory at once).
 * Notifications: INFO, to `<topic>.info` (declared as oslo's notifier does). Calls: method
 * `bench` with `args` {seq, ts, data}, `_msg_id` and `_reply_q` naming a reply queue of the
 * feeder's (also in `reply_to` and `correlation_id`, for the raw amqplib server), whose
 * replies are consumed and dropped. Resolves once everything was confirmed and `until`
 * settled, with the number of replies seen by then.
 */
export async function feed(url: string, options: FeedOptions): Promise<{ replies: number }> {
  const { exchange, topic, kind, count, payloadSize, maxBacklog } = options;
  const conn = await connect(amqpUrl(url), { noDelay: true });
  let replies = 0;
  try {
    const ch = await conn.createConfirmChannel();
    const key = kind === 'notify' ? `${topic}.info` : topic;
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(key, { durable: false, autoDelete: false });
    await ch.bindQueue(key, exchange, key);
    let replyQueue = '';
    if (kind === 'call') {
      replyQueue = `reply_${randomUUID().replaceAll('-', '')}`;
      await ch.assertQueue(replyQueue, { exclusive: true, autoDelete: true });
      await ch.consume(
        replyQueue,
        () => {
          replies += 1;
        },
        { noAck: true },
      );
    }
    const data = 'x'.repeat(payloadSize);
    const hex = (): string => randomUUID().replaceAll('-', '');
    const properties = {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      persistent: true,
      headers: {},
    };
    for (let seq = 0; seq < count; seq++) {
      const payload = { seq, ts: Date.now(), data };
      let inner: object;
      let extra: object = {};
      if (kind === 'notify') {
        inner = {
          message_id: randomUUID(),
          publisher_id: 'bench',
          event_type: 'oslo_messaging.bench',
          priority: 'INFO',
          payload,
          timestamp: '2024-01-01 00:00:00.000000',
          _unique_id: hex(),
        };
      } else {
        const msgId = hex();
        inner = {
          method: 'bench',
          args: payload,
          _msg_id: msgId,
          _reply_q: replyQueue,
          _timeout: null,
          _unique_id: hex(),
        };
        extra = { replyTo: replyQueue, correlationId: msgId, expiration: '600000' };
      }
      const body = JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });
      ch.publish(exchange, key, Buffer.from(body, 'utf8'), { ...properties, ...extra });
      if (seq % 1000 === 999) await ch.waitForConfirms();
      if (seq % 10_000 === 9_999) {
        while ((await ch.checkQueue(key)).messageCount > maxBacklog) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    await ch.waitForConfirms();
    await options.until?.catch(() => undefined);
  } finally {
    await conn.close();
  }
  return { replies };
}

/** Delete queues and exchanges (missing ones are fine). */
export async function deleteAll(
  url: string,
  names: { queues: readonly string[]; exchanges: readonly string[] },
): Promise<void> {
  const conn = await connect(amqpUrl(url));
  try {
    for (const q of names.queues) {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of names.exchanges) {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await conn.close();
  }
}

/** The broker's product and version, from the AMQP handshake. */
export async function brokerVersion(url: string): Promise<string> {
  const conn = await connect(amqpUrl(url));
  try {
    const props = (
      conn.connection as unknown as { serverProperties?: { product?: string; version?: string } }
    ).serverProperties;
    return `${props?.product ?? 'AMQP broker'} ${props?.version ?? ''}`.trim();
  } finally {
    await conn.close();
  }
}
