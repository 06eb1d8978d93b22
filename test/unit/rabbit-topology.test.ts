/**
 * The rabbit driver's declarations without a broker (src/drivers/rabbit/topology.ts and the
 * shared names of src/drivers/common/addresses.ts). Expected values are those of Python
 * oslo.messaging 14.0.3 as the spec records them: §4.1 (RPC topology), §5.3 (notification
 * topology), §7 (the variants table, observed with rabbitmqctl) and §11.5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Config } from '../../src/config/config.js';
import {
  fanoutExchangeName,
  fanoutQueueName,
  notificationRoutingKey,
  replyQueueName,
  rpcRoutingKey,
  tapQueueName,
} from '../../src/drivers/common/addresses.js';
import { topologyFlags } from '../../src/drivers/rabbit/options.js';
import { RABBIT_GROUP, type RabbitOptions } from '../../src/drivers/rabbit/options-table.js';
import {
  DEFAULT_TOPOLOGY_FLAGS,
  consumerArguments,
  fanoutConsumer,
  fanoutExchange,
  notifierQueue,
  replyConsumer,
  tapConsumer,
  topicConsumer,
  topicExchange,
  validateTopologyFlags,
  type ConsumerSpec,
  type QueueSpec,
  type TopologyFlags,
} from '../../src/drivers/rabbit/topology.js';
import { ConfigurationError } from '../../src/errors.js';

const HEX = '8a1f4a2d3bdc4e7c967d899a4a0c3936';

/** The declaration flags that `[oslo_messaging_rabbit]` options (as in a config file) give. */
const flagsFrom = (options: Record<string, unknown>): TopologyFlags =>
  topologyFlags(Config.from({ oslo_messaging_rabbit: options }).group<RabbitOptions>(RABBIT_GROUP));

/** A queue's flags and arguments, arguments as key/value pairs so that key order counts. */
const shape = (q: QueueSpec) => ({
  durable: q.durable,
  autoDelete: q.autoDelete,
  exclusive: q.exclusive ?? false,
  args: Object.entries(q.arguments),
});

type Args = [string, unknown][];
const queue = (durable: boolean, autoDelete: boolean, args: Args = []) => ({
  durable,
  autoDelete,
  exclusive: false,
  args,
});

interface Variant {
  /** The `[oslo_messaging_rabbit]` options, as the URL query of spec §7 sets them. */
  options: Record<string, unknown>;
  /** Control exchange (topic): durable, auto_delete. */
  exchange: [durable: boolean, autoDelete: boolean];
  /** Topic `T`, server `T.S`, notification `<topic>.<prio>` and pool queues. */
  shared: ReturnType<typeof queue>;
  /** Fanout `T_fanout_<hex32>` and reply `reply_<hex32>` queues. */
  transient: ReturnType<typeof queue>;
}

const TRANSIENT_DEFAULT = queue(false, false, [['x-expires', 1_800_000]]);

