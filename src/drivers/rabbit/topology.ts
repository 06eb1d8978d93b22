/**
 * RabbitMQ topology as oslo.messaging declares it (spec §4.1, §5.3, §7): exchange,
 * queue and binding descriptions with every flag and argument a Python service
 * would use, so that our declares never clash with theirs (a mismatch is a
 * `406 PRECONDITION_FAILED` that closes the channel).
 *
 * Pure functions: no I/O. The driver hands these descriptions to the connection.
 *
 * @module
 */
import { ConfigurationError } from '../../errors.js';
import { fanoutExchangeName, fanoutQueueName } from '../common/addresses.js';

/** The options that change declarations (from `[oslo_messaging_rabbit]`). */
export interface TopologyFlags {
  /** `amqp_durable_queues`, forced on by `rabbit_quorum_queue`. */
  readonly durable: boolean;
  /** `amqp_auto_delete`. */
  readonly autoDelete: boolean;
  /** `rabbit_ha_queues`: `x-ha-policy: all` on every queue. */
  readonly haQueues: boolean;
  /** `rabbit_quorum_queue`: topic, server and notification queues become quorum queues. */
  readonly quorum: boolean;
  /** `rabbit_quorum_delivery_limit` (0: unset). */
  readonly quorumDeliveryLimit: number;
  /** `rabbit_quroum_max_memory_length` (0: unset). */
  readonly quorumMaxMemoryLength: number;
  /** `rabbit_quroum_max_memory_bytes` (0: unset). */
  readonly quorumMaxMemoryBytes: number;
  /** `rabbit_transient_queues_ttl` in seconds: `x-expires` of reply and fanout queues. */
  readonly transientQueuesTtlSeconds: number;
  /** `enable_cancel_on_failover`: consumer argument `x-cancel-on-ha-failover`. */
  readonly cancelOnFailover: boolean;
  /**
   * `rabbit_transient_quorum_queue` (HEAD): reply and fanout queues are durable quorum
   * queues, and fanout exchanges durable.
   */
  readonly transientQuorum: boolean;
  /**
   * `rabbit_stream_fanout` (HEAD): one durable stream `<topic>_fanout` per topic instead of
   * a fanout queue per server, consumed from an offset.
   */
  readonly streamFanout: boolean;
}

/** The defaults of oslo.messaging 14.0.3. */
export const DEFAULT_TOPOLOGY_FLAGS: TopologyFlags = Object.freeze({
  durable: false,
  autoDelete: false,
  haQueues: false,
  quorum: false,
  quorumDeliveryLimit: 0,
  quorumMaxMemoryLength: 0,
  quorumMaxMemoryBytes: 0,
  transientQueuesTtlSeconds: 1800,
  cancelOnFailover: false,
  transientQuorum: false,
  streamFanout: false,
});

/** An `exchange.declare`. */
export interface ExchangeSpec {
  readonly name: string;
  readonly type: 'topic' | 'fanout';
  readonly durable: boolean;
  readonly autoDelete: boolean;
}

