/**
 * The rabbit driver reads three things amqplib does not declare in its types. Each is
 * checked here against the installed amqplib, so an upgrade that moves one fails this
 * test instead of silently losing what the driver uses it for:
 * - `ChannelModel.connection.stream`: the socket, for our local port (logged, as oslo
 *   does) and to destroy it when a broker never answers `connection.close`;
 * - `basic.return` fields `replyCode` and `replyText`, for `MessageUndeliverable`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import amqplib from 'amqplib';

import {
  closeAmqpConnection,
  openAmqpConnection,
} from '../../src/drivers/rabbit/connection-open.js';
import { resolveOptions } from '../../src/drivers/rabbit/connection-types.js';
import { silentLogger } from '../../src/log.js';
import { BROKER_URL, uniqueName } from './rabbit-test-helpers.js';

const host = { hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' };

test('amqplib internals - the connection exposes its socket: our local port, and destroy()', async () => {
  const settings = resolveOptions({ hosts: [host], role: 'publish', logger: silentLogger });
  const closed: unknown[] = [];
  const conn = await openAmqpConnection(host, settings, {
    onClose: (_c, err) => closed.push(err),
    onBlocked: () => undefined,
    onUnblocked: () => undefined,
    onHandlerError: () => undefined,
  });
  try {
    assert.equal(typeof conn.localPort, 'number', 'connection.stream.localPort');
    const stream = (conn.model.connection as unknown as { stream?: { destroy?: unknown } }).stream;
    assert.equal(typeof stream?.destroy, 'function', 'connection.stream.destroy');
  } finally {
    await closeAmqpConnection(conn, 5000);
  }
  assert.equal(conn.open, false);
  assert.equal(closed.length, 1);
});

test('amqplib internals - a basic.return carries replyCode and replyText', async () => {
  const connection = await amqplib.connect(BROKER_URL);
  try {
    const channel = await connection.createConfirmChannel();
    const returned = new Promise<amqplib.Message>((resolve) => channel.once('return', resolve));
    // The default exchange with a key that names no queue: unroutable.
    channel.publish('', uniqueName('nowhere'), Buffer.from('{}'), { mandatory: true });
    const msg = await returned;
    const fields = msg.fields as unknown as { replyCode?: unknown; replyText?: unknown };
    assert.equal(fields.replyCode, 312);
    assert.equal(fields.replyText, 'NO_ROUTE');
    await channel.close();
  } finally {
    await connection.close();
  }
});