// Spec §7, one row each (plus the quorum memory limits of §1.3, in _get_queue_arguments order).
const VARIANTS: Record<string, Variant> = {
  'default options': {
    options: {},
    exchange: [false, false],
    shared: queue(false, false),
    transient: TRANSIENT_DEFAULT,
  },
  'amqp_durable_queues=true': {
    options: { amqp_durable_queues: true, rabbit_qos_prefetch_count: 10 },
    exchange: [true, false],
    shared: queue(true, false),
    transient: TRANSIENT_DEFAULT,
  },
  'amqp_auto_delete=true': {
    options: { amqp_auto_delete: true },
    exchange: [false, true],
    shared: queue(false, true),
    transient: TRANSIENT_DEFAULT,
  },
  'rabbit_ha_queues=true, rabbit_transient_queues_ttl=600': {
    options: { rabbit_ha_queues: true, rabbit_transient_queues_ttl: 600 },
    exchange: [false, false],
    shared: queue(false, false, [['x-ha-policy', 'all']]),
    transient: queue(false, false, [
      ['x-ha-policy', 'all'],
      ['x-expires', 600_000],
    ]),
  },
  'rabbit_quorum_queue=true, rabbit_quorum_delivery_limit=5': {
    options: { rabbit_quorum_queue: true, rabbit_quorum_delivery_limit: 5 },
    exchange: [true, false],
    shared: queue(true, false, [
      ['x-queue-type', 'quorum'],
      ['x-delivery-limit', 5],
    ]),
    transient: TRANSIENT_DEFAULT,
  },
  'rabbit_quorum_queue=true with every quorum limit': {
    options: {
      rabbit_quorum_queue: true,
      rabbit_quorum_delivery_limit: 3,
      rabbit_quroum_max_memory_length: 100,
      rabbit_quroum_max_memory_bytes: 4096,
    },
    exchange: [true, false],
    shared: queue(true, false, [
      ['x-queue-type', 'quorum'],
      ['x-delivery-limit', 3],
      ['x-max-in-memory-length', 100],
      ['x-max-in-memory-bytes', 4096],
    ]),
    transient: TRANSIENT_DEFAULT,
  },
  'quorum limits under their later spelling rabbit_quorum_max_memory_*': {
    options: {
      rabbit_quorum_queue: true,
      rabbit_quorum_max_memory_length: 7,
      rabbit_quorum_max_memory_bytes: 8,
    },
    exchange: [true, false],
    shared: queue(true, false, [
      ['x-queue-type', 'quorum'],
      ['x-max-in-memory-length', 7],
      ['x-max-in-memory-bytes', 8],
    ]),
    transient: TRANSIENT_DEFAULT,
  },
  'quorum limits are ignored without rabbit_quorum_queue': {
    options: { rabbit_quorum_delivery_limit: 5, rabbit_quroum_max_memory_length: 100 },
    exchange: [false, false],
    shared: queue(false, false),
    transient: TRANSIENT_DEFAULT,
  },
};

for (const [name, v] of Object.entries(VARIANTS)) {
  void test(`rabbit topology - ${name}: control exchange, topic, server, notification, pool, fanout and reply queues`, () => {
    const flags = flagsFrom(v.options);
    assert.deepEqual(topicExchange('owire_ctl', flags), {
      name: 'owire_ctl',
      type: 'topic',
      durable: v.exchange[0],
      autoDelete: v.exchange[1],
    });
    const topic = topicConsumer('owire_ctl', 'owire_rpc', flags);
    const server = topicConsumer('owire_ctl', 'owire_rpc.srv1', flags);
    const notification = notifierQueue('owire_ctl', 'owire_notif.info', flags);
    const pool = topicConsumer('owire_ctl', 'owire_notif.info', flags, 'owire_pool');
    for (const c of [topic, server, notification, pool]) {
      assert.deepEqual(shape(c.queue), v.shared, c.queue.name);
      assert.deepEqual(c.exchange, topicExchange('owire_ctl', flags), c.queue.name);
    }
    assert.deepEqual(shape(fanoutConsumer('owire_rpc', HEX, flags).queue), v.transient);
    assert.deepEqual(shape(replyConsumer(`reply_${HEX}`, flags).queue), v.transient);
    // The fanout exchange never takes the options (spec §4.1, §11.5).
    assert.deepEqual(fanoutConsumer('owire_rpc', HEX, flags).exchange, {
      name: 'owire_rpc_fanout',
      type: 'fanout',
      durable: false,
      autoDelete: true,
    });
  });
}

void test('rabbit topology - the RPC topic and server queues are named and bound with their routing key (§4.1)', () => {
  const flags = DEFAULT_TOPOLOGY_FLAGS;
  const expect = (name: string): Omit<ConsumerSpec, 'queue'> & { queue: string } => ({
    exchange: { name: 'owire_ctl', type: 'topic', durable: false, autoDelete: false },
    queue: name,
    binding: { queue: name, exchange: 'owire_ctl', routingKey: name },
  });
  for (const key of ['owire_rpc', 'owire_rpc.owire_srv1']) {
    const c = topicConsumer('owire_ctl', key, flags);
    assert.deepEqual({ ...c, queue: c.queue.name }, expect(key));
  }
});

