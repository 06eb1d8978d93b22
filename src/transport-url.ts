/**
 * Transport URLs: `driver://[user[:pass]@]host[:port][,...]/[virtual_host][?key=value&...]`,
 * parsed the way oslo.messaging's `TransportURL.parse` does (spec §1.1), so that the same
 * `transport_url` line in a `nova.conf` means the same broker, credentials and vhost here as
 * in a Python service.
 *
 * @module
 */
import { isIPv6 } from 'node:net';
import { inspect } from 'node:util';

import { InvalidTransportURL } from './errors.js';
import { defaultLogger, type Logger } from './log.js';
import { redactedView, SECRET_MASK } from './redact.js';

/** One broker address of a {@link TransportURL}, as written in the URL. */
export interface TransportHost {
  /** Host name or address; IPv6 literals without their brackets (`::1`). */
  readonly hostname: string;
  /** TCP port, when the URL gives one. */
  readonly port?: number;
  /** User name, percent-decoded, when the URL gives one. */
  readonly username?: string;
  /** Password, percent-decoded, when the URL gives one. */
  readonly password?: string;
}

/** A broker address with the rabbit driver's defaults applied (see {@link TransportURL.effectiveHosts}). */
export interface EffectiveHost {
  /** Host name or address (`localhost` when the URL has no hosts). */
  hostname: string;
  /** The URL's port, or 5672. */
  port: number;
  /** `undefined` when the URL gave none for this host: the driver then logs in as `guest`. */
  username: string | undefined;
  /** `undefined` when the URL gave none for this host: the driver then uses `guest`. */
  password: string | undefined;
}

/** The fields of a {@link TransportURL}, for building one without parsing. */
export interface TransportURLFields {
  /** Driver scheme without any `+suffix`, e.g. `rabbit`. */
  transport: string;
  /** What followed `+` in the scheme (`memory` in `kombu+memory`), if anything. */
  transportSuffix?: string | undefined;
  hosts?: readonly TransportHost[] | undefined;
  virtualHost?: string | undefined;
  query?: Readonly<Record<string, string>> | undefined;
}

/** Options of {@link TransportURL.parse}. */
export interface TransportURLParseOptions {
  /**
   * Where the warning about hosts with and without credentials goes (oslo logs the same one).
   * @default defaultLogger
   */
  logger?: Logger;
}

/** The port the rabbit driver uses when a host has none. */
export const DEFAULT_AMQP_PORT = 5672;

const PASSWORD_MASK = SECRET_MASK;
const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):/;
// Control characters are never valid in a URL; Python silently drops some of them, which
// would turn a pasted "pass\tword" into a different password.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder('utf-8');

/**
 * A parsed transport URL (oslo's `TransportURL`). Immutable.
 *
 * `toString()` masks passwords, so a URL can be logged safely; drivers that need the
 * credentials read {@link TransportURL.hosts} or call {@link TransportURL.toUnmaskedString}.
 */
export class TransportURL {
  /** The driver part of the scheme, before any `+` (`rabbit`, `kombu`, `fake`). */
  readonly transport: string;
  /** The part of the scheme after `+`, if any. oslo ignores it when it looks up the driver. */
  readonly transportSuffix: string | undefined;
  /** The broker addresses, in URL order (may be empty: `rabbit://`). */
  readonly hosts: readonly TransportHost[];
  /**
   * The virtual host: `undefined` when the URL has no path, `''` for `/`, `'/'` for `//` or
   * `/%2F`, otherwise the percent-decoded path without its leading `/`.
   */
  readonly virtualHost: string | undefined;
  /** The query; a key given several times has its values joined with `,` (as oslo does). */
  readonly query: Readonly<Record<string, string>>;

