/**
 * Why a broker cannot be used, in one line that names what to check. A raw socket probe
 * tells a refused or unanswered TCP connection, a TLS failure and a port that does not
 * speak AMQP 0-9-1 apart; what the broker answers to the login tells bad credentials from
 * a virtual host that is missing or forbidden.
 *
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

import { ConnectFailure } from '../errors.js';

/** One broker address, with what logging in needs. */
export interface BrokerEndpoint {
  readonly hostname: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly vhost: string;
  readonly loginMethod: 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';
  /** TLS options, or `undefined` for plain TCP. */
  readonly tls: ConnectionOptions | undefined;
}

/** The header a client sends first: AMQP 0-9-1. */
const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** `host:port`, with IPv6 literals in brackets. */
export function address(e: { hostname: string; port: number }): string {
  return e.hostname.includes(':') ? `[${e.hostname}]:${e.port}` : `${e.hostname}:${e.port}`;
}

function socketError(e: BrokerEndpoint, err: NodeJS.ErrnoException, timeoutMs: number): string {
  const where = address(e);
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}: is RabbitMQ running there, and is the port right (5672, or 5671 with ssl)?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host name '${e.hostname}': check the host in the transport URL`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${where}: check the host in the transport URL and the network`;
    case 'ETIMEDOUT':
      return `no answer from ${where} within ${timeoutMs} ms: check the host, the port and any firewall`;
    default:
      return `cannot connect to ${where}: ${err.message}`;
  }
}

function tlsError(e: BrokerEndpoint, err: NodeJS.ErrnoException): string {
  const where = address(e);
  const text = `${err.code ?? ''} ${err.message}`;
  if (
    /WRONG_VERSION_NUMBER|wrong version number|packet length too long|unknown protocol/i.test(text)
  ) {
    return `TLS handshake with ${where} failed: the port does not speak TLS: turn ssl off, or use the broker's TLS port (usually 5671)`;
  }
  if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS handshake with ${where} failed: the broker's certificate does not name '${e.hostname}': connect by the name in the certificate, or turn off ssl_enforce_hostname_verification`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(err.code ?? '')) {
    return `TLS handshake with ${where} failed: the broker's certificate was not accepted (${err.message}): check ssl_ca_file`;
  }
  if (err.code === 'ECONNRESET' || /alert|handshake/i.test(err.message)) {
    return `TLS handshake with ${where} failed (${err.message}): check ssl_version, ssl_cert_file and ssl_key_file, and that the port is a TLS port`;
  }
  return `TLS handshake with ${where} failed: ${err.message}: check the ssl_* options`;
}

function answerError(e: BrokerEndpoint, first: Buffer): string | undefined {
  const where = address(e);
  if (first[0] === 1) return undefined; // a method frame: Connection.Start
  const head = first.subarray(0, 8).toString('latin1');
  if (head.startsWith('AMQP')) {
    const version = [...first.subarray(4, 8)].join('.');
    return `${where} speaks another AMQP version (${version}), not AMQP 0-9-1: is it a RabbitMQ AMQP port?`;
  }
  if (head.startsWith('HTTP/')) {
    return `${where} answered in HTTP, not AMQP: that looks like the management or another web port; RabbitMQ's AMQP port is 5672`;
  }
  if (first[0] === 0x15 || first[0] === 0x16) {
    return `${where} answered in TLS: set ssl = true in [oslo_messaging_rabbit] (or ?ssl=true in the URL), or use the plain AMQP port (usually 5672)`;
  }
  return `${where} answered, but not in AMQP 0-9-1: is it a RabbitMQ AMQP port (5672, or 5671 with ssl)?`;
}

/**
 * Open a socket to the endpoint, send the AMQP header and check the first bytes that come
 * back. Resolves when the broker starts the AMQP handshake.
 *
 * @throws ConnectFailure with the reason and what to check.
 */
export function probeEndpoint(e: BrokerEndpoint, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const where = address(e);
    let stage: 'tcp' | 'tls' | 'amqp' = 'tcp';
    let settled = false;
    const tcp: Socket = netConnect({ host: e.hostname, port: e.port });
    let sock: Socket = tcp;
    const finish = (reason: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      tcp.destroy();
      if (reason === undefined) resolve();
      else reject(new ConnectFailure(reason));
    };
    const timer = setTimeout(() => {
      finish(
        stage === 'tcp'
          ? `no answer from ${where} within ${timeoutMs} ms: check the host, the port and any firewall`
          : stage === 'tls'
            ? `${where} accepted the TCP connection but did not complete a TLS handshake within ${timeoutMs} ms: is it a TLS port?`
            : `${where} accepted the TCP connection but did not speak AMQP within ${timeoutMs} ms: is it a RabbitMQ AMQP port (5672, or 5671 with ssl), and is the broker healthy?`,
      );
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void =>
      finish(stage === 'tls' ? tlsError(e, err) : socketError(e, err, timeoutMs));
    const speak = (): void => {
      stage = 'amqp';
      sock.write(PROTOCOL_HEADER);
    };
    const listen = (s: Socket): void => {
      s.once('data', (chunk: Buffer) => finish(answerError(e, chunk)));
      s.once('end', () =>
        finish(
          stage === 'tls'
            ? `TLS handshake with ${where} failed: the connection was closed: check that the port is a TLS port`
            : `${where} closed the connection without speaking AMQP: if it is a TLS port (5671), set ssl = true`,
        ),
      );
    };
    tcp.on('error', onError);
    tcp.once('connect', () => {
      if (e.tls === undefined) {
        listen(tcp);
        speak();
        return;
      }
      stage = 'tls';
      const secure = tlsConnect({ ...e.tls, socket: tcp, servername: sniName(e.hostname) });
      sock = secure;
      secure.on('error', onError);
      listen(secure);
      secure.once('secureConnect', speak);
    });
  });
}

/** SNI takes host names only, never IP addresses. */
function sniName(hostname: string): string | undefined {
  return /^[\d.]+$/.test(hostname) || hostname.includes(':') ? undefined : hostname;
}

/**
 * What the broker's refusal of the login or of the virtual host means, given amqplib's
 * error; `undefined` for anything else.
 */
export function loginError(e: BrokerEndpoint, err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const where = address(e);
  if (/ACCESS.REFUSED|\b403\b/.test(message)) {
    const who = e.loginMethod === 'EXTERNAL' ? 'the client certificate' : `user '${e.username}'`;
    return `the broker at ${where} refused the login of ${who} (${e.loginMethod}): check the user name and password in the transport URL`;
  }
  if (/ConnectionOpenOk; got <ConnectionClose|NOT.ALLOWED|\b530\b/.test(message)) {
    return `the broker at ${where} refused virtual host '${e.vhost}' to user '${e.username}': it does not exist or the user has no permission on it; check the path of the transport URL (/ is %2F or empty)`;
  }
  return undefined;
}