void test('rabbit topology - a fanout queue is classic, non-durable, with x-expires = TTL, bound to <topic>_fanout with key <topic>', () => {
  const c = fanoutConsumer('owire_rpc', HEX, DEFAULT_TOPOLOGY_FLAGS);
  assert.deepEqual(c, {
    exchange: { name: 'owire_rpc_fanout', type: 'fanout', durable: false, autoDelete: true },
    queue: {
      name: `owire_rpc_fanout_${HEX}`,
      durable: false,
      autoDelete: false,
      arguments: { 'x-expires': 1_800_000 },
    },
    binding: {
      queue: `owire_rpc_fanout_${HEX}`,
      exchange: 'owire_rpc_fanout',
      routingKey: 'owire_rpc',
    },
  });
  assert.equal(c.queue.exclusive ?? false, false);
  // The sender of a fanout cast declares the same exchange (§10).
  assert.deepEqual(fanoutExchange('owire_rpc', DEFAULT_TOPOLOGY_FLAGS), c.exchange);
});

void test('rabbit topology - a reply queue is reply_<hex32>, classic, non-durable, x-expires, with no exchange and no binding', () => {
  const c = replyConsumer(`reply_${HEX}`, flagsFrom({ rabbit_transient_queues_ttl: 1 }));
  assert.equal(c.exchange, undefined);
  assert.equal(c.binding, undefined);
  assert.deepEqual(c.queue, {
    name: `reply_${HEX}`,
    durable: false,
    autoDelete: false,
    arguments: { 'x-expires': 1000 },
  });
});

void test('rabbit topology - the notifier declares the queue named exactly the routing key, bound with it, no x-expires (§5.3)', () => {
  const flags = flagsFrom({ amqp_durable_queues: true });
  const c = notifierQueue('owire_ctl', 'owire_notif.warn', flags);
  assert.deepEqual(c, {
    exchange: { name: 'owire_ctl', type: 'topic', durable: true, autoDelete: false },
    queue: { name: 'owire_notif.warn', durable: true, autoDelete: false, arguments: {} },
    binding: { queue: 'owire_notif.warn', exchange: 'owire_ctl', routingKey: 'owire_notif.warn' },
  });
  // The listener declares the very same queue (§5.3), or the broker refuses one of the two.
  assert.deepEqual(topicConsumer('owire_ctl', 'owire_notif.warn', flags), c);
});

void test('rabbit topology - a pool queue is named exactly the pool and bound once per <topic>.<priority> key (§5.3)', () => {
  const keys = ['owire_notif.info', 'owire_notif.error', 'owire_notif_v1.info'];
  const specs = keys.map((k) =>
    topicConsumer('owire_ctl', k, DEFAULT_TOPOLOGY_FLAGS, 'owire_pool'),
  );
  assert.deepEqual(
    specs.map((s) => [s.queue.name, s.binding]),
    keys.map((k) => ['owire_pool', { queue: 'owire_pool', exchange: 'owire_ctl', routingKey: k }]),
  );
});

void test('rabbit topology - a tap queue is private: exclusive, auto-delete, non-durable, no arguments even with HA or quorum', () => {
  for (const options of [{}, { rabbit_ha_queues: true }, { rabbit_quorum_queue: true }]) {
    const flags = flagsFrom(options);
    const c = tapConsumer('owire_ctl', 'owire_notif.info', `tap_${HEX}`, flags);
    assert.deepEqual(c.queue, {
      name: `tap_${HEX}`,
      durable: false,
      autoDelete: true,
      exclusive: true,
      arguments: {},
    });
    assert.deepEqual(c.binding, {
      queue: `tap_${HEX}`,
      exchange: 'owire_ctl',
      routingKey: 'owire_notif.info',
    });
    // The exchange is declared as oslo declares it, or the declare would be refused.
    assert.deepEqual(c.exchange, topicExchange('owire_ctl', flags));
  }
});

