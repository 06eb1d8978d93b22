/**
 * The public types of `connection.ts` (options, events, publish and delivery shapes) and
 * the resolution of options to their defaults.
 *
 * @module
 */
import { ConfigurationError } from '../../errors.js';
import { defaultLogger, type Logger } from '../../log.js';
import type { ConnectionEvent } from '../driver.js';
import type { FailoverStrategy, RabbitHost } from './connection-failover.js';
import type { AbortLike } from './connection-wait.js';
import {
  defaultConnectionName,
  type LoginMethod,
  type RabbitSslOptions,
} from './connection-open.js';

/** `basic.consume` arguments, fixed or computed at each (re)start of the consumer. */
export type ConsumerArguments =
  Readonly<Record<string, unknown>> | (() => Readonly<Record<string, unknown>>);

/**
 * The declarations of a {@link RabbitConnection}, as its `onReconnect` gets them: run on
 * the channel being set up (the connection serves nothing else until `onReconnect`
 * returns), or fail with `MessageDeliveryFailure` if that channel closes meanwhile. A
 * `RabbitConnection` is one too, running them on its ready channel.
 */
export interface Declarer {
  readonly connectionName: string;
  readonly logger: Logger;
  declareExchange(
    name: string,
    type: string,
    flags: { readonly durable: boolean; readonly autoDelete: boolean },
    options?: OperationOptions,
  ): Promise<void>;
  declareQueue(
    name: string,
    flags: {
      readonly durable: boolean;
      readonly autoDelete: boolean;
      readonly exclusive?: boolean | undefined;
      readonly arguments?: Readonly<Record<string, unknown>> | undefined;
    },
    options?: OperationOptions,
  ): Promise<void>;
  bindQueue(
    queue: string,
    exchange: string,
    routingKey: string,
    options?: OperationOptions,
  ): Promise<void>;
}

/** Options of a {@link RabbitConnection}. Durations are in milliseconds. */
export interface ConnectionOptions {
  /** Brokers to use, tried in turn (see `failoverStrategy`). At least one. */
  readonly hosts: readonly RabbitHost[];
  /** `publish`: a confirm channel, every publish waits for the broker's ack. `consume`: a plain channel. */
  readonly role: 'publish' | 'consume';
  /** Virtual host. @default '/' */
  readonly vhost?: string | undefined;
  /** SASL mechanism (`rabbit_login_method`). @default 'AMQPLAIN' */
  readonly loginMethod?: LoginMethod | undefined;
  /** AMQP heartbeat in seconds (`heartbeat_timeout_threshold`); 0 disables it. @default 60 */
  readonly heartbeatSeconds?: number | undefined;
  /** `kombu_failover_strategy`. @default 'round-robin' */
  readonly failoverStrategy?: FailoverStrategy | undefined;
  /**
   * Shuffle the host list once, when there are two or more hosts, as oslo does to spread
   * clients over a cluster. Tests turn it off for a known order. @default true
   */
  readonly randomizeHostOrder?: boolean | undefined;
  /** First pause after a failed attempt (`rabbit_retry_interval`). @default 1000 */
  readonly retryIntervalMs?: number | undefined;
  /** Added to the pause after each further failed attempt (`rabbit_retry_backoff`). @default 2000 */
  readonly retryBackoffMs?: number | undefined;
  /** Longest pause between attempts (`rabbit_interval_max`). @default 30000 */
  readonly intervalMaxMs?: number | undefined;
  /** Pause before the first reconnect after a lost connection (`kombu_reconnect_delay`). @default 1000 */
  readonly reconnectDelayMs?: number | undefined;
  /**
   * Up to this long, at random, added to `reconnectDelayMs` (`kombu_reconnect_splay`), so
   * that many clients losing one broker do not all come back at once. @default 0
   */
  readonly reconnectSplayMs?: number | undefined;
  /** TLS (amqps). @default undefined (plain TCP) */
  readonly ssl?: RabbitSslOptions | undefined;
  /** Client property `connection_name`. @default `<script>:<pid>:<uuid>` */
  readonly connectionName?: string | undefined;
  /** AMQP frame_max asked for in tune-ok. @default 131072 */
  readonly frameMax?: number | undefined;
  /** `basic.qos(0, prefetch, global=false)` on each channel when > 0 (`rabbit_qos_prefetch_count`). @default 0 */
  readonly prefetch?: number | undefined;
  /** TCP connect plus AMQP handshake time limit of one attempt. @default 10000 */
  readonly connectTimeoutMs?: number | undefined;
  /** How long `close()` waits for the broker's close-ok before dropping the socket. @default 5000 */
  readonly closeTimeoutMs?: number | undefined;
  /** @default defaultLogger */
  readonly logger?: Logger | undefined;
  /**
   * Re-declares the topology after a reconnect (also after a channel error or a
   * broker-initiated `basic.cancel`), before consumers resume and before waiting
   * operations proceed. It gets the connection's declarations, run on the new channel
   * ({@link Declarer}); consumers survive reconnects by themselves. If it rejects, the
   * attempt counts as failed and is retried after the back-off. Setting it also makes the
   * connection reconnect eagerly, in the background.
   */
  readonly onReconnect?: ((connection: Declarer) => Promise<void>) | undefined;
  /**
   * Told every event of the connection, in the driver contract's terms (the transport's
   * `status` is made of these). Must not throw.
   */
  readonly onStateEvent?: ((event: ConnectionEvent) => void) | undefined;
}

