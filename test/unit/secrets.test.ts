import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';

import {
  getRpcClient,
  getRpcTransport,
  Notifier,
  Target,
  TransportURL,
  type Logger,
} from '../../src/index.js';
import { formatLogRecord } from '../../src/log.js';

// A password and private-key material that must never be shown anywhere.
const PASSWORD = 'S3cr3t-Pa55w0rd';
const KEY_SECRET = 'K3yMat3rialS3cr3t';
const KEY_PEM = `-----BEGIN PRIVATE KEY-----\n${KEY_SECRET}${KEY_SECRET}\n-----END PRIVATE KEY-----\n`;
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function leaks(text: string): boolean {
  return text.includes(PASSWORD) || text.includes(KEY_SECRET) || text.includes('K3yMat3rial');
}

/** Every level, as the default logger would print it and as raw arguments. */
function capturingLogger(out: string[]): Logger {
  const keep =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      out.push(`${level} ${formatLogRecord(message, args)}`);
      out.push(inspect([message, ...args], { depth: Infinity, showHidden: true }));
    };
  return { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

function everything(value: unknown): string[] {
  const out = [String(value), inspect(value, { depth: Infinity, showHidden: true })];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch (err) {
    out.push(String(err));
  }
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? '');
    let cause: unknown = value.cause;
    while (cause !== undefined) {
      out.push(inspect(cause, { depth: Infinity }));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return out;
}

test('secrets - no password or ssl_key_file content in inspect, String, JSON, errors or logs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'omt-secrets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'client.key');
  await writeFile(keyFile, KEY_PEM);
  const logs: string[] = [];
  const url = `rabbit://nova:${PASSWORD}@127.0.0.1:1,nova:${PASSWORD}@[::1]:1/nova`;
  const transport = getRpcTransport(
    {
      DEFAULT: { transport_url: url, rpc_response_timeout: 1 },
      oslo_messaging_rabbit: { ssl: true, ssl_key_file: keyFile, rabbit_retry_interval: 1 },
    },
    { logger: capturingLogger(logs) },
  );
  t.after(() => transport.cleanup());
  const shown: string[] = [
    ...everything(transport),
    ...everything(transport.url),
    ...everything(transport.url.hosts),
    ...everything(transport.url.hosts[0]),
    ...everything(transport.conf),
  ];
  // A call and a notification that fail to connect: their errors and every log line.
  const client = getRpcClient(transport, new Target({ topic: 't' }), { timeout: 1500, retry: 0 });
  const failure = await client.call({}, 'm').then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(failure !== undefined);
  shown.push(...everything(failure));
  const notifier = new Notifier(transport, { publisherId: 'p', driver: 'messagingv2', retry: 0 });
  await notifier.info({}, 'e', {});
  // URLs that do not parse, or carry a bad option.
  for (const bad of [
    `rabbit://nova:${PASSWORD}@host:99999/`,
    `rabbit://nova:${PASSWORD}@host/?no_such_option=1`,
    `rabbit://nova:${PASSWORD}/x@host/`,
  ]) {
    try {
      getRpcTransport(bad);
      TransportURL.parse(bad);
    } catch (err) {
      shown.push(...everything(err));
    }
  }
  shown.push(...logs);
  assert.ok(logs.length > 0, 'the failures were logged');
  assert.ok(
    shown.some((s) => s.includes('***')),
    'passwords show as ***',
  );
  assert.deepEqual(shown.filter(leaks), []);
});

test('secrets - the CLI never prints the password, even with --debug', async () => {
  const run = promisify(execFile);
  for (const args of [
    [
      'call',
      '--url',
      `rabbit://u:${PASSWORD}@127.0.0.1:1/`,
      '--topic',
      't',
      '--connect-timeout',
      '500',
      '--debug',
      'm',
    ],
    [
      'notify',
      '--url',
      `rabbit://u:${PASSWORD}@127.0.0.1:1/`,
      '--publisher-id',
      'p',
      '--event-type',
      'e',
      '--connect-timeout',
      '500',
      '--debug',
    ],
    ['call', '--url', `rabbit://u:${PASSWORD}@h:99999/`, '--topic', 't', 'm'],
  ]) {
    const result = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      timeout: 60_000,
    }).then(
      (r) => r,
      (err: { stdout?: string; stderr?: string; code?: number }) => err,
    );
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    assert.ok(output.length > 0, args.join(' '));
    assert.equal(leaks(output), false, output);
  }
});