/** A `queue.declare`. */
export interface QueueSpec {
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  /** Only our private tap queues; oslo declares no exclusive queue. */
  readonly exclusive?: boolean | undefined;
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** A `queue.bind`. */
export interface BindingSpec {
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
}

/**
 * What one oslo `Consumer` declares, in order: its exchange, its queue, the binding
 * (absent for reply queues, which the default exchange routes by name).
 */
export interface ConsumerSpec {
  readonly exchange: ExchangeSpec | undefined;
  readonly queue: QueueSpec;
  readonly binding: BindingSpec | undefined;
}

/** Checks the combinations oslo refuses. */
export function validateTopologyFlags(flags: TopologyFlags): void {
  if (flags.quorum && flags.haQueues) {
    throw new ConfigurationError(
      'rabbit_quorum_queue and rabbit_ha_queues both enabled, queue type is quorum or HA (mirrored) not both',
      { option: 'oslo_messaging_rabbit.rabbit_quorum_queue', value: true },
    );
  }
  if (flags.transientQuorum && flags.haQueues) {
    // The broker refuses x-ha-policy on a quorum queue (406), so the reply queue would fail
    // at the first call: refused here instead.
    throw new ConfigurationError(
      'rabbit_transient_quorum_queue and rabbit_ha_queues both enabled: reply and fanout ' +
        'queues would be quorum and mirrored at once, which RabbitMQ refuses; turn ' +
        'rabbit_ha_queues off',
      { option: 'oslo_messaging_rabbit.rabbit_transient_quorum_queue', value: true },
    );
  }
  if (flags.streamFanout && !flags.transientQuorum) {
    throw new ConfigurationError(
      'rabbit_stream_fanout needs rabbit_transient_quorum_queue = true (as oslo.messaging ' +
        'requires): set it, or turn rabbit_stream_fanout off',
      { option: 'oslo_messaging_rabbit.rabbit_stream_fanout', value: true },
    );
  }
}

/**
 * Queue arguments as oslo builds them, in its key order: HA, then quorum (type, delivery
 * limit, memory limits), then `x-expires` when the TTL is above 0. A stream has only its
 * type and, with a TTL, `x-max-age` as a string of seconds.
 */
function queueArguments(
  flags: TopologyFlags,
  quorum: boolean,
  ttlSeconds: number,
  stream = false,
): Record<string, unknown> {
  if (stream) {
    return ttlSeconds > 0
      ? { 'x-queue-type': 'stream', 'x-max-age': `${ttlSeconds}s` }
      : { 'x-queue-type': 'stream' };
  }
  const args: Record<string, unknown> = {};
  if (flags.haQueues) args['x-ha-policy'] = 'all';
  if (quorum) {
    args['x-queue-type'] = 'quorum';
    if (flags.quorumDeliveryLimit > 0) args['x-delivery-limit'] = flags.quorumDeliveryLimit;
    if (flags.quorumMaxMemoryLength > 0) {
      args['x-max-in-memory-length'] = flags.quorumMaxMemoryLength;
    }
    if (flags.quorumMaxMemoryBytes > 0) args['x-max-in-memory-bytes'] = flags.quorumMaxMemoryBytes;
  }
  if (ttlSeconds > 0) args['x-expires'] = ttlSeconds * 1000;
  return args;
}

/** The control exchange (or a target's exchange): topic, durable=D, auto_delete=A. */
export function topicExchange(name: string, flags: TopologyFlags): ExchangeSpec {
  return { name, type: 'topic', durable: flags.durable, autoDelete: flags.autoDelete };
}

/**
 * `<topic>_fanout`: always that name (a target's exchange is ignored), fanout,
 * auto-delete; durable with transient quorum queues (HEAD), else not.
 */
export function fanoutExchange(topic: string, flags: TopologyFlags): ExchangeSpec {
  return {
    name: fanoutExchangeName(topic),
    type: 'fanout',
    durable: flags.transientQuorum || flags.streamFanout,
    autoDelete: true,
  };
}

/**
 * The name of a server's fanout queue: `<topic>_fanout_<unique>` (a uuid, or the queue
 * manager's `<hostname>:<processname>:<counter>`), or the topic's one stream
 * `<topic>_fanout` under `rabbit_stream_fanout`.
 */
export function fanoutQueueFor(topic: string, unique: string, flags: TopologyFlags): string {
  return flags.streamFanout ? fanoutExchangeName(topic) : fanoutQueueName(topic, unique);
}

/**
 * A topic consumer (oslo's `declare_topic_consumer`): the RPC `T` and `T.S` queues,
 * the notification `<topic>.<priority>` queues, and pool queues (named after the
 * pool, bound with the routing key). Flags D and A, HA or quorum arguments, no
 * `x-expires`.
 */
export function topicConsumer(
  exchange: string,
  routingKey: string,
  flags: TopologyFlags,
  queueName: string = routingKey,
): ConsumerSpec {
  return {
    exchange: topicExchange(exchange, flags),
    queue: {
      name: queueName,
      durable: flags.durable,
      autoDelete: flags.autoDelete,
      arguments: queueArguments(flags, flags.quorum, 0),
    },
    binding: { queue: queueName, exchange, routingKey },
  };
}

/**
 * A server's fanout queue (see {@link fanoutQueueFor} for its name), not auto-delete,
 * bound to `<topic>_fanout` with key `<topic>` (ignored by a fanout exchange). Classic and
 * non-durable with `x-expires` = TTL by default (14.0.3); a durable quorum queue under
 * `rabbit_transient_quorum_queue`; a durable stream under `rabbit_stream_fanout`.
 */
export function fanoutConsumer(topic: string, unique: string, flags: TopologyFlags): ConsumerSpec {
  const exchange = fanoutExchange(topic, flags);
  const name = fanoutQueueFor(topic, unique, flags);
  return {
    exchange,
    queue: {
      name,
      durable: flags.transientQuorum || flags.streamFanout,
      autoDelete: false,
      arguments: queueArguments(
        flags,
        flags.transientQuorum,
        flags.transientQueuesTtlSeconds,
        flags.streamFanout,
      ),
    },
    binding: { queue: name, exchange: exchange.name, routingKey: topic },
  };
}

/**
 * A caller's reply queue `reply_<unique>`: not auto-delete, `x-expires` = TTL, no binding
 * (the default exchange routes by queue name). Classic and non-durable by default
 * (14.0.3); a durable quorum queue under `rabbit_transient_quorum_queue`.
 */
export function replyConsumer(name: string, flags: TopologyFlags): ConsumerSpec {
  return {
    exchange: undefined,
    queue: {
      name,
      durable: flags.transientQuorum,
      autoDelete: false,
      arguments: queueArguments(flags, flags.transientQuorum, flags.transientQueuesTtlSeconds),
    },
    binding: undefined,
  };
}

/**
 * What the notifier declares before its first publish to a routing key on a
 * channel (oslo's `_publish_and_creates_default_queue`): the queue named exactly the
 * routing key, with the exchange's durable and auto-delete flags and no `x-expires`,
 * so notifications wait for a listener that does not exist yet.
 */
export function notifierQueue(
  exchange: string,
  routingKey: string,
  flags: TopologyFlags,
): ConsumerSpec {
  return topicConsumer(exchange, routingKey, flags);
}

/**
 * A tap (not an oslo object; the command-line tool's `listen`): a private queue,
 * exclusive and auto-delete, bound like the notification queue, so the listener gets a
 * copy of every notification and takes nothing from other consumers. Exclusive queues
 * can't be quorum or mirrored, so no arguments.
 */
export function tapConsumer(
  exchange: string,
  routingKey: string,
  queueName: string,
  flags: TopologyFlags,
): ConsumerSpec {
  return {
    exchange: topicExchange(exchange, flags),
    queue: { name: queueName, durable: false, autoDelete: true, exclusive: true, arguments: {} },
    binding: { queue: queueName, exchange, routingKey },
  };
}

/** Consumer arguments (`basic.consume`), `{}` unless `enable_cancel_on_failover`. */
export function consumerArguments(flags: TopologyFlags): Record<string, unknown> {
  return flags.cancelOnFailover ? { 'x-cancel-on-ha-failover': true } : {};
}

/**
 * Consumer arguments of the fanout stream: only `x-stream-offset`, `"last"` at first and,
 * after a reconnect, one past the last offset received (as HEAD), so that a server resumes
 * where it was and skips the stream's history.
 */
export function streamConsumerArguments(nextOffset: number | 'last'): Record<string, unknown> {
  return { 'x-stream-offset': nextOffset };
}
