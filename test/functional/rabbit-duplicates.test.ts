/**
 * Duplicates after a redelivery burst, measured on the real broker: a notification
 * listener works through a stream while the broker drops its connection several times.
 * Every message that was delivered and not yet acknowledged comes again; the
 * `_unique_id` cache drops the copies of messages already handled and acknowledged, and
 * what reaches the endpoint twice is only what was still being handled when the
 * connection went (oslo records a notification when it is acked). The figures are
 * reported with the test; docs/reliability.md and `src/drivers/common/duplicates.ts`
 * state the guarantee they measure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  getNotificationListener,
  getNotificationTransport,
  Notifier,
  Target,
} from '../../src/index.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';
import {
  closeConnections,
  deleteByExchange,
  eventually,
  rabbitDriver,
  TRANSPORT_URL,
  uniqueName,
} from './rabbit-test-helpers.js';

const MESSAGES = 2000;
const HANDLER_MS = 5;
const POOL = 8;
const CLOSES = 3;

test('rabbit duplicates - a listener whose connection drops mid-stream: nothing lost, copies of handled messages dropped, only in-flight ones handled twice', async (t) => {
  const exchange = uniqueName('dups');
  const topic = uniqueName('topic');
  const logger = new RecordingLogger();
  const conf = {
    DEFAULT: { control_exchange: exchange, executor_thread_pool_size: POOL },
    oslo_messaging_rabbit: { rabbit_retry_interval: 1, rabbit_retry_backoff: 1 },
  };
  const sender = getNotificationTransport(conf, { url: TRANSPORT_URL, logger });
  const receiver = getNotificationTransport(conf, { url: TRANSPORT_URL, logger });
  t.after(async () => {
    await sender.cleanup();
    await receiver.cleanup();
    await deleteByExchange(exchange);
  });

  const handled = new Map<number, number>();
  let inHandler = 0;
  let inHandlerAtCloses = 0;
  const listener = getNotificationListener(
    receiver,
    [new Target({ topic })],
    [
      {
        info: async (_c: unknown, _p: unknown, _e: unknown, payload: { i: number }) => {
          inHandler++;
          await sleep(HANDLER_MS);
          handled.set(payload.i, (handled.get(payload.i) ?? 0) + 1);
          inHandler--;
        },
      },
    ],
  );
  await listener.start();
  t.after(() => listener.close());

  const notifier = new Notifier(sender, { driver: 'messagingv2', topics: [topic] });
  const sending = (async () => {
    for (let i = 0; i < MESSAGES; i++) await notifier.info({}, 'dups.test', { i });
  })();

  const names = (await rabbitDriver(receiver)).connectionNames().listeners;
  let closed = 0;
  for (let n = 0; n < CLOSES; n++) {
    // Mid-stream, with the listener connected again after the previous close.
    await eventually(() => receiver.status === 'connected', 60_000, 'the listener reconnected');
    await eventually(() => handled.size >= ((n + 1) * MESSAGES) / (CLOSES + 1), 60_000, 'progress');
    inHandlerAtCloses += inHandler;
    closed += await closeConnections(names, 'omtr duplicates test');
  }
  await sending;
  await eventually(() => handled.size === MESSAGES, 120_000, 'every notification handled');
  await sleep(500); // late copies, if any, would arrive now

  const twice = [...handled.values()].filter((count) => count > 1).length;
  const dropped = logger.at('error', 'ignoring duplicate message').length;
  t.diagnostic(
    `duplicates: ${JSON.stringify({ messages: MESSAGES, closes: closed, handledTwice: twice, droppedByCache: dropped, inHandlerAtCloses })}`,
  );
  assert.equal(closed, CLOSES, 'the broker closed the listener connection each time');
  assert.equal(handled.size, MESSAGES, 'no notification lost');
  // Only what was being handled when a connection went can reach the endpoint twice
  // (at most the executor's pool each time): everything else was acknowledged (no copy)
  // or recorded when it was acknowledged (its copy is dropped by the cache).
  assert.ok(
    twice <= POOL * CLOSES,
    `${twice} handled twice, with ${inHandlerAtCloses} in handlers at the closes`,
  );
});