  constructor(fields: TransportURLFields) {
    this.transport = fields.transport;
    this.transportSuffix = fields.transportSuffix;
    // Passwords stay readable to drivers, but util.inspect and JSON.stringify of a host
    // (or of the URL) show `***`.
    this.hosts = Object.freeze(
      (fields.hosts ?? []).map((h) =>
        Object.freeze(
          redactedView({ ...h }, () =>
            h.password === undefined ? { ...h } : { ...h, password: PASSWORD_MASK },
          ),
        ),
      ),
    );
    this.virtualHost = fields.virtualHost;
    this.query = Object.freeze({ ...fields.query });
    Object.freeze(this);
  }

  /**
   * Parses a transport URL as oslo.messaging does.
   *
   * - The scheme names the driver; a `+suffix` is kept apart ({@link TransportURL.transportSuffix}).
   * - The host list is split on `,`; each host may carry `user:pass@`, split at the last
   *   `@` and then at the first `:`, both percent-decoded. IPv6 literals go in `[...]`.
   * - The path, minus its leading `/` and percent-decoded, is the virtual host.
   * - The query is parsed like Python's `parse_qs`: `+` is a space, keys without a value
   *   are dropped, repeated keys are joined with `,`.
   *
   * Stricter than oslo where oslo would accept garbage and fail later: a missing `//`, an
   * empty entry in the host list, an empty host name, a port outside 1..65535, text after
   * an IPv6 literal, a fragment (`#`) and control characters are all rejected.
   *
   * @throws InvalidTransportURL with the reason, and the URL with its passwords masked.
   */
  static parse(url: string, options: TransportURLParseOptions = {}): TransportURL {
    const fail = (reason: string): never => {
      throw new InvalidTransportURL(maskUrl(url), reason);
    };
    if (typeof url !== 'string') fail('Wrong URL type');
    const text = url.trim();
    if (CONTROL_RE.test(text)) fail('contains a control character');
    const scheme = SCHEME_RE.exec(text)?.[1];
    if (scheme === undefined) return fail('No scheme specified');
    if (!text.startsWith('//', scheme.length + 1)) {
      fail(`expected "//" after "${scheme}:" (a transport URL looks like rabbit://host/)`);
    }
    if (text.includes('#')) {
      fail('contains "#"; percent-encode it as %23 in user names and passwords');
    }
    // Python lower-cases the scheme (urlsplit), so RABBIT:// selects the rabbit driver.
    const [transport = '', ...suffix] = scheme.toLowerCase().split('+');
    const rest = text.slice(scheme.length + 3);

    const pathStart = rest.search(/[/?]/);
    const netloc = pathStart < 0 ? rest : rest.slice(0, pathStart);
    const afterNetloc = pathStart < 0 ? '' : rest.slice(pathStart);
    const queryStart = afterNetloc.indexOf('?');
    const path = queryStart < 0 ? afterNetloc : afterNetloc.slice(0, queryStart);
    const queryText = queryStart < 0 ? '' : afterNetloc.slice(queryStart + 1);

    let hosts: TransportHost[];
    try {
      hosts = netloc === '' ? [] : netloc.split(',').map(parseHost);
    } catch (err) {
      // An unencoded '/' or '?' in a password ends the host list early; the reason would
      // then quote part of the password, so give the likely cause instead.
      if (afterNetloc.includes('@')) {
        return fail(
          'cannot parse the host list; percent-encode "/", "?", "#" and "@" in user names and passwords',
        );
      }
      return fail((err as Error).message);
    }

    const withCredentials = hosts.filter(
      (h) => h.username !== undefined && h.password !== undefined,
    );
    if (withCredentials.length > 0 && withCredentials.length < hosts.length) {
      // oslo warns and does not copy credentials between hosts: the bare ones log in as guest.
      (options.logger ?? defaultLogger).warn(
        'All hosts must be set with username/password or not at the same time. ' +
          'Hosts with credentials are: %s. Hosts without credentials are %s.',
        withCredentials.map((h) => h.hostname).join(', '),
        hosts
          .filter((h) => !withCredentials.includes(h))
          .map((h) => h.hostname)
          .join(', '),
      );
    }

    return new TransportURL({
      transport,
      transportSuffix: suffix.length > 0 ? suffix.join('+') : undefined,
      hosts,
      virtualHost: path.startsWith('/') ? unquote(path.slice(1)) : undefined,
      query: parseQuery(queryText),
    });
  }