/** Where a connection is. */
export type ConnectionStatus =
  | 'idle' // never connected, nothing asked for it
  | 'connecting' // first attempts
  | 'connected'
  | 'reconnecting' // lost, attempts (or the pause before them) under way
  | 'disconnected' // lost, and nothing needs it: the next operation reconnects
  | 'closing'
  | 'closed';

/** A broker address without credentials, for events and logs. */
export interface RabbitEndpoint {
  readonly hostname: string;
  readonly port: number;
}

/** Events of a {@link RabbitConnection}. No `error` event: failures reach the operations. */
export type RabbitConnectionEvents = {
  /** The first connection is up. */
  connected: [endpoint: RabbitEndpoint];
  /** Up again after a loss, `onReconnect` done and consumers resumed. */
  reconnected: [endpoint: RabbitEndpoint];
  /** The connection or channel was lost; recovery follows. */
  disconnected: [error: Error];
  /** An attempt failed; the next one follows after `retryInMs` (on the next host). */
  'connect-failed': [error: Error, endpoint: RabbitEndpoint, retryInMs: number];
  /** The broker blocked publishing (resource alarm). Publishes wait for confirms meanwhile. */
  blocked: [reason: string];
  unblocked: [];
  closed: [];
};

/** Properties of a publish. `content_type`, `content_encoding`, `delivery_mode` 2 and `priority` 0 are always set. */
export interface PublishProperties {
  /** Per-message TTL, a decimal string of milliseconds (RPC calls only). */
  readonly expiration?: string | undefined;
  /** Application headers; always sent, even when empty (`{}`), as oslo does. */
  readonly headers: Readonly<Record<string, unknown>>;
  /** Ask the broker to return the message if no queue takes it. */
  readonly mandatory: boolean;
}

/** Bounds of an operation that may wait for the connection. */
export interface OperationOptions {
  /** Connection retries: `undefined` or -1 forever, 0 none, N at most N (oslo's `retry`). */
  readonly retry?: number | undefined;
  /** Aborting rejects with the signal's reason. */
  readonly signal?: AbortLike | undefined;
  /** Rejects with `MessagingTimeout` after this long. */
  readonly timeoutMs?: number | undefined;
}

/** Options of {@link RabbitConnection.publish}. */
export interface PublishOptions extends OperationOptions {
  /**
   * When the channel dies after the message was written but before its confirm came,
   * publish it again on the next channel (uses one retry). Off: reject with
   * `PublishConfirmLost` and let the caller decide. @default false
   */
  readonly republishUnconfirmed?: boolean | undefined;
}

/** Options of {@link RabbitConnection.consume}. */
export interface ConsumeOptions extends OperationOptions {
  /**
   * `basic.consume` arguments (e.g. `x-cancel-on-ha-failover`), or a function giving them
   * each time the consumer is (re)started, such as a stream's `x-stream-offset`. @default {}
   */
  readonly arguments?: ConsumerArguments | undefined;
}

/** The AMQP properties of a delivered message; `undefined` where not set. */
export interface DeliveryProperties {
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly headers: Readonly<Record<string, unknown>> | undefined;
  readonly deliveryMode: number | undefined;
  readonly priority: number | undefined;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  readonly expiration: string | undefined;
  readonly messageId: string | undefined;
  readonly timestamp: number | undefined;
  readonly type: string | undefined;
  readonly userId: string | undefined;
  readonly appId: string | undefined;
}

/** A delivered message. Settle it with `ack` or `reject` on the connection. */
export interface Delivery {
  readonly body: Buffer;
  readonly fields: {
    readonly deliveryTag: number;
    readonly redelivered: boolean;
    readonly exchange: string;
    readonly routingKey: string;
    readonly consumerTag: string;
  };
  readonly properties: DeliveryProperties;
}

/** Called for each delivery, in order. A throw or rejection is logged; the message stays unsettled. */
export type DeliveryHandler = (message: Delivery) => void | Promise<void>;

