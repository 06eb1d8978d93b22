/**
 * The tool's own AMQP connection, for what the library's API does not show: the wire view
 * (`listen`'s tap, `peek`, `queues`, `top`, `republish`, `move`) and the check that a
 * broker can be used before a library transport tries it. The broker addresses, login
 * and TLS settings are read from the transport URL and `[oslo_messaging_rabbit]`, as the
 * library's rabbit driver reads them. Only the files in this folder import amqplib.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, SecureVersion } from 'node:tls';

import { connect, credentials, type ChannelModel } from 'amqplib';

import { TransportURL, type Config, type RabbitOptions } from '../../index.js';
import { ConnectFailure, UsageError } from '../errors.js';
import { address, loginError, probeEndpoint, type BrokerEndpoint } from './probe.js';

export { address, type BrokerEndpoint } from './probe.js';

/** The broker a command works on. */
export interface Broker {
  readonly url: TransportURL;
  readonly conf: Config;
  readonly endpoints: readonly BrokerEndpoint[];
  /** `[DEFAULT] control_exchange`: where oslo publishes RPC and notifications. */
  readonly controlExchange: string;
}

const TLS_VERSIONS: Readonly<Record<string, SecureVersion | null>> = {
  '': null,
  tls: null,
  sslv23: null,
  tlsv1: 'TLSv1',
  tlsv1_1: 'TLSv1.1',
  tlsv1_2: 'TLSv1.2',
  tlsv1_3: 'TLSv1.3',
};

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${option} ${path}: ${(err as Error).message}`);
  }
}

/** TLS options as the library's driver makes them: verify only when a CA is given, as oslo. */
function tlsOptions(r: RabbitOptions): ConnectionOptions | undefined {
  if (!r.ssl) return undefined;
  const version = TLS_VERSIONS[r.ssl_version.toLowerCase().replaceAll('.', '_')];
  if (version === undefined) throw new UsageError(`unsupported ssl_version '${r.ssl_version}'`);
  const options: ConnectionOptions = { rejectUnauthorized: r.ssl_ca_file !== '' };
  if (version !== null) {
    options.minVersion = version;
    options.maxVersion = version;
  }
  if (r.ssl_ca_file !== '') options.ca = readPem(r.ssl_ca_file, 'ssl_ca_file');
  if (r.ssl_cert_file !== '') options.cert = readPem(r.ssl_cert_file, 'ssl_cert_file');
  if (r.ssl_key_file !== '') options.key = readPem(r.ssl_key_file, 'ssl_key_file');
  if (!r.ssl_enforce_hostname_verification) options.checkServerIdentity = () => undefined;
  return options;
}

/**
 * The broker named by `url` (else the configuration's `transport_url`), for commands
 * that need RabbitMQ itself.
 *
 * @throws UsageError when the URL is not a RabbitMQ one (`fake://` has no broker to look at).
 */
export function brokerOf(conf: Config, url: string | undefined, command: string): Broker {
  const text = url ?? conf.notifications().transport_url ?? conf.defaults().transport_url;
  const parsed = TransportURL.parse(text === '' ? 'rabbit://' : text);
  if (parsed.driverName !== 'rabbit') {
    throw new UsageError(
      `${command} works on RabbitMQ only (a rabbit:// URL); ${parsed.scheme}:// has no broker to look at`,
    );
  }
  const r = conf.group<RabbitOptions>('oslo_messaging_rabbit', parsed.query);
  const loginMethod = r.rabbit_login_method;
  if (loginMethod === 'RABBIT-CR-DEMO') {
    throw new UsageError(
      'rabbit_login_method RABBIT-CR-DEMO is not supported: use AMQPLAIN, PLAIN or EXTERNAL',
    );
  }
  const tls = tlsOptions(r);
  const vhost = parsed.effectiveVirtualHost();
  const endpoints = parsed.effectiveHosts().map((h) => ({
    hostname: h.hostname,
    port: h.port,
    username: h.username ?? 'guest',
    password: h.password ?? 'guest',
    vhost,
    loginMethod,
    tls,
  }));
  return { url: parsed, conf, endpoints, controlExchange: conf.defaults().control_exchange };
}

/** True when a transport URL is served by the rabbit driver (where probing makes sense). */
export function isRabbit(url: TransportURL): boolean {
  return url.driverName === 'rabbit';
}

async function login(e: BrokerEndpoint, timeoutMs: number): Promise<ChannelModel> {
  const sasl =
    e.loginMethod === 'PLAIN'
      ? credentials.plain(e.username, e.password)
      : e.loginMethod === 'AMQPLAIN'
        ? credentials.amqplain(e.username, e.password)
        : credentials.external();
  const target = {
    protocol: e.tls === undefined ? 'amqp' : 'amqps',
    hostname: e.hostname,
    port: e.port,
    vhost: e.vhost,
    heartbeat: 60,
  };
  const socket = {
    ...(e.tls ?? {}),
    credentials: sasl,
    timeout: timeoutMs,
    noDelay: true,
    clientProperties: { connection_name: `oslo-messaging-cli:${process.pid}` },
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConnectFailure(
            `${address(e)} started but did not finish the AMQP handshake within ${timeoutMs} ms: is the broker overloaded or blocked?`,
          ),
        ),
      timeoutMs,
    );
  });
  const opening = connect(target, socket);
  try {
    return await Promise.race([opening, deadline]);
  } catch (err) {
    // A connection that opens after the deadline is closed at once.
    void opening.then((c) => c.close()).catch(() => undefined);
    if (err instanceof ConnectFailure) throw err;
    throw new ConnectFailure(
      loginError(e, err) ??
        `cannot open an AMQP connection to ${address(e)}: ${(err as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connect to the first endpoint that works, as the driver fails over: each is probed (TCP,
 * TLS, AMQP header), then logged in to.
 *
 * @throws ConnectFailure naming, for a single host, its reason; for several, each one's.
 */
export async function openConnection(broker: Broker, timeoutMs: number): Promise<ChannelModel> {
  const reasons: string[] = [];
  for (const e of broker.endpoints) {
    try {
      await probeEndpoint(e, timeoutMs);
      const conn = await login(e, timeoutMs);
      // Errors after opening are reported by the operation that hits them.
      conn.on('error', () => undefined);
      return conn;
    } catch (err) {
      if (!(err instanceof ConnectFailure)) throw err;
      reasons.push(err.message);
    }
  }
  if (reasons.length === 1) throw new ConnectFailure(reasons[0] ?? 'no broker');
  throw new ConnectFailure(
    `none of the ${reasons.length} brokers could be used: ${reasons.join('; ')}`,
  );
}

/**
 * Check that the broker of a library transport can be used (probe and login), so that a
 * command fails at once with the reason rather than after retries or a timeout.
 */
export async function checkBroker(
  url: TransportURL,
  conf: Config,
  timeoutMs: number,
): Promise<void> {
  if (!isRabbit(url)) return;
  const conn = await openConnection(brokerOf(conf, url.toUnmaskedString(), 'check'), timeoutMs);
  await conn.close().catch(() => undefined);
}