  /** The driver to load: the scheme before any `+` (oslo: `url.transport.split('+')[0]`). */
  get driverName(): string {
    return this.transport;
  }

  /** The whole scheme as written, including any `+suffix` (`kombu+memory`). */
  get scheme(): string {
    return this.transportSuffix === undefined
      ? this.transport
      : `${this.transport}+${this.transportSuffix}`;
  }

  /**
   * The hosts the rabbit driver connects to: no hosts means `guest:guest@localhost:5672`
   * (the default `transport_url` is `rabbit://`); a host without a port gets 5672. A host
   * without credentials keeps `undefined` ones (oslo does not copy them from other hosts;
   * the driver then logs in as guest/guest).
   */
  effectiveHosts(): EffectiveHost[] {
    if (this.hosts.length === 0) {
      return [
        { hostname: 'localhost', port: DEFAULT_AMQP_PORT, username: 'guest', password: 'guest' },
      ];
    }
    return this.hosts.map((h) => ({
      hostname: h.hostname,
      port: h.port ?? DEFAULT_AMQP_PORT,
      username: h.username,
      password: h.password,
    }));
  }

  /**
   * The AMQP virtual host to open: no path, `/` and `//` all mean vhost `/` (kombu maps
   * both `amqp://h/` and `amqp://h//` to `/`); any other name is used literally.
   */
  effectiveVirtualHost(): string {
    const vh = this.virtualHost;
    return vh === undefined || vh === '' ? '/' : vh;
  }

  /** True when both URLs name the same driver, hosts and virtual host (oslo's `__eq__`). */
  equals(other: TransportURL): boolean {
    return (
      this.scheme === other.scheme &&
      this.virtualHost === other.virtualHost &&
      this.hosts.length === other.hosts.length &&
      this.hosts.every((h, i) => {
        const o = other.hosts[i];
        return (
          o !== undefined &&
          h.hostname === o.hostname &&
          h.port === o.port &&
          h.username === o.username &&
          h.password === o.password
        );
      })
    );
  }

  /** The URL in oslo's format, with every password replaced by `***`. Safe to log. */
  toString(): string {
    return this.format(true);
  }

  /** The URL in oslo's format, passwords included. For drivers only; never log it. */
  toUnmaskedString(): string {
    return this.format(false);
  }

  /** `JSON.stringify` gives the masked form. */
  toJSON(): string {
    return this.format(true);
  }

  /** `util.inspect` (console.log, loggers) shows the masked form. */
  [inspect.custom](): string {
    return `TransportURL<${this.format(true)}>`;
  }

  private format(mask: boolean): string {
    // Mirrors oslo's TransportURL.__str__: credentials quoted with no safe characters, IPv6
    // in brackets, always a '/' after the hosts, the vhost quoted with '/' kept, and the
    // query urlencoded (so "1,2" becomes "1%2C2").
    const netlocs = this.hosts.map((h) => {
      let netloc = '';
      if (h.username !== undefined || h.password !== undefined) {
        if (h.username !== undefined) netloc += quote(h.username, false);
        if (h.password !== undefined)
          netloc += `:${mask ? PASSWORD_MASK : quote(h.password, false)}`;
        netloc += '@';
      }
      netloc += h.hostname.includes(':') ? `[${h.hostname}]` : h.hostname;
      if (h.port !== undefined) netloc += `:${h.port}`;
      return netloc;
    });
    let out = `${this.scheme}://${netlocs.join(',')}/`;
    if (this.virtualHost) out += quote(this.virtualHost, true);
    const query = Object.entries(this.query);
    if (query.length > 0) {
      out += '?' + query.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
    }
    return out;
  }
}

