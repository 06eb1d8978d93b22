/**
 * Functional tests of the resilient RabbitMQ connection on the real broker
 * (127.0.0.1:5672, guest/guest). Every name starts with `omts_` plus random hex; every
 * queue and exchange is deleted in `t.after()`; only connections whose
 * `connection_name` this file chose are ever closed through rabbitmqctl.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MessageDeliveryFailure, MessageUndeliverable } from '../../src/errors.js';
import type { Declarer } from '../../src/drivers/rabbit/connection.js';
import { AmqpChannelError } from '../../src/drivers/rabbit/connection.js';
import {
  JSON_PROPS,
  uniq,
  body,
  connection,
  cleanup,
  nextEvent,
  inbox,
  forceClose,
  topicQueue,
} from './rabbit-connection-helpers.js';

test(
  'publish and consume round trip, each publish resolving on its confirm',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const sub = connection(t, { role: 'consume' });
    const { exchange, queue, key } = await topicQueue(t, pub);
    const box = inbox();
    const consumer = await sub.consume(queue, box.handler);
    assert.equal(consumer.consumerTag, '1');
    assert.equal(pub.status, 'connected');

    await pub.publish(exchange, key, body({ hello: 'world' }), JSON_PROPS);
    const got = await box.next();
    assert.deepEqual(JSON.parse(got.body.toString()), { hello: 'world' });
    assert.equal(got.fields.exchange, exchange);
    assert.equal(got.fields.routingKey, key);
    assert.equal(got.fields.redelivered, false);
    assert.equal(got.fields.consumerTag, '1');
    sub.ack(got);
    sub.ack(got); // a second settle is a no-op, not a 406 that would kill the channel
    await pub.publish(exchange, key, body(2), JSON_PROPS);
    sub.ack(await box.next());
  },
);

test("every publish carries exactly oslo's AMQP properties", { timeout: 15000 }, async (t) => {
  const pub = connection(t);
  const sub = connection(t, { role: 'consume' });
  const { exchange, queue, key } = await topicQueue(t, pub);
  const box = inbox();
  await sub.consume(queue, box.handler);

  await pub.publish(exchange, key, body(1), { headers: {}, mandatory: false });
  await pub.publish(exchange, key, body(2), {
    headers: { compression: 'application/x-gzip' },
    mandatory: true,
    expiration: '60000',
  });
  const plain = await box.next();
  assert.deepEqual(plain.properties, {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: {}, // present although empty
    deliveryMode: 2,
    priority: 0,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
  });
  const withTtl = await box.next();
  assert.equal(withTtl.properties.expiration, '60000');
  assert.deepEqual(withTtl.properties.headers, { compression: 'application/x-gzip' });
  assert.equal(withTtl.properties.deliveryMode, 2);
  sub.ack(plain);
  sub.ack(withTtl);
});

test(
  'a mandatory publish nobody can route rejects with MessageUndeliverable',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const { exchange, key } = await topicQueue(t, pub);
    const unroutable = `${key}.nobody`;

    await assert.rejects(
      pub.publish(exchange, unroutable, body('lost'), { headers: {}, mandatory: true }),
      (err: unknown) =>
        err instanceof MessageUndeliverable &&
        err.exchange === exchange &&
        err.routingKey === unroutable,
    );
    // Without mandatory the broker drops it silently, as oslo's casts.
    await pub.publish(exchange, unroutable, body('dropped'), JSON_PROPS);
    // Returns are matched to the right publish while many are in flight.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        pub.publish(exchange, i % 3 === 0 ? unroutable : key, body({ i }), {
          headers: {},
          mandatory: true,
        }),
      ),
    );
    outcomes.forEach((outcome, i) => {
      if (i % 3 === 0) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof MessageUndeliverable);
      } else {
        assert.equal(outcome.status, 'fulfilled', `publish ${i}`);
      }
    });
  },
);

test('a nack rejects with MessageDeliveryFailure', { timeout: 15000 }, async (t) => {
  const pub = connection(t);
  // A full queue that refuses publishes makes the broker nack.
  const { exchange, key } = await topicQueue(t, pub, {
    'x-max-length': 0,
    'x-overflow': 'reject-publish',
  });
  await assert.rejects(pub.publish(exchange, key, body('refused'), JSON_PROPS), (err: unknown) => {
    assert.ok(err instanceof MessageDeliveryFailure);
    assert.match(err.message, /nacked/);
    return true;
  });
  await pub.publish(exchange, `${key}.elsewhere`, body('fine'), JSON_PROPS);
});

test(
  'channel errors reject the operation with AmqpChannelError and the channel is replaced',
  { timeout: 15000 },
  async (t) => {
    const pub = connection(t);
    const { exchange, key } = await topicQueue(t, pub);

    // 406: the exchange exists with other flags.
    await assert.rejects(
      pub.declareExchange(exchange, 'fanout', { durable: true, autoDelete: false }),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 406,
    );
    await pub.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await pub.publish(exchange, key, body('after 406'), JSON_PROPS);

    // 404: publishing to an exchange that does not exist.
    await assert.rejects(
      pub.publish(uniq('missing_'), key, body('nowhere'), JSON_PROPS),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 404,
    );
    await pub.publish(exchange, key, body('after 404'), JSON_PROPS);

    // 404 on consume: no such queue.
    const sub = connection(t, { role: 'consume' });
    await assert.rejects(
      sub.consume(uniq('noqueue_'), () => undefined),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 404,
    );
  },
);

test(
  'exchange declares are cached per channel and issued again on a new channel',
  { timeout: 20000 },
  async (t) => {
    const name = uniq('conn_');
    const pub = connection(t, { connectionName: name });
    const admin = connection(t, { role: 'consume' });
    const exchange = uniq('x_');
    cleanup(t, { exchanges: [exchange] });
    await pub.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await pub.declareExchange(exchange, 'topic', { durable: false, autoDelete: false }); // cached

    // Deleted behind our back: the channel still thinks it declared it, so no re-declare...
    await admin.deleteExchange(exchange);
    await assert.rejects(
      pub.publish(exchange, 'k', body(1), JSON_PROPS),
      (err: unknown) => err instanceof AmqpChannelError && err.code === 404,
    );
    // ...but the next channel declares it again before publishing to it.
    await pub.publish(exchange, 'k', body(2), JSON_PROPS);

    // The same after the broker drops the connection.
    assert.equal(await forceClose(name), 1);
    await admin.deleteExchange(exchange);
    await pub.publish(exchange, 'k', body(3), JSON_PROPS); // would be a 404 without it
  },
);

test(
  'after the broker closes the connection it reconnects, re-declares and the consumer resumes',
  { timeout: 20000 },
  async (t) => {
    const pub = connection(t);
    const subName = uniq('conn_');
    const queue = uniq('q_');
    const exchange = uniq('x_');
    cleanup(t, { queues: [queue], exchanges: [exchange] });
    let topologyRuns = 0;
    const declare = async (c: Declarer): Promise<void> => {
      await c.declareExchange(exchange, 'topic', { durable: false, autoDelete: false });
      await c.declareQueue(queue, { durable: false, autoDelete: false });
      await c.bindQueue(queue, exchange, 'k');
    };
    const sub = connection(t, {
      role: 'consume',
      connectionName: subName,
      prefetch: 10,
      onReconnect: async (c) => {
        topologyRuns += 1;
        await declare(c);
      },
    });
    await declare(sub);
    const box = inbox();
    const consumer = await sub.consume(queue, box.handler);
    assert.equal(consumer.consumerTag, '1');

    await pub.publish(exchange, 'k', body('before'), JSON_PROPS);
    const unacked = await box.next();
    assert.equal(unacked.fields.redelivered, false);

    const reconnected = nextEvent(sub, 'reconnected');
    const disconnected = nextEvent(sub, 'disconnected');
    assert.equal(await forceClose(subName), 1);
    const [lostWith] = (await disconnected) as [Error];
    assert.match(lostWith.message, /CONNECTION_FORCED|forced close/);
    await reconnected;
    assert.equal(sub.status, 'connected');
    assert.equal(topologyRuns, 1);
    assert.equal(consumer.consumerTag, '2'); // a fresh tag on the new channel

    // The ack of a delivery from the dead channel is dropped quietly...
    sub.ack(unacked);
    // ...because the broker gave the message back: it comes again.
    const again = await box.next();
    assert.equal(again.fields.redelivered, true);
    assert.deepEqual(JSON.parse(again.body.toString()), 'before');
    sub.ack(again);

    await pub.publish(exchange, 'k', body('after'), JSON_PROPS);
    const after = await box.next();
    assert.deepEqual(JSON.parse(after.body.toString()), 'after');
    sub.ack(after);
  },
);

test(
  'a broker-initiated basic.cancel (queue deleted) is recovered: re-declare and consume again',
  { timeout: 20000 },
  async (t) => {
    const pub = connection(t);
    const admin = connection(t, { role: 'consume' });
    const queue = uniq('q_');
    cleanup(t, { queues: [queue] });
    const declare = (c: Declarer): Promise<void> =>
      c.declareQueue(queue, { durable: false, autoDelete: false });
    const sub = connection(t, { role: 'consume', onReconnect: declare });
    await declare(sub);
    const box = inbox();
    await sub.consume(queue, box.handler);

    const reconnected = nextEvent(sub, 'reconnected');
    await admin.deleteQueue(queue);
    await reconnected;
    // Replies go to the default exchange, routed by queue name.
    await pub.publish('', queue, body('back'), JSON_PROPS);
    const got = await box.next();
    assert.deepEqual(JSON.parse(got.body.toString()), 'back');
    sub.ack(got);
  },
);

test(
  'a failing onReconnect (406 on a re-declare) is retried with back-off until it succeeds',
  { timeout: 20000 },
  async (t) => {
    const subName = uniq('conn_');
    const queue = uniq('q_');
    cleanup(t, { queues: [queue] });
    const admin = connection(t, { role: 'consume' });
    let topologyRuns = 0;
    const declare = (c: Declarer): Promise<void> =>
      c.declareQueue(queue, { durable: false, autoDelete: false });
    const sub = connection(t, {
      role: 'consume',
      connectionName: subName,
      onReconnect: async (c) => {
        topologyRuns += 1;
        await declare(c);
      },
    });
    await declare(sub);
    const box = inbox();
    await sub.consume(queue, box.handler);
    const failures: Error[] = [];
    sub.on('connect-failed', (err) => failures.push(err));

    // While it is away, someone declares the queue with other arguments: its re-declare
    // gets 406 PRECONDITION_FAILED, and so does every retry until the queue is fixed.
    const reconnected = nextEvent(sub, 'reconnected');
    const firstFailure = new Promise<void>((resolve) =>
      sub.once('connect-failed', () => resolve()),
    );
    await admin.deleteQueue(queue); // the broker cancels sub's consumer: it reconnects
    await admin.declareQueue(queue, {
      durable: false,
      autoDelete: false,
      arguments: { 'x-max-length': 5 },
    });
    await firstFailure;
    assert.equal(sub.status, 'reconnecting');
    await admin.deleteQueue(queue);
    await reconnected;
    assert.ok(failures.length >= 1);
    assert.ok(
      failures.every((err) => /PRECONDITION_FAILED|406/.test(err.message)),
      String(failures),
    );
    assert.ok(topologyRuns >= 2);

    const pub = connection(t);
    await pub.publish('', queue, body('fixed'), JSON_PROPS);
    const got = await box.next();
    assert.deepEqual(JSON.parse(got.body.toString()), 'fixed');
    sub.ack(got);
  },
);
