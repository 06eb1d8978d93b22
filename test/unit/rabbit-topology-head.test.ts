/**
 * The rabbit driver's declarations under the options upstream HEAD added (spec §8), as
 * observed on RabbitMQ 3.10 with HEAD (commit 8ea2d5b) declaring them: `rabbitmqctl
 * list_queues name durable exclusive auto_delete type arguments` and `list_exchanges`
 * after a HEAD server and client ran with quorum, transient quorum, stream fanout and the
 * queue manager on. Also the queue manager's names and the combinations refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Config } from '../../src/config/config.js';
import { silentLogger } from '../../src/log.js';
import { TransportURL } from '../../src/transport-url.js';
import { resolveRabbitSettings, topologyFlags } from '../../src/drivers/rabbit/options.js';
import { RABBIT_GROUP, type RabbitOptions } from '../../src/drivers/rabbit/options-table.js';
import { queueManagerUnique } from '../../src/drivers/rabbit/queue-manager.js';
import {
  fanoutConsumer,
  fanoutExchange,
  replyConsumer,
  streamConsumerArguments,
  topicConsumer,
  type TopologyFlags,
} from '../../src/drivers/rabbit/topology.js';
import { ConfigurationError } from '../../src/errors.js';

const HEX = '8a1f4a2d3bdc4e7c967d899a4a0c3936';

const flagsFrom = (options: Record<string, unknown>): TopologyFlags =>
  topologyFlags(Config.from({ oslo_messaging_rabbit: options }).group<RabbitOptions>(RABBIT_GROUP));

const settingsFrom = (options: Record<string, unknown>) =>
  resolveRabbitSettings(
    TransportURL.parse('rabbit://'),
    Config.from({ oslo_messaging_rabbit: options }),
    silentLogger,
  );

const MODERN = {
  rabbit_quorum_queue: true,
  rabbit_transient_quorum_queue: true,
  rabbit_stream_fanout: true,
  rabbit_qos_prefetch_count: 10,
};

void test('rabbit topology (HEAD) - transient quorum: reply and fanout queues are durable quorum queues with x-expires, the fanout exchange durable and auto-delete', () => {
  const flags = flagsFrom({ rabbit_quorum_queue: true, rabbit_transient_quorum_queue: true });
  const reply = replyConsumer('reply_vm:peer.py:1', flags);
  assert.deepEqual(reply.queue, {
    name: 'reply_vm:peer.py:1',
    durable: true,
    autoDelete: false,
    arguments: { 'x-queue-type': 'quorum', 'x-expires': 1800000 },
  });
  const fanout = fanoutConsumer('t', HEX, flags);
  assert.deepEqual(fanout.exchange, {
    name: 't_fanout',
    type: 'fanout',
    durable: true,
    autoDelete: true,
  });
  assert.deepEqual(fanout.queue, {
    name: `t_fanout_${HEX}`,
    durable: true,
    autoDelete: false,
    arguments: { 'x-queue-type': 'quorum', 'x-expires': 1800000 },
  });
  // The sender declares the same exchange as the servers.
  assert.deepEqual(fanoutExchange('t', flags), fanout.exchange);
});

void test('rabbit topology (HEAD) - transient quorum alone leaves topic queues classic', () => {
  const flags = flagsFrom({ rabbit_transient_quorum_queue: true });
  assert.deepEqual(topicConsumer('ctl', 't', flags).queue.arguments, {});
  assert.equal(topicConsumer('ctl', 't', flags).queue.durable, false);
  assert.equal(replyConsumer('reply_x', flags).queue.durable, true);
});

void test('rabbit topology (HEAD) - quorum limits go on transient quorum queues too', () => {
  const flags = flagsFrom({
    rabbit_transient_quorum_queue: true,
    rabbit_quorum_delivery_limit: 5,
    rabbit_quorum_max_memory_length: 100,
    rabbit_quorum_max_memory_bytes: 4096,
  });
  assert.deepEqual(Object.entries(replyConsumer('reply_x', flags).queue.arguments), [
    ['x-queue-type', 'quorum'],
    ['x-delivery-limit', 5],
    ['x-max-in-memory-length', 100],
    ['x-max-in-memory-bytes', 4096],
    ['x-expires', 1800000],
  ]);
});

void test('rabbit topology (HEAD) - stream fanout: one durable stream <topic>_fanout with x-max-age, consumed from an offset', () => {
  const flags = flagsFrom(MODERN);
  const fanout = fanoutConsumer('t', HEX, flags);
  assert.deepEqual(fanout.queue, {
    name: 't_fanout',
    durable: true,
    autoDelete: false,
    arguments: { 'x-queue-type': 'stream', 'x-max-age': '1800s' },
  });
  assert.deepEqual(fanout.binding, { queue: 't_fanout', exchange: 't_fanout', routingKey: 't' });
  assert.deepEqual(streamConsumerArguments('last'), { 'x-stream-offset': 'last' });
  assert.deepEqual(streamConsumerArguments(42), { 'x-stream-offset': 42 });
  const noAge = fanoutConsumer('t', HEX, flagsFrom({ ...MODERN, rabbit_transient_queues_ttl: 0 }));
  assert.deepEqual(noAge.queue.arguments, { 'x-queue-type': 'stream' });
});

void test('rabbit topology (HEAD) - rabbit_transient_queues_ttl = 0 sets no x-expires', () => {
  const flags = flagsFrom({ rabbit_transient_queues_ttl: 0 });
  assert.deepEqual(replyConsumer('reply_x', flags).queue.arguments, {});
  assert.deepEqual(fanoutConsumer('t', HEX, flags).queue.arguments, {});
});

void test('queue manager - names are <hostname>:<processname>:<n> from 1, shared per pair, and start over in a new process', () => {
  const scope = new Map<string, number>();
  const a = queueManagerUnique('node1', 'nova-api', scope);
  const b = queueManagerUnique('node1', 'nova-api', scope);
  const other = queueManagerUnique('node1', 'nova-conductor', scope);
  assert.deepEqual(
    [a(), b(), other(), a()],
    ['node1:nova-api:1', 'node1:nova-api:2', 'node1:nova-conductor:1', 'node1:nova-api:3'],
  );
  const restarted = queueManagerUnique('node1', 'nova-api', new Map());
  assert.equal(restarted(), 'node1:nova-api:1');
});

void test('resolveRabbitSettings - use_queue_manager names queues by hostname and processname, and keeps fanout queues', () => {
  const s = settingsFrom({ use_queue_manager: true, hostname: 'h-qm-test', processname: 'p' });
  assert.match(s.queueUnique(), /^h-qm-test:p:\d+$/);
  assert.equal(s.deleteFanoutQueues, false);
  assert.equal(settingsFrom({}).deleteFanoutQueues, true);
  assert.match(settingsFrom({}).queueUnique(), /^[0-9a-f]{32}$/);
  assert.equal(settingsFrom(MODERN).deleteFanoutQueues, false);
});

const REFUSED: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'stream fanout without transient quorum',
    { rabbit_stream_fanout: true, rabbit_qos_prefetch_count: 1 },
    /rabbit_stream_fanout needs rabbit_transient_quorum_queue = true/,
  ],
  [
    'stream fanout without a prefetch',
    { rabbit_stream_fanout: true, rabbit_transient_quorum_queue: true },
    /rabbit_stream_fanout needs rabbit_qos_prefetch_count set above 0/,
  ],
  [
    'transient quorum with HA queues',
    { rabbit_transient_quorum_queue: true, rabbit_ha_queues: true },
    /turn rabbit_ha_queues off/,
  ],
  [
    'the queue manager without a hostname',
    { use_queue_manager: true, hostname: '' },
    /use_queue_manager needs a hostname and a processname/,
  ],
];

for (const [what, options, message] of REFUSED) {
  void test(`resolveRabbitSettings - refuses ${what} at start, saying what to change`, () => {
    assert.throws(
      () => settingsFrom(options),
      (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
    );
  });
}

void test('resolveRabbitSettings - kombu_reconnect_splay adds up to that many ms to the reconnect delay', () => {
  const s = settingsFrom({ kombu_reconnect_delay: 0.5, kombu_reconnect_splay: 2.5 });
  assert.deepEqual([s.connection.reconnectDelayMs, s.connection.reconnectSplayMs], [500, 2500]);
  assert.equal(settingsFrom({}).connection.reconnectSplayMs, 0);
});
