/**
 * The raw-amqplib baseline of `bench --baseline`: the same bench shape (cast, call or
 * notify, same count or duration, payload size and concurrency, same broker) done by hand
 * on plain amqplib, so that the library's run can be read against it. It keeps what oslo
 * puts on the wire and what the library waits for: the 2.0 envelope with the same keys in
 * the same order (so the same bytes but for ids and times), the same properties,
 * publisher confirms awaited per message, oslo's topology (a topic exchange, the `<topic>`
 * and `<topic>.info` queues bound by their names, a `reply_<hex32>` queue routed by the
 * default exchange), RPC requests acked before they are handled and notifications after.
 * What it leaves out is the library itself: no transport, no dispatcher, no retries.
 *
 * The names are unique to the run (`<exchange>_raw_<hex>`, `<topic>_raw_<hex>`), so the
 * baseline never meets the library's consumers or a deployment's, and everything it
 * declares is deleted at the end.
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';

import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';

import { pyDumps, type RabbitOptions } from '../../index.js';
import {
  BENCH_EVENT_TYPE,
  BENCH_METHOD,
  drive,
  Receiver,
  type BenchPayload,
  type DriveOptions,
} from '../bench/roles.js';
import type { ClientSummary, ServerSummary } from '../bench/stats.js';
import { CliFailure } from '../errors.js';
import { openConnection, type Broker } from './broker.js';

/** The bench shapes a baseline exists for. */
export type BaselineShape = 'cast' | 'call' | 'notify';

/** What a baseline run is made of. */
export interface BaselineOptions {
  readonly broker: Broker;
  readonly connectTimeoutMs: number;
  readonly shape: BaselineShape;
  /** The library run's exchange and topic: the baseline's names start with them. */
  readonly exchange: string;
  readonly topic: string;
  /** Calls: how long to wait for a reply (also the request's AMQP expiration). */
  readonly callTimeoutMs: number;
  /** How long to wait for casts and notifications still queued after the last send. */
  readonly drainTimeoutMs: number;
  readonly drive: DriveOptions;
}

/** A baseline's client and server reports, with the role names of the library's run. */
export interface BaselineResult {
  readonly client: ClientSummary;
  readonly server: ServerSummary;
  /** What the run declared (and deleted at its end). */
  readonly declared: BaselineNames;
}

/** The exchange and queues a baseline run declared. */
export interface BaselineNames {
  readonly exchange: string;
  readonly queues: readonly string[];
}

/**
 * Messages a consumer may hold unacknowledged: what the library's listeners ask for with
 * their default 64 handlers, or `rabbit_qos_prefetch_count` when it is set.
 */
const DEFAULT_PREFETCH = 64;

/** What oslo's driver sets on every publish. */
const PROPERTIES: Options.Publish = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
};

function hex32(): string {
  return randomUUID().replaceAll('-', '');
}

/** `{"oslo.version": "2.0", "oslo.message": "<the dict as a JSON string>"}`, Python's bytes. */
function envelope(msg: Record<string, unknown>): Buffer {
  return Buffer.from(`{"oslo.version": "2.0", "oslo.message": ${pyDumps(pyDumps(msg))}}`, 'utf8');
}

/** The dict inside an envelope. */
function unwrap(msg: ConsumeMessage): Record<string, unknown> | undefined {
  try {
    const outer = JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>;
    const inner = outer['oslo.message'];
    return typeof inner === 'string' ? (JSON.parse(inner) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A notification timestamp as Python's `str(datetime.utcnow())`. */
function pyTimestamp(date: Date): string {
  const iso = date.toISOString();
  const fraction = date.getUTCMilliseconds() === 0 ? '' : `.${iso.slice(20, 23)}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}`;
}

/** Publish and wait for the broker's confirm. */
function publish(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, routingKey, body, { ...PROPERTIES, ...options }, (err: unknown) => {
      if (err === null || err === undefined) resolve();
      else reject(new CliFailure(`the broker refused a publish to ${exchange} ${routingKey}`));
    });
  });
}

