/**
 * The orchestrator's handle on a peer process: spawn it, wait for its `ready` line,
 * send commands and await their answers (each with a timeout), stop it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A running peer. */
export class PeerProcess {
  readonly name: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, Pending>();
  readonly #ready: Promise<void>;
  readonly #exited: Promise<number | null>;
  #nextId = 1;
  #stderr = '';

  constructor(name: string, command: string, args: readonly string[], cwd: string) {
    this.name = name;
    this.#child = spawn(command, args, { cwd, env: process.env, stdio: 'pipe' });
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
      if (process.env['BENCH_DEBUG'] === '1') process.stderr.write(`[${name}] ${chunk.toString()}`);
    });
    let onReady!: () => void;
    let onFail!: (err: Error) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.#ready.catch(() => undefined);
    const lines = createInterface({ input: this.#child.stdout });
    lines.on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // a library printing on stdout; not ours
      }
      if (message['event'] === 'ready') {
        onReady();
        return;
      }
      const id = message['id'];
      const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
      if (pending === undefined) return;
      this.#pending.delete(id as number);
      clearTimeout(pending.timer);
      if (message['ok'] === true) pending.resolve(message);
      else pending.reject(new Error(`${name}: ${String(message['error'])}`));
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code) => {
        const err = new Error(`${name} exited (${code}); stderr: ${this.#stderr.trim()}`);
        onFail(err);
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        this.#pending.clear();
        resolve(code);
      });
    });
  }

  /** Resolves once the peer printed `{"event": "ready"}`; rejects after `timeoutMs`. */
  async ready(timeoutMs = 60_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`${this.name} not ready in ${timeoutMs} ms: ${this.#stderr.trim()}`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send a command and wait for its answer. */
  request<T>(command: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new Error(`${this.name}: no answer to ${String(command['cmd'])} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => resolve(value as T),
        reject,
        timer,
      });
      this.#child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  /** Ask the peer to quit; kill it if it has not exited after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.request({ cmd: 'quit' }, timeoutMs).catch(() => undefined);
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
