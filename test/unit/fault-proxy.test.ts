/**
 * The cluster tests' TCP fault proxy (test/cluster/fault-proxy.ts), on an echo server
 * of this process: pass, delay, black hole and cut, per connection and for new ones.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FaultProxy } from '../cluster/fault-proxy.js';

/** An echo server; `closedByPeer` counts connections whose client side ended. */
async function echoServer(t: TestContext): Promise<{ port: number; closedByPeer: () => number }> {
  let closed = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return { port: address.port, closedByPeer: () => closed };
}

async function proxyFor(t: TestContext, port: number): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ targetPort: port });
  t.after(() => proxy.close());
  return proxy;
}

/** A client with what it received so far and whether it saw the end. */
async function client(t: TestContext, port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const state = { received: '', ended: false };
  socket.on('data', (chunk: Buffer) => (state.received += chunk.toString()));
  socket.on('close', () => (state.ended = true));
  await once(socket, 'connect');
  t.after(() => socket.destroy());
  return { socket, state };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('fault proxy - pass forwards both ways and counts bytes', async (t) => {
  const echo = await echoServer(t);
  const proxy = await proxyFor(t, echo.port);
  const c = await client(t, proxy.port);
  c.socket.write('hello');
  await until(() => c.state.received === 'hello', 2000, 'the echo');
  const [conn] = proxy.connections();
  assert.ok(conn !== undefined);
  assert.equal(conn.bytesUp, 5);
  assert.equal(conn.bytesDown, 5);
  assert.equal(proxy.accepted, 1);
});

test('fault proxy - delay holds every chunk in order, then pass resumes without reordering', async (t) => {
  const echo = await echoServer(t);
  const proxy = await proxyFor(t, echo.port);
  const c = await client(t, proxy.port);
  proxy.connections()[0]!.set('delay', 1000);
  c.socket.write('a');
  await sleep(20);
  c.socket.write('b');
  // Held by the delay (1 s each way): nothing has come back yet.
  assert.equal(c.state.received, '');
  proxy.connections()[0]!.set('pass');
  c.socket.write('c');
  await until(() => c.state.received.length === 3, 10_000, 'three bytes');
  assert.equal(c.state.received, 'abc');
});

test('fault proxy - a black hole drops traffic both ways and tells neither side', async (t) => {
  const echo = await echoServer(t);
  const proxy = await proxyFor(t, echo.port);
  const c = await client(t, proxy.port);
  c.socket.write('x');
  await until(() => c.state.received === 'x', 2000, 'the first echo');
  proxy.connections()[0]!.set('blackhole');
  c.socket.write('lost');
  await sleep(200);
  assert.equal(c.state.received, 'x', 'nothing came back');
  assert.equal(c.state.ended, false, 'the client saw no FIN or RST');
  assert.equal(echo.closedByPeer(), 0, 'the server saw no FIN or RST');
  // The client gives up (as after a heartbeat timeout): the server still hears nothing.
  c.socket.destroy();
  await sleep(100);
  assert.equal(echo.closedByPeer(), 0);
  assert.equal(proxy.connections().length, 1);
  proxy.connections()[0]!.close();
  await until(() => echo.closedByPeer() === 1, 2000, 'the server side to close');
});

test('fault proxy - cut closes both sides of one connection and leaves the others', async (t) => {
  const echo = await echoServer(t);
  const proxy = await proxyFor(t, echo.port);
  const a = await client(t, proxy.port);
  const b = await client(t, proxy.port);
  await until(() => proxy.connections().length === 2, 2000, 'two connections');
  proxy.connections()[0]!.set('cut');
  await until(() => a.state.ended, 2000, 'the first client to see the close');
  await until(() => echo.closedByPeer() === 1, 2000, 'the server side to close');
  b.socket.write('still here');
  await until(() => b.state.received === 'still here', 2000, 'the second echo');
});

test('fault proxy - new connections: black-holed ones are never answered, cut ones are closed at once', async (t) => {
  const echo = await echoServer(t);
  const proxy = await proxyFor(t, echo.port);
  proxy.setDefault('blackhole');
  const silent = await client(t, proxy.port);
  silent.socket.write('anyone?');
  await sleep(150);
  assert.equal(silent.state.received, '');
  assert.equal(silent.state.ended, false);
  proxy.setDefault('cut');
  const refused = await client(t, proxy.port);
  await until(() => refused.state.ended, 2000, 'the close');
  proxy.setDefault('pass');
  const fine = await client(t, proxy.port);
  fine.socket.write('ok');
  await until(() => fine.state.received === 'ok', 2000, 'the echo');
});

test('fault proxy - the server closing a passing connection closes the client side', async (t) => {
  const server = createServer((socket) => socket.end('bye'));
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const proxy = await proxyFor(t, address.port);
  const c = await client(t, proxy.port);
  await until(() => c.state.ended, 2000, 'the close');
  assert.equal(c.state.received, 'bye');
  await until(() => proxy.connections().length === 0, 2000, 'the proxy to forget it');
});