/** The declarations oslo makes, with the flags `[oslo_messaging_rabbit]` gives. */
class Topology {
  readonly exchange: string;
  readonly topic: string;
  readonly #rabbit: RabbitOptions;
  readonly queues = new Set<string>();

  constructor(options: BaselineOptions) {
    const id = randomBytes(4).toString('hex');
    this.exchange = `${options.exchange}_raw_${id}`;
    this.topic = `${options.topic}_raw_${id}`;
    this.#rabbit = options.broker.conf.group<RabbitOptions>(
      'oslo_messaging_rabbit',
      options.broker.url.query,
    );
  }

  get prefetch(): number {
    const n = this.#rabbit.rabbit_qos_prefetch_count;
    return n > 0 ? Math.min(n, DEFAULT_PREFETCH) : DEFAULT_PREFETCH;
  }

  get directMandatory(): boolean {
    return this.#rabbit.direct_mandatory_flag;
  }

  async declareExchange(ch: Channel): Promise<void> {
    const r = this.#rabbit;
    await ch.assertExchange(this.exchange, 'topic', {
      durable: r.amqp_durable_queues || r.rabbit_quorum_queue,
      autoDelete: r.amqp_auto_delete,
    });
  }

  /** A topic consumer's (or the notifier's) queue: named and bound by the routing key. */
  async declareQueue(ch: Channel, key: string): Promise<void> {
    const r = this.#rabbit;
    await this.declareExchange(ch);
    const args: Record<string, unknown> = {};
    if (r.rabbit_ha_queues) args['x-ha-policy'] = 'all';
    if (r.rabbit_quorum_queue) args['x-queue-type'] = 'quorum';
    this.queues.add(key);
    await ch.assertQueue(key, {
      durable: r.amqp_durable_queues || r.rabbit_quorum_queue,
      autoDelete: r.amqp_auto_delete,
      arguments: args,
    });
    await ch.bindQueue(key, this.exchange, key);
  }

  /** A caller's reply queue: classic, not durable, expiring like the library's. */
  async declareReplyQueue(ch: Channel): Promise<string> {
    const name = `reply_${hex32()}`;
    this.queues.add(name);
    const ttl = this.#rabbit.rabbit_transient_queues_ttl;
    await ch.assertQueue(name, {
      durable: false,
      autoDelete: false,
      arguments: ttl > 0 ? { 'x-expires': ttl * 1000 } : {},
    });
    return name;
  }

  /** Delete every queue and the exchange; never rejects. */
  async delete(conn: ChannelModel): Promise<void> {
    const attempt = async (op: (ch: Channel) => Promise<unknown>): Promise<void> => {
      try {
        const ch = await conn.createChannel();
        ch.on('error', () => undefined);
        await op(ch);
        await ch.close();
      } catch {
        // Gone already, or the connection is: nothing more to do.
      }
    };
    for (const q of this.queues) await attempt((ch) => ch.deleteQueue(q));
    await attempt((ch) => ch.deleteExchange(this.exchange));
  }
}

/** The server side: consume, record, ack (and reply to calls). */
async function serve(
  conn: ChannelModel,
  topology: Topology,
  shape: BaselineShape,
  receiver: Receiver,
): Promise<void> {
  const queue = shape === 'notify' ? `${topology.topic}.info` : topology.topic;
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  await topology.declareQueue(ch, queue);
  await ch.prefetch(topology.prefetch);
  const replies = shape === 'call' ? await conn.createConfirmChannel() : undefined;
  replies?.on('error', () => undefined);
  await ch.consume(queue, (msg) => {
    if (msg === null) return;
    // RPC requests are acked before they are handled (at most once), as oslo's servers do.
    if (shape !== 'notify') ch.ack(msg);
    const inner = unwrap(msg);
    const payload = shape === 'notify' ? inner?.['payload'] : inner?.['args'];
    receiver.record(payload);
    if (shape === 'notify') ch.ack(msg);
    const replyQ = inner?.['_reply_q'];
    if (replies === undefined || typeof replyQ !== 'string') return;
    const body = envelope({
      result: (payload as Partial<BenchPayload> | undefined)?.data ?? null,
      failure: null,
      ending: true,
      _msg_id: inner?.['_msg_id'],
      _unique_id: hex32(),
    });
    // A lost reply shows as the call's timeout on the client.
    publish(replies, '', replyQ, body, { mandatory: topology.directMandatory }).catch(
      () => undefined,
    );
  });
}