void test('rabbit topology - consumer arguments are {} unless enable_cancel_on_failover (§2)', () => {
  assert.deepEqual(consumerArguments(flagsFrom({})), {});
  assert.deepEqual(consumerArguments(flagsFrom({ enable_cancel_on_failover: true })), {
    'x-cancel-on-ha-failover': true,
  });
});

void test('rabbit topology - the 14.0.3 defaults: non-durable, not auto-delete, classic, TTL 1800 s', () => {
  assert.deepEqual(DEFAULT_TOPOLOGY_FLAGS, flagsFrom({}));
  assert.deepEqual(DEFAULT_TOPOLOGY_FLAGS, {
    durable: false,
    autoDelete: false,
    haQueues: false,
    quorum: false,
    quorumDeliveryLimit: 0,
    quorumMaxMemoryLength: 0,
    quorumMaxMemoryBytes: 0,
    transientQueuesTtlSeconds: 1800,
    transientQuorum: false,
    streamFanout: false,
    cancelOnFailover: false,
  });
  assert.ok(Object.isFrozen(DEFAULT_TOPOLOGY_FLAGS));
});

void test('rabbit topology - quorum together with HA queues is refused, naming both options', () => {
  const both = { ...DEFAULT_TOPOLOGY_FLAGS, quorum: true, haQueues: true, durable: true };
  assert.throws(
    () => validateTopologyFlags(both),
    (err: unknown) =>
      err instanceof ConfigurationError &&
      /rabbit_quorum_queue/.test(err.message) &&
      /rabbit_ha_queues/.test(err.message) &&
      err.option === 'oslo_messaging_rabbit.rabbit_quorum_queue',
  );
  for (const ok of [
    DEFAULT_TOPOLOGY_FLAGS,
    { ...DEFAULT_TOPOLOGY_FLAGS, quorum: true, durable: true },
    { ...DEFAULT_TOPOLOGY_FLAGS, haQueues: true },
  ]) {
    assert.doesNotThrow(() => validateTopologyFlags(ok));
  }
});

const NAMES: [string, () => string, string][] = [
  ['rpcRoutingKey(T)', () => rpcRoutingKey('compute', undefined), 'compute'],
  ['rpcRoutingKey(T, S)', () => rpcRoutingKey('compute', 'node-1'), 'compute.node-1'],
  ['fanoutExchangeName(T)', () => fanoutExchangeName('compute'), 'compute_fanout'],
  ['fanoutQueueName(T, hex)', () => fanoutQueueName('compute', HEX), `compute_fanout_${HEX}`],
  ['replyQueueName(hex)', () => replyQueueName(HEX), `reply_${HEX}`],
  ['tapQueueName(hex)', () => tapQueueName(HEX), `tap_${HEX}`],
  [
    'notificationRoutingKey INFO',
    () => notificationRoutingKey('notifications', 'INFO'),
    'notifications.info',
  ],
  [
    'notificationRoutingKey WARN',
    () => notificationRoutingKey('notifications', 'WARN'),
    'notifications.warn',
  ],
  ['notificationRoutingKey sample', () => notificationRoutingKey('n', 'sample'), 'n.sample'],
];

for (const [what, make, expected] of NAMES) {
  void test(`rabbit topology - names: ${what} is ${expected}`, () => {
    assert.equal(make(), expected);
  });
}

void test('rabbit topology - new fanout, reply and tap queue names end in a fresh uuid4 hex (32 lowercase hex digits)', () => {
  const made: [() => string, RegExp][] = [
    [() => fanoutQueueName('compute'), /^compute_fanout_[0-9a-f]{32}$/],
    [() => replyQueueName(), /^reply_[0-9a-f]{32}$/],
    [() => tapQueueName(), /^tap_[0-9a-f]{32}$/],
  ];
  for (const [make, pattern] of made) {
    const a = make();
    const b = make();
    assert.match(a, pattern);
    assert.match(b, pattern);
    assert.notEqual(a, b);
  }
});
