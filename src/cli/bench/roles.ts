/**
 * The roles of `oslo-messaging bench` (oslo's simulator): RPC and notification servers
 * that count what they receive, and clients that send with a bounded number in flight.
 * Built on the public API only.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';

import {
  getNotificationListener,
  NotificationResult,
  getRpcClient,
  getRpcServer,
  Notifier,
  Target,
  type NotificationEndpoint,
  type NotificationTransport,
  type RPCTransport,
} from '../../index.js';
import { CliFailure, describeError } from '../errors.js';
import { startProgress } from './progress.js';
import { epochMs, latencyOf, Samples, type ClientSummary, type ServerSummary } from './stats.js';

/** The method RPC clients call and servers expose. */
export const BENCH_METHOD = 'bench';
/** The event type of bench notifications. */
export const BENCH_EVENT_TYPE = 'oslo_messaging.bench';

/** What every bench message carries: a sequence number, its send time, the filler. */
export interface BenchPayload {
  seq: number;
  /** {@link epochMs} when sent. */
  ts: number;
  data: string;
}

let filler = '';

/** A payload whose `data` is `size` bytes of ASCII. */
export function makePayload(seq: number, size: number): BenchPayload {
  if (filler.length !== size) filler = 'x'.repeat(size);
  return { seq, ts: epochMs(), data: filler };
}

/** Counts received bench messages and their one-way latency. */
export class Receiver {
  received = 0;
  malformed = 0;
  /** Deliveries given back to the queue (requeue storms). */
  requeued = 0;
  readonly latency = new Samples();
  #first: number | undefined;
  #last: number | undefined;
  #waiters: { count: number; resolve: () => void }[] = [];

  record(payload: unknown): void {
    const now = epochMs();
    const ts = (payload as { ts?: unknown } | null)?.ts;
    if (typeof ts === 'number') this.latency.add(now - ts);
    else this.malformed += 1;
    this.received += 1;
    this.#first ??= now;
    this.#last = now;
    if (this.#waiters.length > 0) {
      this.#waiters = this.#waiters.filter((w) => {
        if (this.received < w.count) return true;
        w.resolve();
        return false;
      });
    }
  }

  /** Resolves true once `count` messages arrived, false after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.received >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { count, resolve: () => finish(true) };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const onAbort = (): void => finish(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(ok);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Epoch ms of the first and the last message, or `undefined` before any. */
  get firstAt(): number | undefined {
    return this.#first;
  }

  get lastAt(): number | undefined {
    return this.#last;
  }

  summary(role: string): ServerSummary {
    const elapsedMs = this.#first === undefined ? 0 : (this.#last ?? this.#first) - this.#first;
    return {
      role,
      received: this.received,
      malformed: this.malformed,
      elapsedMs,
      rate: elapsedMs > 0 ? ((this.received - 1) * 1000) / elapsedMs : NaN,
      latencyMs: latencyOf(this.latency),
      ...(this.requeued > 0 ? { requeued: this.requeued } : {}),
    };
  }
}

/** A running server role. */
export interface ServerRole {
  readonly receiver: Receiver;
  close(): Promise<void>;
}

/** How a server role handles each message. */
export interface ServerBehaviour {
  /** Wait this long in the handler (a slow service). @default 0 */
  readonly delayMs?: number | undefined;
  /**
   * Notifications: give back this fraction of deliveries (NotificationResult.REQUEUE), so
   * the broker redelivers them: a requeue storm. @default 0
   */
  readonly requeueRatio?: number | undefined;
  /** Shared by several servers (fanout), so that one count covers them all. */
  readonly receiver?: Receiver | undefined;
}

/** An RPC server whose `bench` method records the message and echoes its `data`. */
export async function startRpcServer(
  transport: RPCTransport,
  target: { topic: string; server: string; exchange?: string | undefined },
  behaviour: ServerBehaviour = {},
): Promise<ServerRole> {
  const receiver = behaviour.receiver ?? new Receiver();
  const delayMs = behaviour.delayMs ?? 0;
  const endpoint = {
    [BENCH_METHOD]: async (_ctxt: unknown, args: Partial<BenchPayload>) => {
      if (delayMs > 0) await sleep(delayMs);
      receiver.record(args);
      return args.data ?? null;
    },
  };
  const server = getRpcServer(transport, target, [endpoint]);
  await server.start();
  return { receiver, close: () => server.close() };
}

