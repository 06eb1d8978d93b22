/**
 * The cluster tests' port mapper (test/cluster/fake-epmd.ts), spoken to in Erlang's epmd
 * protocol from raw sockets: registration, routed lookups, names, and unregistration.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { FakeEpmd } from '../cluster/fake-epmd.js';

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length, 0);
  return Buffer.concat([head, body]);
}

function alive2(name: string, port: number, highest = 6): Buffer {
  const n = Buffer.from(name);
  const body = Buffer.alloc(13 + n.length);
  let at = body.writeUInt8(120, 0);
  at = body.writeUInt16BE(port, at);
  at = body.writeUInt8(77, at); // normal node
  at = body.writeUInt8(0, at); // tcp
  at = body.writeUInt16BE(highest, at);
  at = body.writeUInt16BE(5, at);
  at = body.writeUInt16BE(n.length, at);
  at += n.copy(body, at);
  body.writeUInt16BE(0, at);
  return frame(body);
}

async function open(t: TestContext, port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  t.after(() => socket.destroy());
  return socket;
}

/** Sends one request and collects everything until the mapper closes the connection. */
async function ask(t: TestContext, port: number, request: Buffer): Promise<Buffer> {
  const socket = await open(t, port);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(request);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

async function register(t: TestContext, port: number, name: string, distPort: number) {
  const socket = await open(t, port);
  socket.write(alive2(name, distPort));
  const [reply] = (await once(socket, 'data')) as [Buffer];
  return { socket, reply };
}

function portPlease(name: string): Buffer {
  return frame(Buffer.concat([Buffer.from([122]), Buffer.from(name)]));
}

test('fake epmd - a registered node is found; lookups are routed by who asks', async (t) => {
  const epmd = new FakeEpmd((asker, target) =>
    asker === 'a' && target === 'b' ? 4242 : undefined,
  );
  t.after(() => epmd.close());
  const forA = await epmd.listen('a');
  const forB = await epmd.listen('b');
  const { reply } = await register(t, forB, 'b', 31000);
  assert.equal(reply[0], 118, 'ALIVE2_X_RESP');
  assert.equal(reply[1], 0, 'accepted');
  assert.ok(reply.readUInt32BE(2) > 3, 'a creation');

  const viaA = await ask(t, forA, portPlease('b'));
  assert.equal(viaA[0], 119);
  assert.equal(viaA[1], 0);
  assert.equal(viaA.readUInt16BE(2), 4242, 'a is sent to its proxy');
  assert.equal(viaA.readUInt16BE(6), 6, 'the highest version the node registered');
  const nameLength = viaA.readUInt16BE(10);
  assert.equal(viaA.subarray(12, 12 + nameLength).toString(), 'b');

  const viaB = await ask(t, forB, portPlease('b'));
  assert.equal(viaB.readUInt16BE(2), 31000, 'anyone else gets the real port');

  const missing = await ask(t, forA, portPlease('nobody'));
  assert.deepEqual([...missing], [119, 1]);
});

test('fake epmd - names lists the registered nodes; closing the registration unregisters', async (t) => {
  const epmd = new FakeEpmd();
  t.after(() => epmd.close());
  const port = await epmd.listen('x');
  const one = await register(t, port, 'one', 30001);
  await register(t, port, 'two', 30002);
  const names = await ask(t, port, frame(Buffer.from([110])));
  assert.equal(names.readUInt32BE(0), port);
  assert.equal(names.subarray(4).toString(), 'name one at port 30001\nname two at port 30002\n');

  // A second registration of a live name is refused, as epmd does.
  const again = await register(t, port, 'one', 30009);
  assert.equal(again.reply[1], 1);

  one.socket.destroy();
  await once(one.socket, 'close');
  for (let i = 0; i < 100 && epmd.entries().some((e) => e.name === 'one'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(
    epmd.entries().map((e) => e.name),
    ['two'],
  );
  const back = await register(t, port, 'one', 30011);
  assert.equal(back.reply[1], 0, 'the name is free again');
});

test('fake epmd - an old node (version 5) gets the 2-byte creation reply; junk closes the connection', async (t) => {
  const epmd = new FakeEpmd();
  t.after(() => epmd.close());
  const port = await epmd.listen('x');
  const socket = await open(t, port);
  socket.write(alive2('old', 30003, 5));
  const [reply] = (await once(socket, 'data')) as [Buffer];
  assert.equal(reply.length, 4);
  assert.equal(reply[0], 121, 'ALIVE2_RESP');
  const junk = await ask(t, port, frame(Buffer.from([1, 2, 3])));
  assert.equal(junk.length, 0);
});