/** A consumer; it survives reconnects until cancelled. */
export interface RabbitConsumer {
  readonly queue: string;
  /** The current consumer tag (`"1"`, `"2"`, ... per connection, fresh after a reconnect); undefined while down. */
  readonly consumerTag: string | undefined;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly role: 'publish' | 'consume';
  readonly vhost: string;
  readonly loginMethod: LoginMethod;
  readonly heartbeatSeconds: number;
  readonly failoverStrategy: FailoverStrategy;
  readonly randomizeHostOrder: boolean;
  readonly retryIntervalMs: number;
  readonly retryBackoffMs: number;
  readonly intervalMaxMs: number;
  readonly reconnectDelayMs: number;
  readonly reconnectSplayMs: number;
  readonly ssl: RabbitSslOptions | undefined;
  readonly connectionName: string;
  readonly frameMax: number | undefined;
  readonly prefetch: number;
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
  readonly onReconnect: ((connection: Declarer) => Promise<void>) | undefined;
  readonly onStateEvent: ((event: ConnectionEvent) => void) | undefined;
}

/** Applies the defaults; throws `ConfigurationError` naming a bad option and its value. */
export function resolveOptions(o: ConnectionOptions): ResolvedOptions {
  const bad = (option: string, value: unknown, rule: string): ConfigurationError =>
    new ConfigurationError(`${option} ${rule}, got ${String(value)}`, { option, value });
  if (o.hosts.length === 0) throw bad('hosts', '[]', 'must list at least one host');
  for (const h of o.hosts) {
    if (!Number.isInteger(h.port) || h.port < 1 || h.port > 65535) {
      throw bad('port', h.port, 'must be an integer from 1 to 65535');
    }
  }
  const r: ResolvedOptions = {
    role: o.role,
    vhost: o.vhost ?? '/',
    loginMethod: o.loginMethod ?? 'AMQPLAIN',
    heartbeatSeconds: o.heartbeatSeconds ?? 60,
    failoverStrategy: o.failoverStrategy ?? 'round-robin',
    randomizeHostOrder: o.randomizeHostOrder ?? true,
    retryIntervalMs: o.retryIntervalMs ?? 1000,
    retryBackoffMs: o.retryBackoffMs ?? 2000,
    intervalMaxMs: o.intervalMaxMs ?? 30000,
    reconnectDelayMs: o.reconnectDelayMs ?? 1000,
    reconnectSplayMs: o.reconnectSplayMs ?? 0,
    ssl: o.ssl,
    connectionName: o.connectionName ?? defaultConnectionName(),
    frameMax: o.frameMax,
    prefetch: o.prefetch ?? 0,
    connectTimeoutMs: o.connectTimeoutMs ?? 10000,
    closeTimeoutMs: o.closeTimeoutMs ?? 5000,
    logger: o.logger ?? defaultLogger,
    onReconnect: o.onReconnect,
    onStateEvent: o.onStateEvent,
  };
  if (r.role !== 'publish' && r.role !== 'consume')
    throw bad('role', r.role, 'must be publish or consume');
  if (!['PLAIN', 'AMQPLAIN', 'EXTERNAL'].includes(r.loginMethod)) {
    throw bad('loginMethod', r.loginMethod, 'must be PLAIN, AMQPLAIN or EXTERNAL');
  }
  if (r.failoverStrategy !== 'round-robin' && r.failoverStrategy !== 'shuffle') {
    throw bad('failoverStrategy', r.failoverStrategy, 'must be round-robin or shuffle');
  }
  for (const key of [
    'heartbeatSeconds',
    'retryIntervalMs',
    'retryBackoffMs',
    'intervalMaxMs',
    'reconnectDelayMs',
    'reconnectSplayMs',
    'prefetch',
    'connectTimeoutMs',
    'closeTimeoutMs',
  ] as const) {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw bad(key, v, 'must be a number >= 0');
  }
  return r;
}

/** A connection event in the driver contract's terms (see `ConnectionEvent`). */
export function toStateEvent<K extends keyof RabbitConnectionEvents>(
  connection: string,
  event: K,
  args: RabbitConnectionEvents[K],
): ConnectionEvent | undefined {
  switch (event) {
    case 'connected':
    case 'reconnected': {
      const [endpoint] = args as RabbitConnectionEvents['connected'];
      return { type: 'connected', connection, host: `${endpoint.hostname}:${endpoint.port}` };
    }
    case 'disconnected': {
      const [reason] = args as RabbitConnectionEvents['disconnected'];
      return { type: 'disconnected', connection, reason };
    }
    case 'connect-failed': {
      const [reason, , retryInMs] = args as RabbitConnectionEvents['connect-failed'];
      return { type: 'reconnecting', connection, reason, retryInMs };
    }
    case 'blocked': {
      const [reason] = args as RabbitConnectionEvents['blocked'];
      return { type: 'blocked', connection, reason };
    }
    case 'unblocked':
      return { type: 'unblocked', connection };
    case 'closed':
      return { type: 'closed', connection };
    default:
      return undefined;
  }
}
