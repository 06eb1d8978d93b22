/**
 * The rabbit driver's settings, resolved once per transport from the configuration and
 * the transport URL (whose query overrides `[oslo_messaging_rabbit]`). oslo's options are
 * in seconds; everything here is in milliseconds.
 *
 * @module
 */
import type { Config } from '../../config/config.js';
import { reportConfigNotices } from '../../config/notices.js';
import { ConfigurationError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { TransportURL } from '../../transport-url.js';
import { compressionFor, type Compression } from './compression.js';
import type { ConnectionOptions, RabbitHost, RabbitSslOptions } from './connection.js';
import { RABBIT_GROUP, type RabbitOptions } from './options-table.js';
import { validateTopologyFlags, type TopologyFlags } from './topology.js';
import { queueManagerUnique, randomQueueUnique, type QueueUniqueSource } from './queue-manager.js';

/**
 * The largest body (after decompression) a listener accepts. Larger messages are logged
 * and rejected without requeue. oslo sets no limit of its own (RabbitMQ 3.10 refuses
 * bodies over 128 MiB, `max_message_size`); 32 MiB is far above any real RPC or
 * notification and keeps one message, or a compressed "bomb", from exhausting memory.
 */
export const MAX_INCOMING_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Everything the rabbit driver reads from configuration. */
export interface RabbitDriverSettings {
  /** `[DEFAULT] control_exchange`: the exchange of targets without one. */
  readonly controlExchange: string;
  /** `[DEFAULT] rpc_response_timeout` in ms: bounds reply-queue setup and reply retries. */
  readonly rpcResponseTimeoutMs: number;
  /** Declaration flags and arguments. */
  readonly topology: TopologyFlags;
  /**
   * The unique part of new reply and fanout queue names: a random uuid, or the queue
   * manager's `<hostname>:<processname>:<counter>` under `use_queue_manager`.
   */
  readonly queueUnique: QueueUniqueSource;
  /**
   * Whether a server deletes its fanout queue when it stops: only when the name is random
   * (a stream is shared, and a queue manager's name is meant to be found again; both
   * expire by policy instead, as in HEAD).
   */
  readonly deleteFanoutQueues: boolean;
  /** `rabbit_qos_prefetch_count` (0: no `basic.qos` in oslo). */
  readonly prefetchCount: number;
  /** `direct_mandatory_flag`: replies are published mandatory. */
  readonly directMandatory: boolean;
  /** `kombu_compression`, or `undefined` to send bodies plain. */
  readonly compression: Compression | undefined;
  /** `kombu_missing_consumer_retry_timeout` in ms: how long a reply to a missing queue is retried. */
  readonly missingConsumerRetryTimeoutMs: number;
  /** See {@link MAX_INCOMING_MESSAGE_BYTES}. */
  readonly maxMessageBytes: number;
  /** Connection options shared by every connection of the transport (role and prefetch aside). */
  readonly connection: Omit<
    ConnectionOptions,
    'role' | 'prefetch' | 'onReconnect' | 'connectionName'
  >;
}

const seconds = (value: number): number => Math.round(value * 1000);

/**
 * Resolve the driver's settings.
 *
 * @throws ConfigurationError for a bad option or URL query key, an unsupported login
 *   method or compression, or quorum together with HA queues
 */
export function resolveRabbitSettings(
  url: TransportURL,
  conf: Config,
  logger: Logger,
): RabbitDriverSettings {
  reportConfigNotices(conf, logger);
  const opts = checkRules(conf.group<RabbitOptions>(RABBIT_GROUP, url.query));
  const defaults = conf.defaults();
  const topology = topologyFlags(opts);
  validateTopologyFlags(topology);
  return {
    controlExchange: defaults.control_exchange,
    rpcResponseTimeoutMs: seconds(defaults.rpc_response_timeout),
    topology,
    queueUnique: opts.use_queue_manager
      ? queueManagerUnique(opts.hostname, opts.processname)
      : randomQueueUnique,
    deleteFanoutQueues: !opts.use_queue_manager && !opts.rabbit_stream_fanout,
    prefetchCount: opts.rabbit_qos_prefetch_count,
    directMandatory: opts.direct_mandatory_flag,
    compression: compressionFor(opts.kombu_compression),
    missingConsumerRetryTimeoutMs: seconds(opts.kombu_missing_consumer_retry_timeout),
    maxMessageBytes: MAX_INCOMING_MESSAGE_BYTES,
    connection: {
      hosts: url.effectiveHosts().map((h): RabbitHost => {
        const host: { hostname: string; port: number; username?: string; password?: string } = {
          hostname: h.hostname,
          port: h.port,
        };
        if (h.username !== undefined) host.username = h.username;
        if (h.password !== undefined) host.password = h.password;
        return host;
      }),
      vhost: url.effectiveVirtualHost(),
      loginMethod: loginMethod(opts),
      heartbeatSeconds: opts.heartbeat_timeout_threshold,
      failoverStrategy: opts.kombu_failover_strategy,
      retryIntervalMs: seconds(opts.rabbit_retry_interval),
      retryBackoffMs: seconds(opts.rabbit_retry_backoff),
      intervalMaxMs: seconds(opts.rabbit_interval_max),
      reconnectDelayMs: seconds(opts.kombu_reconnect_delay),
      reconnectSplayMs: seconds(opts.kombu_reconnect_splay),
      ssl: sslOptions(opts),
      logger,
    },
  };
}

/** Rules across options, checked when the transport is made (oslo fails the driver there). */
function checkRules(opts: RabbitOptions): RabbitOptions {
  if (opts.rabbit_quorum_queue && opts.rabbit_ha_queues) {
    throw new ConfigurationError(
      `Invalid [${RABBIT_GROUP}] options: rabbit_quorum_queue and rabbit_ha_queues are both ` +
        'enabled; a queue is either quorum or mirrored (HA), not both',
      { option: `${RABBIT_GROUP}.rabbit_quorum_queue` },
    );
  }
  if (opts.rabbit_stream_fanout && opts.rabbit_qos_prefetch_count <= 0) {
    // RabbitMQ refuses to consume a stream without a prefetch; oslo refuses it up front.
    throw new ConfigurationError(
      `Invalid [${RABBIT_GROUP}] options: rabbit_stream_fanout needs rabbit_qos_prefetch_count ` +
        'set above 0 (RabbitMQ consumes streams only with a prefetch), for example 1',
      { option: `${RABBIT_GROUP}.rabbit_stream_fanout`, value: true },
    );
  }
  if (opts.use_queue_manager && (opts.hostname === '' || opts.processname === '')) {
    throw new ConfigurationError(
      `Invalid [${RABBIT_GROUP}] options: use_queue_manager needs a hostname and a processname ` +
        '(they name the queues); set both',
      { option: `${RABBIT_GROUP}.use_queue_manager`, value: true },
    );
  }
  if (opts.rpc_conn_pool_size < opts.conn_pool_min_size) {
    throw new ConfigurationError(
      `Invalid [${RABBIT_GROUP}] options: rpc_conn_pool_size (${opts.rpc_conn_pool_size}) must ` +
        `be greater than or equal to conn_pool_min_size (${opts.conn_pool_min_size})`,
      { option: `${RABBIT_GROUP}.rpc_conn_pool_size` },
    );
  }
  return opts;
}

/** The declaration flags from the `[oslo_messaging_rabbit]` options. */
export function topologyFlags(opts: RabbitOptions): TopologyFlags {
  return {
    // Quorum queues are always durable, and oslo declares everything that shares the
    // exchange with them durable too.
    durable: opts.amqp_durable_queues || opts.rabbit_quorum_queue,
    autoDelete: opts.amqp_auto_delete,
    haQueues: opts.rabbit_ha_queues,
    quorum: opts.rabbit_quorum_queue,
    quorumDeliveryLimit: opts.rabbit_quorum_delivery_limit,
    quorumMaxMemoryLength: opts.rabbit_quroum_max_memory_length,
    quorumMaxMemoryBytes: opts.rabbit_quroum_max_memory_bytes,
    transientQueuesTtlSeconds: opts.rabbit_transient_queues_ttl,
    cancelOnFailover: opts.enable_cancel_on_failover,
    transientQuorum: opts.rabbit_transient_quorum_queue,
    streamFanout: opts.rabbit_stream_fanout,
  };
}

function loginMethod(opts: RabbitOptions): 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL' {
  const method = opts.rabbit_login_method;
  if (method === 'PLAIN' || method === 'AMQPLAIN' || method === 'EXTERNAL') return method;
  throw new ConfigurationError(
    `rabbit_login_method=${method} is not supported: use AMQPLAIN, PLAIN or EXTERNAL`,
    { option: 'oslo_messaging_rabbit.rabbit_login_method', value: method },
  );
}

