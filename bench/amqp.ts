/**
 * The orchestrator's direct broker access (amqplib): the amqplib form of a transport URL,
 * a fast backlog of oslo-format notifications for the listener-memory check, and the
 * deletion of everything a run declared.
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

/**
 * Publish `count` INFO notifications in oslo's 2.0 envelope (what a Python notifier
 * sends) to `<topic>.info`, declaring the queue as oslo's notifier does, with up to
 * 1000 unconfirmed at a time.
 */
export async function prefillNotifications(
  url: string,
  exchange: string,
  topic: string,
  count: number,
  payloadSize: number,
): Promise<void> {
  const conn = await connect(amqpUrl(url), { noDelay: true });
  try {
    const ch = await conn.createConfirmChannel();
    const key = `${topic}.info`;
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(key, { durable: false, autoDelete: false });
    await ch.bindQueue(key, exchange, key);
    const data = 'x'.repeat(payloadSize);
    for (let seq = 0; seq < count; seq++) {
      const inner = {
        message_id: randomUUID(),
        publisher_id: 'bench',
        event_type: 'oslo_messaging.bench',
        priority: 'INFO',
        payload: { seq, ts: Date.now(), data },
        timestamp: '2024-01-01 00:00:00.000000',
        _unique_id: randomUUID().replaceAll('-', ''),
      };
      const body = JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });
      ch.publish(exchange, key, Buffer.from(body, 'utf8'), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        persistent: true,
        headers: {},
      });
      if (seq % 1000 === 999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
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
