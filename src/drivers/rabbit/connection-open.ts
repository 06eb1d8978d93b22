/**
 * Opening and closing one AMQP connection with amqplib: credentials, client properties,
 * heartbeat, TCP no-delay and TLS. Used only by `connection.ts`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { SecureVersion } from 'node:tls';

import { connect, credentials, type ChannelModel, type Options, type SocketOptions } from 'amqplib';

import { ConfigurationError } from '../../errors.js';
import type { RabbitHost } from './connection-failover.js';

/** SASL mechanism (`rabbit_login_method`). */
export type LoginMethod = 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';

/** TLS settings (`[oslo_messaging_rabbit] ssl*`). */
export interface RabbitSslOptions {
  /** Connect with TLS (amqps). */
  readonly enabled: boolean;
  /**
   * CA bundle (PEM). As in oslo, the broker's certificate is verified only when this is
   * set; without it any certificate is accepted.
   */
  readonly caFile?: string | undefined;
  /** Client certificate (PEM), for mutual TLS and the EXTERNAL login. */
  readonly certFile?: string | undefined;
  /** Client private key (PEM). */
  readonly keyFile?: string | undefined;
  /**
   * Pin a protocol version: `TLSv1`, `TLSv1_1`, `TLSv1_2`, `TLSv1_3` (oslo's spelling;
   * dots also accepted). Empty, `TLS` or `SSLv23` negotiate.
   */
  readonly version?: string | undefined;
  /** Check the broker's host name against its certificate (when `caFile` is set). @default false */
  readonly verifyHostname?: boolean | undefined;
}

/** What opening a connection needs. */
export interface OpenSettings {
  readonly vhost: string;
  readonly loginMethod: LoginMethod;
  readonly heartbeatSeconds: number;
  readonly frameMax: number | undefined;
  readonly connectTimeoutMs: number;
  readonly connectionName: string;
  readonly ssl: RabbitSslOptions | undefined;
}

/** One open AMQP connection and what we learned about it. */
export interface AmqpConnection {
  readonly model: ChannelModel;
  readonly host: RabbitHost;
  /** Our side's TCP port, for logs (oslo logs it too). */
  readonly localPort: number | undefined;
  /** False once amqplib reported the connection closed. */
  open: boolean;
  /** The error that is closing or closed it (socket error, heartbeat, broker close). */
  closeError: Error | undefined;
}

/** Callbacks for what happens to an open connection. */
export interface ConnectionEvents {
  onClose(conn: AmqpConnection, err: Error | undefined): void;
  onBlocked(conn: AmqpConnection, reason: string): void;
  onUnblocked(conn: AmqpConnection): void;
  onHandlerError(err: unknown, event: string): void;
}

/** `<process name>:<pid>:<uuid>`, the `connection_name` oslo sends (`basename(argv[0])` in Python). */
export function defaultConnectionName(): string {
  const script = process.argv[1] ?? process.argv0;
  return `${basename(script)}:${process.pid}:${randomUUID()}`;
}

// What py-amqp announces (spec §2), plus what amqplib itself supports; the broker only
// acts on the ones it knows.
const CAPABILITIES = {
  authentication_failure_close: true,
  'connection.blocked': true,
  consumer_cancel_notify: true,
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
};

const TLS_VERSIONS: Readonly<Record<string, SecureVersion | null>> = {
  '': null,
  tls: null,
  sslv23: null,
  tlsv1: 'TLSv1',
  tlsv1_1: 'TLSv1.1',
  tlsv1_2: 'TLSv1.2',
  tlsv1_3: 'TLSv1.3',
};

async function tlsOptions(ssl: RabbitSslOptions): Promise<SocketOptions> {
  const key = (ssl.version ?? '').toLowerCase().replaceAll('.', '_');
  const version = TLS_VERSIONS[key];
  if (version === undefined) {
    throw new ConfigurationError(`Unsupported TLS version: ${ssl.version}`, {
      option: 'oslo_messaging_rabbit.ssl_version',
      value: ssl.version,
    });
  }
  const options: SocketOptions = {};
  if (version !== null) {
    options.minVersion = version;
    options.maxVersion = version;
  }
  const verify = ssl.caFile !== undefined && ssl.caFile !== '';
  if (verify) options.ca = await readFile(ssl.caFile);
  if (ssl.certFile !== undefined && ssl.certFile !== '')
    options.cert = await readFile(ssl.certFile);
  if (ssl.keyFile !== undefined && ssl.keyFile !== '') options.key = await readFile(ssl.keyFile);
  options.rejectUnauthorized = verify;
  if (ssl.verifyHostname !== true) options.checkServerIdentity = () => undefined;
  return options;
}

