/**
 * Bench peer on raw amqplib, no framework: the practical limit on this broker. It keeps
 * the guarantees the frameworks give (publisher confirms awaited per message, persistent
 * JSON messages, manual acks, requests acked before they are handled, replies confirmed)
 * and drops everything else (no envelope, no context, replies by `reply_to` and
 * `correlation_id`). Same topology as oslo: a topic exchange, `<topic>.info` and `<topic>`
 * queues; consumers prefetch 128, as our listeners do with 64 handlers.
 *
 *   tsx bench/raw-amqplib.ts server|client --url URL --exchange X --rpc-topic T --notify-topic N
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { connect, type Channel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';

import { drive, type BenchPayload } from '../src/cli/bench/roles.js';
import { amqpUrl } from './amqp.js';
import { Counter } from './counter.js';
import {
  epochMs,
  reply,
  serveCommands,
  usage,
  type ClientCommand,
  type ClientResult,
  type ServerCommand,
} from './protocol.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    exchange: { type: 'string' },
    'rpc-topic': { type: 'string' },
    'notify-topic': { type: 'string' },
    server: { type: 'string' },
  },
});
const role = positionals[0];
const exchange = values.exchange ?? 'omtb';
const rpcTopic = values['rpc-topic'] ?? 'omtb_rpc';
const notifyQueue = `${values['notify-topic'] ?? 'omtb_notify'}.info`;
const PREFETCH = 128;

const PROPERTIES = { contentType: 'application/json', contentEncoding: 'utf-8', persistent: true };

function publish(
  ch: ConfirmChannel,
  ex: string,
  key: string,
  body: Buffer,
  options: object,
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(ex, key, body, { ...PROPERTIES, ...options }, (err: unknown) =>
      err === null || err === undefined ? resolve() : reject(new Error('nacked')),
    );
  });
}

async function declare(ch: Channel): Promise<void> {
  await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await ch.assertQueue(notifyQueue, { durable: false, autoDelete: false });
  await ch.bindQueue(notifyQueue, exchange, notifyQueue);
  await ch.assertQueue(rpcTopic, { durable: false, autoDelete: false });
  await ch.bindQueue(rpcTopic, exchange, rpcTopic);
}

async function server(): Promise<void> {
  const counter = new Counter();
  const conn = await connect(amqpUrl(values.url ?? ''), { noDelay: true });
  const notifyCh = await conn.createChannel();
  await declare(notifyCh);
  await notifyCh.prefetch(PREFETCH);
  await notifyCh.consume(notifyQueue, (msg: ConsumeMessage | null) => {
    if (msg === null) return;
    JSON.parse(msg.content.toString('utf8'));
    counter.record();
    notifyCh.ack(msg);
  });
  const rpcCh = await conn.createChannel();
  const replyCh = await conn.createConfirmChannel();
  await rpcCh.prefetch(PREFETCH);
  await rpcCh.consume(rpcTopic, (msg: ConsumeMessage | null) => {
    if (msg === null) return;
    // Acked before it is handled: at-most-once, as oslo's RPC servers.
    rpcCh.ack(msg);
    const request = JSON.parse(msg.content.toString('utf8')) as Partial<BenchPayload>;
    counter.record();
    const replyTo = msg.properties.replyTo as string | undefined;
    if (replyTo === undefined) return;
    const body = Buffer.from(JSON.stringify({ result: request.data ?? null }), 'utf8');
    publish(replyCh, '', replyTo, body, {
      correlationId: msg.properties.correlationId as string,
      mandatory: true,
    }).catch((err: unknown) => process.stderr.write(`reply failed: ${String(err)}\n`));
  });
  reply({ event: 'ready' });
  await serveCommands<ServerCommand>(async (command) => {
    switch (command.cmd) {
      case 'reset':
        counter.reset();
        return {};
      case 'expect':
        return counter.expect(command.count, command.timeoutMs, command.sampleEvery);
      case 'quit':
        return {};
    }
  });
  await conn.close();
}

async function client(): Promise<void> {
  const conn = await connect(amqpUrl(values.url ?? ''), { noDelay: true });
  const ch = await conn.createConfirmChannel();
  await declare(ch);
  const replies = await conn.createChannel();
  const { queue: replyQueue } = await replies.assertQueue('', {
    exclusive: true,
    autoDelete: true,
  });
  const waiting = new Map<string, (value: unknown) => void>();
  await replies.consume(replyQueue, (msg: ConsumeMessage | null) => {
    if (msg === null) return;
    replies.ack(msg);
    const id = msg.properties.correlationId as string;
    const resolve = waiting.get(id);
    waiting.delete(id);
    resolve?.((JSON.parse(msg.content.toString('utf8')) as { result: unknown }).result);
  });
  const send = {
    notify: (p: BenchPayload) =>
      publish(ch, exchange, notifyQueue, Buffer.from(JSON.stringify(p), 'utf8'), {}),
    cast: (p: BenchPayload) =>
      publish(ch, exchange, rpcTopic, Buffer.from(JSON.stringify(p), 'utf8'), {}),
    call: async (p: BenchPayload) => {
      const id = randomUUID();
      const answered = new Promise((resolve) => waiting.set(id, resolve));
      const body = Buffer.from(JSON.stringify(p), 'utf8');
      await publish(ch, exchange, rpcTopic, body, {
        replyTo: replyQueue,
        correlationId: id,
        expiration: '60000',
      });
      return answered;
    },
  };
  reply({ event: 'ready' });
  await serveCommands<ClientCommand>(async (command): Promise<object> => {
    if (command.cmd === 'quit') return {};
    const cpu = process.cpuUsage();
    const startAt = epochMs();
    const summary = await drive(
      command.shape,
      {
        messages: command.messages,
        durationMs: command.messages === undefined ? command.durationMs : undefined,
        concurrency: command.concurrency,
        payloadSize: command.payloadSize,
      },
      send[command.shape],
    );
    const result: ClientResult = {
      ...usage(cpu),
      sent: summary.sent,
      errors: summary.errors,
      ...(summary.firstError === undefined ? {} : { firstError: summary.firstError }),
      startAt,
      endAt: epochMs(),
      p50: summary.latencyMs.p50,
      p90: summary.latencyMs.p90,
      p99: summary.latencyMs.p99,
    };
    return result;
  });
  await conn.close();
}

if (role === 'server') await server();
else if (role === 'client') await client();
else throw new Error(`unknown role ${String(role)}`);
process.exit(0);