/** The client side: the send function `drive` times, one message per call. */
async function client(
  conn: ChannelModel,
  topology: Topology,
  options: BaselineOptions,
): Promise<(payload: BenchPayload) => Promise<unknown>> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  const { exchange, topic } = topology;
  if (options.shape === 'notify') {
    // The notifier declares the queue before its first publish to a routing key.
    const key = `${topic}.info`;
    await topology.declareQueue(ch, key);
    return (payload) =>
      publish(
        ch,
        exchange,
        key,
        envelope({
          message_id: randomUUID(),
          publisher_id: 'bench',
          event_type: BENCH_EVENT_TYPE,
          priority: 'INFO',
          payload,
          timestamp: pyTimestamp(new Date()),
          _unique_id: hex32(),
        }),
        { mandatory: false },
      );
  }
  await topology.declareExchange(ch);
  if (options.shape === 'cast') {
    return (payload) =>
      publish(
        ch,
        exchange,
        topic,
        envelope({ method: BENCH_METHOD, args: { ...payload }, _unique_id: hex32() }),
        { mandatory: false },
      );
  }
  const replyCh = await conn.createChannel();
  replyCh.on('error', () => undefined);
  const replyQ = await topology.declareReplyQueue(replyCh);
  const waiting = new Map<string, (reply: Record<string, unknown> | undefined) => void>();
  await replyCh.consume(replyQ, (msg) => {
    if (msg === null) return;
    replyCh.ack(msg);
    const reply = unwrap(msg);
    const id = reply?.['_msg_id'];
    if (typeof id !== 'string') return;
    waiting.get(id)?.(reply);
    waiting.delete(id);
  });
  const timeoutMs = options.callTimeoutMs;
  return async (payload) => {
    const msgId = hex32();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
      waiting.set(msgId, resolve);
      timer = setTimeout(() => {
        waiting.delete(msgId);
        reject(new CliFailure(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    answered.catch(() => undefined);
    try {
      const body = envelope({
        method: BENCH_METHOD,
        args: { ...payload },
        _msg_id: msgId,
        _reply_q: replyQ,
        _timeout: null,
        _unique_id: hex32(),
      });
      await publish(ch, exchange, topic, body, {
        mandatory: false,
        expiration: String(Math.trunc(timeoutMs)),
      });
      return (await answered)?.['result'];
    } finally {
      clearTimeout(timer);
      waiting.delete(msgId);
    }
  };
}

/**
 * Run one shape on raw amqplib: a consumer, then the client sending with `drive` (as the
 * library's run), then the wait for what is still queued. Two connections, as the library
 * keeps its listeners and its sender apart.
 */
export async function runBaseline(options: BaselineOptions): Promise<BaselineResult> {
  const topology = new Topology(options);
  const receiver = new Receiver();
  const serverConn = await openConnection(options.broker, options.connectTimeoutMs);
  let clientConn: ChannelModel | undefined;
  try {
    await serve(serverConn, topology, options.shape, receiver);
    clientConn = await openConnection(options.broker, options.connectTimeoutMs);
    const send = await client(clientConn, topology, options);
    const role = options.shape === 'notify' ? 'notify-client' : `rpc-client (${options.shape})`;
    const summary = await drive(role, options.drive, send);
    await receiver.waitFor(summary.sent, options.drainTimeoutMs, options.drive.signal);
    const server = receiver.summary(options.shape === 'notify' ? 'notify-server' : 'rpc-server');
    const declared = { exchange: topology.exchange, queues: [...topology.queues] };
    return { client: summary, server, declared };
  } finally {
    await clientConn?.close().catch(() => undefined);
    await topology.delete(serverConn);
    await serverConn.close().catch(() => undefined);
  }
}
