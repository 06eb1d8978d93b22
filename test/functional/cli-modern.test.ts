/**
 * The command-line tool with a 2025.x nova.conf (`--config-file`): the file loads (its
 * Kafka and oslo_concurrency sections and the modern rabbit options included), options
 * without effect are reported once, and `listen` taps notifications on the modern
 * topology (durable quorum notification queues) without taking them from their queue.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { URL_, background, broker, cli, uniqueName } from './cli-helpers.js';
import { listQueues } from './rabbit-test-helpers.js';

const NOVA_2025 = fileURLToPath(new URL('../fixtures/config/nova-2025.conf', import.meta.url));

test('cli listen - with a 2025.x nova.conf, taps notifications on quorum queues without stealing them', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('notif');
  b.cleanup({ queues: [`${topic}.info`], exchanges: [exchange] });
  // The file's brokers are an example deployment's: --url points at the test broker.
  const common = [
    '--config-file',
    NOVA_2025,
    '--url',
    URL_,
    '--exchange',
    exchange,
    '--topic',
    topic,
  ];
  const listen = background(
    t,
    ['listen', ...common, '--count', '1', '--format', 'json'],
    /listening/,
  );
  await listen.ready;
  const sent = await cli(['notify', ...common, '--event-type', 'compute.instance.update']);
  assert.equal(sent.code, 0, sent.stderr);
  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  const line = JSON.parse(run.stdout.trim()) as Record<string, unknown>;
  assert.equal(line['event_type'], 'compute.instance.update');
  assert.equal(line['routing_key'], `${topic}.info`);

  // The notifier declared the shared queue as the Python services of this file would.
  const queue = (await listQueues()).find((q) => q.name === `${topic}.info`);
  assert.ok(queue !== undefined);
  assert.deepEqual([queue.durable, queue.type], [true, 'quorum']);
  assert.equal(await b.messageCount(`${topic}.info`), 1, 'listen consumed from the shared queue');

  // Options that do nothing here are named once, with the reason.
  const inert = run.stderr.match(/heartbeat_in_pthread is accepted but has no effect/g) ?? [];
  assert.equal(inert.length, 1, run.stderr);
  assert.match(run.stderr, /oslo_messaging_kafka\.consumer_group is accepted but has no effect/);
});
