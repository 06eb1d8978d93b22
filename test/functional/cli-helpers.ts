/**
 * Helpers of the CLI's functional tests: run the tool as a child process (or in a tmux
 * terminal), and a broker connection for setting up, asserting and cleaning up.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { connect, type Channel, type ChannelModel } from 'amqplib';

/** The broker under test. */
export const URL_ = process.env.OMTC_TRANSPORT_URL ?? 'rabbit://guest:guest@127.0.0.1:5672/';
/** The tool's reply queues expire 30 s after it exits (their owner never deletes them). */
export const CLI_URL = `${URL_}?rabbit_transient_queues_ttl=30`;
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
export const PRIORITIES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'];

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the tool to completion (killed after `timeoutMs`). */
export function cli(args: readonly string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Start the tool; `ready` resolves once stderr matches `marker`, `done` when it exits. */
export function background(t: TestContext, args: readonly string[], marker: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done;
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (marker.test(stderr)) resolve();
    });
    void done.then((run) => reject(new Error(`exited before ready: ${JSON.stringify(run)}`)));
  });
  ready.catch(() => undefined);
  return { ready, done, signal: (s: NodeJS.Signals) => child.kill(s) };
}

export function uniqueName(label: string): string {
  return `omtc_${randomBytes(6).toString('hex')}_${label}`;
}

/** amqplib's URL for the broker under test. */
export function amqpUrl(): string {
  const u = new URL(URL_.replace(/^rabbit:/, 'amqp:'));
  const vhost = u.pathname === '/' || u.pathname === '' ? '' : u.pathname;
  return `amqp://${u.username || 'guest'}:${u.password || 'guest'}@${u.host}${vhost}`;
}

/**
 * A broker connection for the test; what `cleanup` names is deleted at the end, after
 * the `defer`red steps (last first).
 */
export async function broker(t: TestContext) {
  const conn: ChannelModel = await connect(amqpUrl());
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const steps: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
    const attempt = async (op: (ch: Channel) => Promise<unknown>): Promise<void> => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await op(ch).catch(() => undefined);
      await ch.close().catch(() => undefined);
    };
    for (const q of queues) await attempt((ch) => ch.deleteQueue(q));
    for (const x of exchanges) await attempt((ch) => ch.deleteExchange(x));
    await conn.close();
  });
  const channel = async <T>(op: (ch: Channel) => Promise<T>): Promise<T> => {
    const ch = await conn.createChannel();
    try {
      return await op(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  };
  return {
    conn,
    channel,
    cleanup(names: { queues?: readonly string[]; exchanges?: readonly string[] }) {
      for (const q of names.queues ?? []) queues.add(q);
      for (const x of names.exchanges ?? []) exchanges.add(x);
    },
    defer(step: () => Promise<void>) {
      steps.push(step);
    },
    messageCount: (queue: string) =>
      channel(async (ch) => (await ch.checkQueue(queue)).messageCount),
    /** Publish with a confirm. */
    async publish(exchange: string, key: string, body: string, options: object = {}) {
      const ch = await conn.createConfirmChannel();
      try {
        ch.publish(exchange, key, Buffer.from(body), {
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          deliveryMode: 2,
          ...options,
        });
        await ch.waitForConfirms();
      } finally {
        await ch.close();
      }
    },
  };
}

/** A Python-written oslo 2.0 notification body (separators, escapes), for `fields`. */
export function pythonNotification(fields: {
  eventType: string;
  publisherId: string;
  priority?: string;
  payload: string;
  timestamp?: string;
}): string {
  const id = `${randomBytes(4).toString('hex')}-1111-4222-8333-${randomBytes(6).toString('hex')}`;
  const inner =
    `{"message_id": "${id}", "publisher_id": "${fields.publisherId}", "event_type": "${fields.eventType}", ` +
    `"priority": "${fields.priority ?? 'INFO'}", "payload": ${fields.payload}, ` +
    `"timestamp": "${fields.timestamp ?? '2026-11-29 05:04:52.838860'}", "_unique_id": "${randomBytes(16).toString('hex')}", ` +
    `"_context_user_id": "u-1"}`;
  return JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': inner }).replace(
    /^\{"oslo.version":"2.0","oslo.message":/,
    '{"oslo.version": "2.0", "oslo.message": ',
  );
}

/** Run tmux (the terminal the live-view tests read). */
export function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

/** Whether tmux is installed. */
export function haveTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Poll a tmux pane until `pattern` shows (or 20 s pass); returns the last screen. */
export async function screenUntil(session: string, pattern: RegExp): Promise<string> {
  let screen = '';
  for (let i = 0; i < 100; i++) {
    screen = tmux('capture-pane', '-p', '-t', session);
    if (pattern.test(screen)) return screen;
    await sleep(200);
  }
  return screen;
}

/**
 * Run the tool in a detached tmux session of 120x40 (killed after the test). Once the tool
 * ends, the pane shows `<label> exited <status>` and stays a while for the test to read.
 */
export function inTerminal(t: TestContext, label: string, args: readonly string[]): string {
  const session = uniqueName('tmux');
  const command = [process.execPath, '--import', 'tsx', MAIN, ...args]
    .map((a) => `'${a}'`)
    .join(' ');
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '120',
    '-y',
    '40',
    '-c',
    ROOT,
    `env OSLO_MESSAGING_TRANSPORT_URL= ${command}; echo "${label} exited $?"; sleep 30`,
  );
  t.after(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
  });
  return session;
}
