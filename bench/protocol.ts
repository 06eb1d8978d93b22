/**
 * The protocol between `bench/run.ts` and its peers (ours, raw amqplib, Python): one
 * JSON object per line. The orchestrator writes commands on a peer's stdin, the peer
 * answers each with a line carrying the same `id` on stdout; logs go to stderr.
 *
 * Peers are long-lived (one server and one client process per implementation for the
 * whole run), so repetitions can be interleaved without process start-up in between.
 */
import { createInterface } from 'node:readline';

/** The message shapes measured. */
export type Shape = 'notify' | 'cast' | 'call';

/** Commands to a server peer. */
export type ServerCommand =
  | { id: number; cmd: 'reset' }
  /** Wait until `count` messages arrived since the reset (or `timeoutMs` passed). */
  | { id: number; cmd: 'expect'; count: number; timeoutMs: number; sampleEvery?: number }
  | { id: number; cmd: 'quit' };

/** Commands to a client peer. */
export type ClientCommand =
  | {
      id: number;
      cmd: 'run';
      shape: Shape;
      concurrency: number;
      /** Send for this long, or (when `messages` is given) until that many were sent. */
      durationMs: number;
      messages?: number;
      payloadSize: number;
    }
  | { id: number; cmd: 'quit' };

/** Resource use of a peer process since the last reset or run. */
export interface Usage {
  /** CPU (user + system) in ms. */
  cpuMs: number;
  /** Of which in the kernel (system calls: socket reads and writes), in ms. */
  systemMs?: number;
  /** Peak resident set size of the process so far, in KB. */
  maxRssKb: number;
}

/** A server peer's answer to `expect`. */
export interface ServerResult extends Usage {
  received: number;
  /** Epoch ms of the first and last message received since the reset. */
  firstAt: number;
  lastAt: number;
  /** RSS samples (KB) every `sampleEvery` messages, when asked. */
  samples?: {
    received: number;
    rssKb: number;
    /** V8 heap used (after a full GC when the peer runs with `--expose-gc`). */
    heapKb?: number;
    /** V8 heap reserved (`heapTotal`), and memory outside it (`external`, Buffers included). */
    heapTotalKb?: number;
    externalKb?: number;
  }[];
}

/** A client peer's answer to `run`. */
export interface ClientResult extends Usage {
  sent: number;
  errors: number;
  firstError?: string;
  /** Epoch ms of the start and the end of the run. */
  startAt: number;
  endAt: number;
  /** Per-request latency in ms (until confirmed, or answered for calls). */
  p50: number;
  p90: number;
  p99: number;
}

/** Milliseconds since the epoch with sub-ms precision: comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** CPU and peak RSS of this process, CPU relative to `since` (a `process.cpuUsage()`). */
export function usage(since: NodeJS.CpuUsage): Usage {
  const cpu = process.cpuUsage(since);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    systemMs: cpu.system / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

/**
 * Serve commands from stdin: each line is handed to `handle`, whose result (or error)
 * is written back with the command's id. Commands run one at a time, in order. Resolves
 * when stdin ends or a `quit` command was answered.
 */
export async function serveCommands<C extends { id: number; cmd: string }>(
  handle: (command: C) => Promise<object>,
): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const command = JSON.parse(line) as C;
    try {
      const result = await handle(command);
      reply({ id: command.id, ok: true, ...result });
    } catch (err) {
      reply({ id: command.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
    if (command.cmd === 'quit') break;
  }
  lines.close();
}

/** Write one protocol line (the ready event, or an answer). */
export function reply(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}