function parseHost(entry: string): TransportHost {
  if (entry === '') throw new Error('empty entry in the host list');
  let hostPort = entry;
  let username: string | undefined;
  let password: string | undefined;
  const at = entry.lastIndexOf('@');
  if (at >= 0) {
    const credentials = entry.slice(0, at);
    hostPort = entry.slice(at + 1);
    const colon = credentials.indexOf(':');
    username = unquote(colon < 0 ? credentials : credentials.slice(0, colon));
    if (colon >= 0) password = unquote(credentials.slice(colon + 1));
  }

  let hostname: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    if (end < 0) throw new Error(`unterminated "[" in host "${hostPort}"`);
    hostname = hostPort.slice(1, end);
    if (!isIPv6(hostname)) throw new Error(`"${hostname}" is not an IPv6 address`);
    const tail = hostPort.slice(end + 1);
    if (tail !== '' && !tail.startsWith(':')) {
      throw new Error(`unexpected "${tail}" after IPv6 address [${hostname}]`);
    }
    if (tail !== '') portText = tail.slice(1);
  } else {
    const colon = hostPort.indexOf(':');
    hostname = colon < 0 ? hostPort : hostPort.slice(0, colon);
    if (colon >= 0) portText = hostPort.slice(colon + 1);
    if (portText?.includes(':')) {
      throw new Error(`IPv6 address "${hostPort}" must be enclosed in [...]`);
    }
    if (/[[\]\s]/.test(hostname)) throw new Error(`invalid host name "${hostname}"`);
  }
  if (hostname === '') {
    throw new Error(hostPort === '' ? 'missing host name' : `missing host name in "${hostPort}"`);
  }

  const host: { hostname: string; port?: number; username?: string; password?: string } = {
    hostname,
  };
  // "host:" has an empty port, which oslo reads as no port.
  if (portText !== undefined && portText !== '') host.port = parsePort(portText);
  if (username !== undefined) host.username = username;
  if (password !== undefined) host.password = password;
  return host;
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new Error(`invalid port "${text}": must be an integer from 1 to 65535`);
  }
  return port;
}

/** Python's `parse_qs(query)` flattened the oslo way: repeated keys joined with `,`. */
function parseQuery(text: string): Record<string, string> {
  const values = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    // parse_qs drops pairs without '=' and pairs with an empty value.
    if (eq < 0 || eq === pair.length - 1) continue;
    const key = unquote(pair.slice(0, eq).replaceAll('+', ' '));
    const value = unquote(pair.slice(eq + 1).replaceAll('+', ' '));
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  const query: Record<string, string> = {};
  for (const [key, list] of values) query[key] = list.join(',');
  return query;
}

/**
 * Python's `urllib.parse.unquote`: decodes runs of `%XX` as UTF-8 (invalid bytes become
 * U+FFFD) and leaves malformed escapes such as `%zz` as they are.
 */
function unquote(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    utf8.decode(Uint8Array.from(run.slice(1).split('%'), (hex) => parseInt(hex, 16))),
  );
}

/** Python's `urllib.parse.quote`: only letters, digits and `_.-~` (and `/` if kept) stay bare. */
function quote(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replaceAll('%2F', '/') : encoded;
}

function quotePlus(text: string): string {
  return quote(text, false).replaceAll('%20', '+');
}

/**
 * The URL with anything that may be a password replaced by `***`, for error messages about
 * URLs that did not parse. Errs on the side of masking: everything between a `:` and the
 * last `@` of a credentials segment goes.
 */
function maskUrl(url: unknown): string {
  if (typeof url !== 'string') return String(url);
  const sep = url.indexOf('://');
  const start = sep < 0 ? 0 : sep + 3;
  const lastAt = url.lastIndexOf('@');
  if (lastAt < start) return url;
  const head = url
    .slice(start, lastAt + 1)
    .split(',')
    .map((segment) => {
      const colon = segment.indexOf(':');
      if (colon < 0) return segment;
      const at = segment.lastIndexOf('@');
      return at < colon
        ? `${segment.slice(0, colon + 1)}${PASSWORD_MASK}`
        : `${segment.slice(0, colon + 1)}${PASSWORD_MASK}${segment.slice(at)}`;
    })
    .join(',');
  return url.slice(0, start) + head + url.slice(lastAt + 1);
}