function saslCredentials(
  method: LoginMethod,
  host: RabbitHost,
): NonNullable<SocketOptions['credentials']> {
  const username = host.username ?? 'guest';
  const password = host.password ?? 'guest';
  switch (method) {
    case 'PLAIN':
      return credentials.plain(username, password);
    case 'AMQPLAIN':
      return credentials.amqplain(username, password);
    case 'EXTERNAL':
      return credentials.external();
  }
}

/** The parts of amqplib's connection that {@link coalesceWrites} uses (not in its types). */
interface AmqplibInternals {
  readonly stream?: { cork?: () => void; uncork?: () => void };
  readonly muxer?: { _readIncoming?: () => void };
}

/**
 * One socket write per event-loop turn instead of one per frame.
 *
 * amqplib queues every frame (a publish's method, header and body; an ack) on its
 * channel and, once per turn of the event loop, writes each queued frame to the socket
 * with its own `write()`: on a loopback socket that is one system call, and one TCP
 * segment for the broker to read, per frame. Corking the socket while amqplib writes
 * what it queued hands all of it to the kernel in one `writev`; the bytes and their
 * order are unchanged. amqplib's back-pressure still works: `write()` reports the
 * socket full once the corked bytes reach its high-water mark, and amqplib waits for
 * `drain` as before. If an amqplib release moves these internals, nothing is changed
 * (`test/functional/rabbit-amqplib-internals.test.ts` fails so that it is noticed).
 *
 * @returns whether writes are coalesced on this connection
 * @internal
 */
export function coalesceWrites(model: ChannelModel): boolean {
  const internals = model.connection as unknown as AmqplibInternals;
  const stream = internals.stream;
  const muxer = internals.muxer;
  const writeQueued = muxer?._readIncoming;
  if (
    stream === undefined ||
    muxer === undefined ||
    typeof writeQueued !== 'function' ||
    typeof stream.cork !== 'function' ||
    typeof stream.uncork !== 'function'
  ) {
    return false;
  }
  const cork = stream.cork.bind(stream);
  const uncork = stream.uncork.bind(stream);
  muxer._readIncoming = function writeCorked(this: unknown): void {
    cork();
    try {
      writeQueued.call(this);
    } finally {
      uncork();
    }
  };
  return true;
}

/**
 * Opens an AMQP connection to one host. Rejects on refusal, TLS or login failure, or when
 * the TCP connect plus handshake take longer than `connectTimeoutMs`.
 */
export async function openAmqpConnection(
  host: RabbitHost,
  settings: OpenSettings,
  events: ConnectionEvents,
): Promise<AmqpConnection> {
  const useTls = settings.ssl?.enabled === true;
  const target: Options.Connect = {
    protocol: useTls ? 'amqps' : 'amqp',
    hostname: host.hostname,
    port: host.port,
    // amqplib percent-decodes the vhost; a literal '%' must survive that.
    vhost: settings.vhost.replaceAll('%', '%25'),
    heartbeat: settings.heartbeatSeconds,
    locale: 'en_US',
  };
  if (settings.frameMax !== undefined) target.frameMax = settings.frameMax;
  const socket: SocketOptions = {
    ...(useTls ? await tlsOptions(settings.ssl) : {}),
    // Without it Nagle's algorithm holds back the second write of a publish (amqplib writes
    // a message over 2 KB as header, then body) until the broker's delayed ACK: 40 ms
    // per call instead of 0.5.
    noDelay: true,
    timeout: settings.connectTimeoutMs,
    clientProperties: { connection_name: settings.connectionName, capabilities: CAPABILITIES },
    credentials: saslCredentials(settings.loginMethod, host),
  };
  const model = await connect(target, socket);
  coalesceWrites(model);
  const stream = (model.connection as unknown as { stream?: { localPort?: number } }).stream;
  const conn: AmqpConnection = {
    model,
    host,
    localPort: stream?.localPort,
    open: true,
    closeError: undefined,
  };
  model.on('error', (err: Error) => {
    conn.closeError ??= err;
  });
  model.on('close', (err?: Error) => {
    conn.open = false;
    if (err !== undefined) conn.closeError ??= err;
    events.onClose(conn, conn.closeError);
  });
  model.on('blocked', (reason: string) => events.onBlocked(conn, reason));
  model.on('unblocked', () => events.onUnblocked(conn));
  model.on('handler-error', (err: Error, event: string) => events.onHandlerError(err, event));
  return conn;
}

/**
 * Closes a connection (connection.close, then waits for close-ok). After `timeoutMs`
 * without an answer the socket is destroyed. Never rejects.
 */
export async function closeAmqpConnection(conn: AmqpConnection, timeoutMs: number): Promise<void> {
  if (!conn.open) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      conn.model.close().catch(() => 'failed' as const),
      timedOut,
    ]);
    if (outcome === 'timeout') {
      const stream = (conn.model.connection as unknown as { stream?: { destroy(): void } }).stream;
      stream?.destroy();
    }
  } finally {
    clearTimeout(timer);
  }
}
