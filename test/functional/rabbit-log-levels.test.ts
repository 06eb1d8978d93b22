/**
 * The RabbitMQ driver's connection events are logged at oslo.messaging 14.0.3's levels
 * (impl_rabbit.py and amqpdriver.py; HEAD logs them the same): the first connection at
 * debug, a lost connection and the reconnection at info, an unreachable broker at error,
 * an acknowledgement that can't be sent (its channel is gone) as a warning. The rest of
 * the table is test/unit/log-levels.test.ts; docs/observability.md has all of it. Only
 * this test's own connections are closed (by their connection_name).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  body,
  connection,
  DEAD,
  forceClose,
  inbox,
  JSON_PROPS,
  nextEvent,
  recordingLogger,
  topicQueue,
  uniq,
} from './rabbit-connection-helpers.js';

const T = { timeout: 20_000 };

const levelsOf = (lines: string[], text: string): string[] => [
  ...new Set(lines.filter((l) => l.includes(text)).map((l) => l.split(' ')[0]!)),
];

test(
  'log levels (rabbit) - connected: debug; lost and reconnected: info; an ack on the lost channel: warning',
  T,
  async (t) => {
    const logger = recordingLogger();
    const name = uniq('loglevels_');
    const sub = connection(t, { role: 'consume', connectionName: name, logger });
    const pub = connection(t);
    await sub.connect();
    assert.deepEqual(levelsOf(logger.lines, 'Connected to AMQP server on'), ['DEBUG']);

    const { exchange, queue, key } = await topicQueue(t, pub);
    const box = inbox();
    await sub.consume(queue, box.handler);
    await pub.publish(exchange, key, body(1), JSON_PROPS);
    const held = await box.next();

    const reconnected = nextEvent(sub, 'reconnected');
    assert.equal(await forceClose(name), 1);
    await reconnected;
    assert.deepEqual(levelsOf(logger.lines, 'Lost the AMQP channel'), ['INFO']);
    assert.deepEqual(levelsOf(logger.lines, 'Reconnected to AMQP server on'), ['INFO']);

    sub.ack(held); // its channel died with the connection: the broker requeued it
    assert.deepEqual(levelsOf(logger.lines, 'Failed to ack received message'), ['WARN']);
    sub.ack(await box.next()); // the redelivery
  },
);

test('log levels (rabbit) - an unreachable broker: error, with the next attempt', T, async (t) => {
  const logger = recordingLogger();
  const dead = connection(t, { hosts: [DEAD], logger });
  const attempt = dead.connect().catch(() => undefined);
  for (let i = 0; i < 200 && !logger.lines.some((l) => l.includes('unreachable')); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await dead.close();
  await attempt;
  assert.deepEqual(levelsOf(logger.lines, 'is unreachable'), ['ERROR']);
});
