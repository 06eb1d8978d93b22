/**
 * Notification cases of the driver contract: routing, pools, taps, settling, credit, stop.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import type { IncomingMessage, RpcIncomingMessage } from '../../src/drivers/driver.js';
import { Target } from '../../src/target.js';
import { Inbox, notification, unique, type ContractTest } from './harness.js';

/** Registers the notification (and listener credit) cases with `it`. */
export function notificationContract(it: ContractTest): void {
  it('a notification reaches the <topic>.<priority> listener with its context and body', async (env) => {
    const driver = await env.driver();
    const { inbox } = await env.notificationListener(driver, ['info', 'error']);
    const sent = notification('INFO', { state: 'active', name: 'café' });
    const ctxt = { user_id: 'u-1', project_id: 'p-1', roles: ['admin'] };
    await (
      await env.driver()
    ).sendNotification(new Target({ topic: env.topic }), ctxt, sent, 2, undefined);
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    assert.deepEqual(message?.message, { ...sent });
    assert.deepEqual(message?.ctxt, { ...ctxt, client_timeout: null });
    await message?.acknowledge();
  });

  it('a v1 (messaging driver) notification is received like a v2 one', async (env) => {
    const driver = await env.driver();
    const { inbox } = await env.notificationListener(driver, ['warn']);
    const sent = notification('WARN', { n: 1 });
    await driver.sendNotification(
      new Target({ topic: env.topic }),
      { user_id: 'u' },
      sent,
      1,
      undefined,
    );
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    assert.deepEqual(message?.message, { ...sent });
    assert.deepEqual(message?.ctxt, { user_id: 'u', client_timeout: null });
    await message?.acknowledge();
  });

  it('a notification goes only to the listener of its priority', async (env) => {
    const driver = await env.driver();
    const info = await env.notificationListener(driver, ['info']);
    const error = await env.notificationListener(driver, ['error']);
    await driver.sendNotification(
      new Target({ topic: env.topic }),
      {},
      notification('ERROR', 1),
      2,
      undefined,
    );
    const [message] = await error.inbox.waitFor(1, env.deliveryMs);
    await message?.acknowledge();
    await env.quiet();
    assert.equal(info.inbox.count, 0);
  });

  it('a notification sent before anyone listens is kept', async (env) => {
    const notifier = await env.driver();
    const sent = notification('INFO', { early: true });
    await notifier.sendNotification(new Target({ topic: env.topic }), {}, sent, 2, undefined);
    await env.quiet();
    const { inbox } = await env.notificationListener(await env.driver(), ['info']);
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    assert.equal(message?.message['message_id'], sent.message_id);
    await message?.acknowledge();
  });

  it('each pool gets a copy, listeners in a pool compete, the unpooled listener gets its own', async (env) => {
    const notifier = await env.driver();
    const ack = (m: IncomingMessage): void => void m.acknowledge();
    const poolA = unique('pool_a');
    const poolB = unique('pool_b');
    const plain = await env.notificationListener(await env.driver(), ['info'], {
      onMessage: ack,
    });
    const a1 = await env.notificationListener(await env.driver(), ['info'], {
      pool: poolA,
      onMessage: ack,
    });
    const a2 = await env.notificationListener(await env.driver(), ['info'], {
      pool: poolA,
      onMessage: ack,
    });
    const b1 = await env.notificationListener(await env.driver(), ['info'], {
      pool: poolB,
      onMessage: ack,
    });
    const total = 6;
    const sent = Array.from({ length: total }, (_, i) => notification('INFO', { i }));
    for (const n of sent) {
      await notifier.sendNotification(new Target({ topic: env.topic }), {}, n, 2, undefined);
    }
    await plain.inbox.waitFor(total, env.deliveryMs);
    await b1.inbox.waitFor(total, env.deliveryMs);
    const deadline = Date.now() + env.deliveryMs;
    while (a1.inbox.count + a2.inbox.count < total && Date.now() < deadline) await sleep(10);
    await env.quiet();
    const ids = (inbox: Inbox<IncomingMessage>): unknown[] =>
      inbox.items.map((m) => m.message['message_id']).sort();
    const all = sent.map((n) => n.message_id).sort();
    assert.deepEqual(ids(plain.inbox), all);
    assert.deepEqual(ids(b1.inbox), all);
    assert.deepEqual([...ids(a1.inbox), ...ids(a2.inbox)].sort(), all);
    assert.ok(a1.inbox.count > 0 && a2.inbox.count > 0, 'pool members compete');
  });

  it('a pool listener consumes every topic and priority it is bound to', async (env) => {
    const notifier = await env.driver();
    const otherTopic = unique('contract_other');
    const pool = unique('pool');
    const driver = await env.driver();
    const target = new Target({ topic: env.topic });
    const other = new Target({ topic: otherTopic });
    const listener = await driver.listenForNotifications(
      [
        { target, priority: 'info' },
        { target, priority: 'error' },
        { target: other, priority: 'info' },
      ],
      pool,
      { maxUnsettled: 16 },
    );
    const inbox = new Inbox<IncomingMessage>();
    await listener.start((m) => {
      inbox.push(m);
      void m.acknowledge();
    });
    try {
      await notifier.sendNotification(target, {}, notification('INFO', 1), 2, undefined);
      await notifier.sendNotification(target, {}, notification('ERROR', 2), 2, undefined);
      await notifier.sendNotification(other, {}, notification('INFO', 3), 2, undefined);
      const got = await inbox.waitFor(3, env.deliveryMs);
      assert.deepEqual(got.map((m) => m.message['payload']).sort(), [1, 2, 3]);
    } finally {
      await listener.cleanup();
    }
  });

  it('a tap listener sees a copy of every notification and takes nothing from others', async (env) => {
    const notifier = await env.driver();
    const plain = await env.notificationListener(await env.driver(), ['info'], {
      onMessage: (m) => void m.acknowledge(),
    });
    const tapDriver = await env.driver();
    const tap = await tapDriver.listenForNotifications(
      [{ target: new Target({ topic: env.topic }), priority: 'info' }],
      undefined,
      { maxUnsettled: 16, tap: true },
    );
    const tapped = new Inbox<IncomingMessage>();
    await tap.start((m) => {
      tapped.push(m);
      void m.acknowledge();
    });
    try {
      const total = 4;
      for (let i = 0; i < total; i++) {
        await notifier.sendNotification(
          new Target({ topic: env.topic }),
          {},
          notification('INFO', i),
          2,
          undefined,
        );
      }
      await plain.inbox.waitFor(total, env.deliveryMs);
      await tapped.waitFor(total, env.deliveryMs);
      await env.quiet();
      assert.equal(plain.inbox.count, total);
      assert.equal(tapped.count, total);
    } finally {
      await tap.cleanup();
    }
  });

  it('requeue() gives a message back for redelivery', async (env, t) => {
    const driver = await env.driver();
    if (!driver.supportsRequeue) {
      t.skip('driver does not support requeue');
      return;
    }
    let first = true;
    const { inbox } = await env.notificationListener(driver, ['info'], {
      onMessage: (m) => {
        if (first) {
          first = false;
          void m.requeue();
        } else {
          void m.acknowledge();
        }
      },
    });
    const sent = notification('INFO', { again: true });
    await driver.sendNotification(new Target({ topic: env.topic }), {}, sent, 2, undefined);
    const [a, b] = await inbox.waitFor(2, env.deliveryMs);
    assert.equal(a?.message['message_id'], sent.message_id);
    assert.equal(b?.message['message_id'], sent.message_id);
    await env.quiet();
    assert.equal(inbox.count, 2);
  });

  it('reject() drops a message for good', async (env) => {
    const driver = await env.driver();
    const first = await env.notificationListener(driver, ['info'], {
      onMessage: (m) => void m.reject(),
    });
    await driver.sendNotification(
      new Target({ topic: env.topic }),
      {},
      notification('INFO', 1),
      2,
      undefined,
    );
    await first.inbox.waitFor(1, env.deliveryMs);
    await env.quiet();
    assert.equal(first.inbox.count, 1);
    await first.listener.cleanup();
    const second = await env.notificationListener(await env.driver(), ['info']);
    await env.quiet();
    assert.equal(second.inbox.count, 0);
  });

  it('settling is idempotent: after acknowledge, requeue and reject are no-ops', async (env) => {
    const driver = await env.driver();
    const { inbox } = await env.notificationListener(driver, ['info']);
    await driver.sendNotification(
      new Target({ topic: env.topic }),
      {},
      notification('INFO', 1),
      2,
      undefined,
    );
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    await message?.acknowledge();
    await message?.requeue();
    await message?.reject();
    await message?.acknowledge();
    await env.quiet();
    assert.equal(inbox.count, 1);
  });

  it('unsettled messages go back to the queue when the listener is cleaned up', async (env) => {
    const driver = await env.driver();
    const first = await env.notificationListener(driver, ['info']);
    const sent = notification('INFO', { kept: true });
    await driver.sendNotification(new Target({ topic: env.topic }), {}, sent, 2, undefined);
    const [held] = await first.inbox.waitFor(1, env.deliveryMs);
    await first.listener.cleanup();
    // Settling after cleanup is a no-op and never rejects.
    await held?.acknowledge();
    const second = await env.notificationListener(await env.driver(), ['info']);
    const [message] = await second.inbox.waitFor(1, env.deliveryMs);
    assert.equal(message?.message['message_id'], sent.message_id);
    await message?.acknowledge();
  });

  it('maxUnsettled bounds what is delivered and not yet settled', async (env) => {
    const driver = await env.driver();
    const limit = 2;
    let unsettled = 0;
    let maxUnsettled = 0;
    const held: IncomingMessage[] = [];
    const { inbox } = await env.notificationListener(driver, ['info'], {
      maxUnsettled: limit,
      onMessage: (m) => {
        unsettled++;
        maxUnsettled = Math.max(maxUnsettled, unsettled);
        held.push(m);
      },
    });
    const total = 7;
    for (let i = 0; i < total; i++) {
      await driver.sendNotification(
        new Target({ topic: env.topic }),
        {},
        notification('INFO', i),
        2,
        undefined,
      );
    }
    await inbox.waitFor(limit, env.deliveryMs);
    await env.quiet();
    assert.equal(inbox.count, limit, 'no more than maxUnsettled while none is settled');
    // Settling one frees exactly one credit.
    unsettled--;
    await held.shift()?.acknowledge();
    await inbox.waitFor(limit + 1, env.deliveryMs);
    await env.quiet();
    assert.equal(inbox.count, limit + 1);
    // Then settle everything as it comes, one at a time.
    while (inbox.count < total || held.length > 0) {
      const next = held.shift();
      if (next === undefined) {
        await sleep(5);
        continue;
      }
      unsettled--;
      await next.acknowledge();
    }
    assert.equal(inbox.count, total);
    assert.ok(maxUnsettled <= limit, `at most ${limit} unsettled, saw ${maxUnsettled}`);
    assert.deepEqual(
      inbox.items.map((m) => m.message['payload']),
      [...Array(total).keys()],
      'a single consumer receives in publish order',
    );
  });

  it('maxUnsettled also bounds an RPC listener across its queues', async (env) => {
    const client = await env.driver();
    const held: RpcIncomingMessage[] = [];
    const server = await env.driver();
    const listener = await server.listen(new Target({ topic: env.topic, server: 's1' }), {
      maxUnsettled: 3,
    });
    await listener.start((m) => void held.push(m));
    try {
      const targets = [
        new Target({ topic: env.topic }),
        new Target({ topic: env.topic, server: 's1' }),
        new Target({ topic: env.topic, fanout: true }),
      ];
      for (let i = 0; i < 4; i++) {
        for (const target of targets) {
          await client.send(target, {}, { method: 'm', args: { i } }, { waitForReply: false });
        }
      }
      const deadline = Date.now() + env.deliveryMs;
      while (held.length < 3 && Date.now() < deadline) await sleep(5);
      await env.quiet();
      assert.equal(held.length, 3);
      let settled = 0;
      while (settled < 12) {
        const next = held[settled];
        if (next === undefined) {
          await sleep(5);
          continue;
        }
        await next.acknowledge();
        settled++;
      }
      await env.quiet();
      assert.equal(held.length, 12);
    } finally {
      await listener.cleanup();
    }
  });

  it('after stop() no notification is delivered; a later listener gets it', async (env) => {
    const driver = await env.driver();
    const first = await env.notificationListener(driver, ['info'], {
      onMessage: (m) => void m.acknowledge(),
    });
    await driver.sendNotification(
      new Target({ topic: env.topic }),
      {},
      notification('INFO', 1),
      2,
      undefined,
    );
    await first.inbox.waitFor(1, env.deliveryMs);
    await first.listener.stop();
    await driver.sendNotification(
      new Target({ topic: env.topic }),
      {},
      notification('INFO', 2),
      2,
      undefined,
    );
    await env.quiet();
    assert.equal(first.inbox.count, 1);
    await first.listener.cleanup();
    const second = await env.notificationListener(await env.driver(), ['info']);
    const [message] = await second.inbox.waitFor(1, env.deliveryMs);
    assert.equal(message?.message['payload'], 2);
    await message?.acknowledge();
  });

  it('listener cleanup() is idempotent, and a driver cleanup() releases its listeners', async (env) => {
    const driver = await env.driver();
    const { listener } = await env.notificationListener(driver, ['info']);
    await listener.cleanup();
    await listener.cleanup();
    const other = await env.driver();
    await env.notificationListener(other, ['info']);
    await other.cleanup();
    await other.cleanup();
  });
}
