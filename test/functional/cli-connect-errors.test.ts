/**
 * The `oslo-messaging` executable when the broker cannot be used: a port that accepts TCP
 * but never speaks AMQP, refused credentials, a virtual host that does not exist, and TLS
 * failures (TLS to a plain port; a certificate the configured CA did not sign). Every
 * command gets one line naming what to check and exit status 4. Also: a signal while a
 * command is still connecting ends it with 128 + the signal's number, never 0.
 *
 * The odd servers are our own, on 127.0.0.1 ephemeral ports; the credential and vhost
 * cases use the real broker (`OMTC_TRANSPORT_URL`, default guest on 127.0.0.1:5672).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';

const BROKER = new URL(
  (process.env.OMTC_TRANSPORT_URL ?? 'rabbit://guest:guest@127.0.0.1:5672/').replace(
    /^rabbit:/,
    'http:',
  ),
);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, timeout: 30_000, env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function assertOneLine(run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit status; stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n');
  assert.equal(lines.length, 2, `expected one line on stderr, got: ${JSON.stringify(run.stderr)}`);
  assert.match(lines[0] ?? '', pattern);
}

const sockets = new Set<Socket>();
const servers: Server[] = [];
let silentPort = 0;
let tlsPort = 0;
let dir = '';
let otherCa = '';

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function selfSigned(name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

before(async () => {
  // Accepts TCP, never says a word.
  silentPort = await listen(
    createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    }),
  );
  dir = await mkdtemp(join(tmpdir(), 'omtc_tls_'));
  if (haveOpenssl()) {
    const server = selfSigned('omtc-broker');
    otherCa = selfSigned('omtc-other-ca').cert;
    const tls = createTlsServer(
      { key: await readFile(server.key), cert: await readFile(server.cert) },
      (s) => {
        sockets.add(s);
        s.on('error', () => undefined);
      },
    );
    tls.on('tlsClientError', () => undefined);
    tlsPort = await listen(tls);
  }
});

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

const CAPTURE = {
  body: { 'oslo.version': '2.0', 'oslo.message': '{}' },
  exchange: 'omtc_x',
  routing_key: 'omtc_k',
  properties: {},
};

/** Every command that talks to the broker, with arguments that would otherwise work. */
async function commands(): Promise<{ name: string; args: string[] }[]> {
  const capture = join(dir, 'capture.jsonl');
  await writeFile(capture, `${JSON.stringify(CAPTURE)}\n`);
  return [
    { name: 'notify', args: ['notify', '--topic', 'omtc_t'] },
    { name: 'call', args: ['call', '--topic', 'omtc_t', 'm', '--timeout', '1000'] },
    { name: 'cast', args: ['cast', '--topic', 'omtc_t', 'm'] },
    { name: 'ping', args: ['ping', '--topic', 'omtc_t', '--timeout', '1000'] },
    { name: 'listen', args: ['listen', '--topic', 'omtc_t'] },
    { name: 'listen --pool', args: ['listen', '--topic', 'omtc_t', '--pool', 'omtc_p'] },
    { name: 'queues', args: ['queues'] },
    { name: 'top', args: ['top', '--iterations', '1'] },
    { name: 'peek', args: ['peek', 'omtc_q'] },
    { name: 'move', args: ['move', 'omtc_q', '--to-queue', 'omtc_r'] },
    { name: 'republish', args: ['republish', capture] },
    {
      name: 'bench rpc-client',
      args: ['bench', 'rpc-client', '--topic', 'omtc_t', '--messages', '1'],
    },
  ];
}

const vhost = `omtc_missing_${randomBytes(4).toString('hex')}`;
const CASES: readonly {
  name: string;
  url: () => string;
  line: () => RegExp;
  needsTls?: boolean;
}[] = [
  {
    name: 'a port that accepts TCP but never speaks AMQP',
    url: () => `rabbit://guest:guest@127.0.0.1:${silentPort}/`,
    line: () =>
      new RegExp(
        `^oslo-messaging: 127\\.0\\.0\\.1:${silentPort} accepted the TCP connection but did not speak AMQP within 1000 ms: is it a RabbitMQ AMQP port`,
      ),
  },
  {
    name: 'refused credentials',
    url: () => `rabbit://guest:omtc-wrong-${randomBytes(3).toString('hex')}@${BROKER.host}/`,
    line: () =>
      /^oslo-messaging: the broker at [^ ]+ refused the login of user 'guest' \(AMQPLAIN\): check the user name and password in the transport URL$/,
  },
  {
    name: 'a virtual host that does not exist',
    url: () => `rabbit://${BROKER.username}:${BROKER.password}@${BROKER.host}/${vhost}`,
    line: () =>
      new RegExp(
        `^oslo-messaging: the broker at [^ ]+ refused virtual host '${vhost}' to user '${BROKER.username}': it does not exist or the user has no permission on it`,
      ),
  },
  {
    name: 'TLS to a port that does not speak TLS',
    url: () => `rabbit://${BROKER.username}:${BROKER.password}@${BROKER.host}/?ssl=true`,
    line: () =>
      /^oslo-messaging: TLS handshake with [^ ]+ failed: the port does not speak TLS: turn ssl off, or use the broker's TLS port/,
  },
  {
    name: 'a TLS certificate the configured CA did not sign',
    needsTls: true,
    url: () =>
      `rabbit://guest:guest@127.0.0.1:${tlsPort}/?ssl=true&ssl_ca_file=${encodeURIComponent(otherCa)}`,
    line: () =>
      new RegExp(
        `^oslo-messaging: TLS handshake with 127\\.0\\.0\\.1:${tlsPort} failed: the broker's certificate was not accepted \\(.*\\): check ssl_ca_file$`,
      ),
  },
];

for (const c of CASES) {
  test(`cli - ${c.name}: every command says what to check in one line, exit status 4`, async (t) => {
    if (c.needsTls === true && tlsPort === 0) {
      t.skip('openssl is not installed');
      return;
    }
    for (const command of await commands()) {
      const run = await cli([...command.args, '--url', c.url(), '--connect-timeout', '1000']);
      try {
        assertOneLine(run, 4, c.line());
      } catch (err) {
        (err as Error).message = `${command.name}: ${(err as Error).message}`;
        throw err;
      }
    }
  });
}

/** Start the tool, wait until it is surely connecting, then send it a signal. */
function signalWhileConnecting(args: string[], signal: NodeJS.Signals): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Loading the tool takes well under this; the connect waits 20 s on the silent port.
    const timer = setTimeout(() => child.kill(signal), 3_000);
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const [command, args] of [
  ['listen', ['listen', '--topic', 'omtc_t']],
  ['notify', ['notify', '--topic', 'omtc_t']],
  ['peek', ['peek', 'omtc_q']],
] as const) {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`cli ${command} - ${signal} while connecting exits with ${code}, one line`, async () => {
      const url = `rabbit://guest:guest@127.0.0.1:${silentPort}/`;
      const run = await signalWhileConnecting(
        [...args, '--url', url, '--connect-timeout', '20000'],
        signal,
      );
      assertOneLine(run, code, new RegExp(`^oslo-messaging: interrupted \\(${signal}\\)$`));
    });
  }
}
