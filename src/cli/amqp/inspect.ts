/**
 * What a queue is, with AMQP alone (no management plugin): a passive declare gives its
 * depth and consumers; its type (classic, quorum, stream) comes from the broker's answer
 * to a declaration with an invalid `x-queue-type`. Such a declaration can never create a
 * queue (the broker refuses the type first), and for an existing queue the broker names
 * the first property that differs, with its current value: the declaration is adjusted
 * and tried again until the difference named is the type.
 *
 * @module
 */
import type { ChannelModel } from 'amqplib';

/** A queue's type as the broker reports it. */
export type QueueType = 'classic' | 'quorum' | 'stream' | 'unknown';

/** One queue, as `queues` lists it. */
export interface QueueInfo {
  readonly name: string;
  readonly messages: number;
  readonly consumers: number;
  readonly type: QueueType;
  readonly durable: boolean | undefined;
  readonly autoDelete: boolean | undefined;
}

/** Not a queue type: declaring with it can only fail. */
const PROBE_TYPE = 'oslo-messaging-cli-probe';

/** An AMQP channel-level refusal (404, 405, 406) as amqplib reports it. */
function code(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

/** Depth and consumers by passive declare; `undefined` when the queue does not exist. */
export async function checkQueue(
  conn: ChannelModel,
  name: string,
): Promise<{ messages: number; consumers: number } | undefined> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    const ok = await ch.checkQueue(name);
    await ch.close();
    return { messages: ok.messageCount, consumers: ok.consumerCount };
  } catch (err) {
    if (code(err) === 404) return undefined;
    // 405: an exclusive queue of another connection. It exists; its depth is not ours to see.
    if (code(err) === 405) return { messages: NaN, consumers: NaN };
    throw err;
  }
}

/** Whether an exchange exists (passive declare). */
export async function exchangeExists(conn: ChannelModel, name: string): Promise<boolean> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.checkExchange(name);
    await ch.close();
    return true;
  } catch (err) {
    if (code(err) === 404) return false;
    throw err;
  }
}

function typedValue(text: string, type: string): unknown {
  if (type === 'bool') return text === 'true';
  if (/int|long|short|byte|float|double|decimal|timestamp/.test(type)) return Number(text);
  return text;
}

/**
 * The queue's type and flags, found by declarations that can only fail (see the module
 * comment). `unknown` when the broker's answers do not say.
 */
export async function probeQueueType(
  conn: ChannelModel,
  name: string,
): Promise<{ type: QueueType; durable: boolean | undefined; autoDelete: boolean | undefined }> {
  let durable = false;
  let autoDelete = false;
  const args: Record<string, unknown> = { 'x-queue-type': PROBE_TYPE };
  for (let attempt = 0; attempt < 12; attempt++) {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    let message: string;
    try {
      await ch.assertQueue(name, { durable, autoDelete, exclusive: false, arguments: args });
      // Cannot happen (the type is invalid); if a broker ever accepts it, say so.
      await ch.close();
      return { type: 'unknown', durable, autoDelete };
    } catch (err) {
      if (code(err) !== 406) return { type: 'unknown', durable: undefined, autoDelete: undefined };
      message = err instanceof Error ? err.message : String(err);
    }
    const flag = /inequivalent arg '(durable|auto_delete)'.*current is '(true|false)'/.exec(
      message,
    );
    if (flag !== null) {
      if (flag[1] === 'durable') durable = flag[2] === 'true';
      else autoDelete = flag[2] === 'true';
      continue;
    }
    const arg =
      /inequivalent arg '([^']+)'.*?but current is (none|the value '([^']*)' of type '([^']+)'|'([^']*)')/.exec(
        message,
      );
    if (arg === null) return { type: 'unknown', durable, autoDelete };
    const [, key = '', current = '', value = '', type = '', bare = ''] = arg;
    if (key === 'x-queue-type') {
      const found = current === 'none' ? 'classic' : value !== '' ? value : bare;
      const known = ['classic', 'quorum', 'stream'].includes(found);
      return { type: known ? (found as QueueType) : 'unknown', durable, autoDelete };
    }
    if (current === 'none') delete args[key];
    else args[key] = value !== '' || type !== '' ? typedValue(value, type) : bare;
  }
  return { type: 'unknown', durable, autoDelete };
}

/** Depth, consumers and type of a queue; `undefined` when it does not exist. */
export async function inspectQueue(
  conn: ChannelModel,
  name: string,
): Promise<QueueInfo | undefined> {
  const counts = await checkQueue(conn, name);
  if (counts === undefined) return undefined;
  const probed = Number.isNaN(counts.messages)
    ? { type: 'unknown' as const, durable: undefined, autoDelete: undefined }
    : await probeQueueType(conn, name);
  return { name, ...counts, ...probed };
}
