/**
 * The rabbit driver reads three things amqplib does not declare in its types. Each is
 * checked here against the installed amqplib, so an upgrade that moves one fails this
 * test instead of silently losing what the driver uses it for:
 * - `ChannelModel.connection.stream`: the socket, for our local port (logged, as oslo
 *   does) and to destroy it when a broker never answers `connection.close`;
 * - `basic.return` fields `replyCode` and `replyText`, for `MessageUndeliverable`;
 * - `ChannelModel.connection.muxer._readIncoming` and the socket's `cork`/`uncork`, to
 *   write the frames amqplib queued in one event-loop turn with one system call.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';

import amqplib from 'amqplib';

import {
  closeAmqpConnection,
  coalesceWrites,
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

test('amqplib internals - frames queued in one turn reach the broker in one write, intact and in order', async () => {
  const connection = await amqplib.connect(BROKER_URL);
  const queue = uniqueName('coalesce');
  try {
    assert.equal(coalesceWrites(connection), true, 'muxer._readIncoming and stream.cork exist');
    let writes = 0;
    const socket = (connection.connection as unknown as { stream: Socket }).stream;
    const bytesBefore = socket.bytesWritten;
    // Count the chunks the socket hands to the kernel: one writev for a corked burst.
    const handle = (socket as unknown as { _handle: Record<string, unknown> })._handle;
    const writev = handle['writev'] as ((...args: unknown[]) => unknown) | undefined;
    const writeBuffer = handle['writeBuffer'] as ((...args: unknown[]) => unknown) | undefined;
    assert.equal(typeof writev, 'function');
    handle['writev'] = (...args: unknown[]) => {
      writes += 1;
      return writev!.apply(handle, args);
    };
    handle['writeBuffer'] = (...args: unknown[]) => {
      writes += 1;
      return writeBuffer!.apply(handle, args);
    };
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { exclusive: true });
    writes = 0;
    const count = 10;
    const confirms: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += 1) {
      confirms.push(
        new Promise<void>((resolve, reject) =>
          channel.sendToQueue(queue, Buffer.from(JSON.stringify({ i })), {}, (err) =>
            err ? reject(err as Error) : resolve(),
          ),
        ),
      );
    }
    await Promise.all(confirms);
    // Ten publishes of three frames each, queued in one turn: one system call, not 30.
    assert.equal(writes, 1, `socket writes for ${count} publishes`);
    assert.ok(socket.bytesWritten > bytesBefore);
    const got: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const msg = await channel.get(queue, { noAck: true });
      assert.ok(msg !== false);
      got.push((JSON.parse(msg.content.toString()) as { i: number }).i);
    }
    assert.deepEqual(got, [...Array(count).keys()]);
    await channel.close();
  } finally {
    await connection.close();
  }
});