function sslOptions(opts: RabbitOptions): RabbitSslOptions | undefined {
  if (!opts.ssl) return undefined;
  const nonEmpty = (value: string): string | undefined => (value === '' ? undefined : value);
  return {
    enabled: true,
    caFile: nonEmpty(opts.ssl_ca_file),
    certFile: nonEmpty(opts.ssl_cert_file),
    keyFile: nonEmpty(opts.ssl_key_file),
    version: nonEmpty(opts.ssl_version),
    verifyHostname: opts.ssl_enforce_hostname_verification,
  };
}

/**
 * The `basic.qos` prefetch of a consuming connection. oslo sends `basic.qos` only when
 * `rabbit_qos_prefetch_count` > 0 and otherwise lets the broker push the whole backlog
 * into an unbounded work queue. We deviate on purpose: with no prefetch configured, a
 * listener's prefetch is its server's `maxUnsettled`, so a process never buffers more
 * than its executor can work off. A configured prefetch is used as is (the server's
 * bound still applies through it when smaller).
 */
export function listenerPrefetch(settings: RabbitDriverSettings, maxUnsettled: number): number {
  if (settings.prefetchCount > 0)
    return Math.min(settings.prefetchCount, Math.max(1, maxUnsettled));
  return Math.max(1, Math.floor(maxUnsettled));
}