/** A notification listener that records every bench notification (INFO priority). */
export async function startNotifyServer(
  transport: NotificationTransport,
  target: { topic: string; exchange?: string | undefined },
  pool: string | undefined,
  behaviour: ServerBehaviour = {},
): Promise<ServerRole> {
  const receiver = behaviour.receiver ?? new Receiver();
  const delayMs = behaviour.delayMs ?? 0;
  const ratio = behaviour.requeueRatio ?? 0;
  const record = async (
    _c: unknown,
    _p: unknown,
    _e: unknown,
    payload: unknown,
  ): Promise<NotificationResult> => {
    if (delayMs > 0) await sleep(delayMs);
    if (ratio > 0 && Math.random() < ratio) {
      receiver.requeued += 1;
      return NotificationResult.REQUEUE;
    }
    receiver.record(payload);
    return NotificationResult.HANDLED;
  };
  const endpoint: NotificationEndpoint = { info: record };
  const listener = getNotificationListener(transport, [new Target(target)], [endpoint], {
    ...(pool === undefined ? {} : { pool }),
    ...(ratio > 0 ? { allowRequeue: true } : {}),
  });
  await listener.start();
  return { receiver, close: () => listener.close() };
}

/** How long and how hard a client sends. */
export interface DriveOptions {
  /** Stop after this many messages... */
  readonly messages: number | undefined;
  /** ...or after this long. */
  readonly durationMs: number | undefined;
  /** Messages in flight at once. */
  readonly concurrency: number;
  readonly payloadSize: number;
  /** Draw a progress bar (on a terminal) with this label. */
  readonly progressLabel?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Send with `concurrency` workers until the count or the duration is reached (or the
 * signal fires), timing each send.
 */
export async function drive(
  role: string,
  options: DriveOptions,
  send: (payload: BenchPayload) => Promise<unknown>,
): Promise<ClientSummary> {
  const latency = new Samples();
  let next = 0;
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  let failure: unknown;
  const start = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : start + options.durationMs;
  const more = (): boolean =>
    failure === undefined &&
    options.signal?.aborted !== true &&
    (options.messages === undefined || next < options.messages) &&
    performance.now() < deadline;
  const progress =
    options.progressLabel === undefined
      ? { stop: () => undefined }
      : startProgress(() => ({
          label: options.progressLabel ?? role,
          done: sent,
          total: options.messages,
          elapsedMs: performance.now() - start,
          durationMs: options.durationMs,
        }));
  const worker = async (): Promise<void> => {
    let sinceYield = 0;
    while (more()) {
      // A transport that settles without I/O (fake://) would otherwise starve timers (the
      // progress bar) and, with `all`, the server sharing this process.
      if (++sinceYield === 64) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const payload = makePayload(next++, options.payloadSize);
      const t0 = performance.now();
      try {
        await send(payload);
        latency.add(performance.now() - t0);
        sent += 1;
      } catch (err) {
        errors += 1;
        firstError ??= describeError(err);
        // Nothing got through at all: the broker or the server is not there. Stop and
        // report that, rather than fail every remaining message the same way.
        if (sent === 0) {
          failure ??= err;
          break;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    progress.stop();
  }
  if (failure !== undefined) {
    throw failure instanceof Error ? failure : new Error(describeError(failure));
  }
  const elapsedMs = performance.now() - start;
  return {
    role,
    sent,
    errors,
    firstError,
    elapsedMs,
    rate: elapsedMs > 0 ? (sent * 1000) / elapsedMs : NaN,
    latencyMs: latencyOf(latency),
  };
}

/** RPC calls or casts of the `bench` method. */
export function runRpcClient(
  transport: RPCTransport,
  target: { topic: string; server?: string | undefined; exchange?: string | undefined },
  mode: 'call' | 'cast' | 'fanout',
  timeoutMs: number | undefined,
  options: DriveOptions,
): Promise<ClientSummary> {
  const client = getRpcClient(transport, target, { timeout: timeoutMs, retry: 0 });
  const fanout = client.prepare({ fanout: true });
  const send =
    mode === 'call'
      ? (payload: BenchPayload) => client.call({}, BENCH_METHOD, { ...payload })
      : mode === 'cast'
        ? (payload: BenchPayload) => client.cast({}, BENCH_METHOD, { ...payload })
        : (payload: BenchPayload) => fanout.cast({}, BENCH_METHOD, { ...payload });
  return drive(`rpc-client (${mode})`, options, send);
}

/**
 * Notifications at INFO priority. The notifier reports a failed send by logging it (as
 * oslo's does), so a send fails here when the transport's logger recorded a new error.
 */
export function runNotifyClient(
  transport: NotificationTransport,
  topic: string,
  log: { readonly errors: readonly string[] },
  options: DriveOptions,
): Promise<ClientSummary> {
  const notifier = new Notifier(transport, {
    driver: 'messagingv2',
    topics: [topic],
    retry: 0,
    publisherId: 'bench',
  });
  let seen = log.errors.length;
  return drive('notify-client', options, async (payload) => {
    await notifier.info({}, BENCH_EVENT_TYPE, payload);
    if (log.errors.length > seen) {
      const message = log.errors[log.errors.length - 1] ?? 'send failed';
      seen = log.errors.length;
      throw new CliFailure(message);
    }
  });
}
