/**
 * RPC cases of the driver contract: casts, calls, routing, replies, failures, heartbeats.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  MessageUndeliverable,
  MessagingException,
  MessagingTimeout,
  RemoteError,
} from '../../src/errors.js';
import { Target } from '../../src/target.js';
import { OwireError, PY_FAILURE, notification, unique, type ContractTest } from './harness.js';

/** Registers the RPC cases with `it`. */
export function rpcContract(it: ContractTest): void {
  it('cast is delivered to a server of the topic with its context and arguments', async (env) => {
    const server = await env.driver();
    const client = await env.driver();
    const { inbox } = await env.rpcServer(server, new Target({ topic: env.topic, server: 's1' }));
    const ctxt = { user_id: 'u-1', roles: ['admin'], nested: { a: [1, 2] } };
    await client.send(
      new Target({ topic: env.topic }),
      ctxt,
      { method: 'echo', args: { text: 'café', n: 1 } },
      { waitForReply: false },
    );
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    assert.ok(message);
    assert.equal(message.msgId, undefined);
    assert.deepEqual(message.message, { method: 'echo', args: { text: 'café', n: 1 } });
    // oslo leaves client_timeout in the context it hands to endpoints (null for casts).
    assert.deepEqual(message.ctxt, { ...ctxt, client_timeout: null });
    assert.equal(message.callMonitorTimeoutMs, undefined);
  });

  it('namespace and version travel with the request', async (env) => {
    const server = await env.driver();
    const { inbox } = await env.rpcServer(server, new Target({ topic: env.topic, server: 's1' }));
    await server.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'm', args: {}, namespace: 'ns', version: '1.3' },
      { waitForReply: false },
    );
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    assert.deepEqual(message?.message, {
      method: 'm',
      args: {},
      namespace: 'ns',
      version: '1.3',
    });
  });

  it('call gets the reply', async (env) => {
    const server = await env.driver();
    const client = await env.driver();
    const { inbox } = await env.rpcServer(
      server,
      new Target({ topic: env.topic, server: 's1' }),
      (m) => ({ result: { doubled: (m.message['args'] as { x: number }).x * 2 } }),
    );
    const result = await client.send(
      new Target({ topic: env.topic }),
      { user_id: 'u-1' },
      { method: 'double', args: { x: 21 } },
      { waitForReply: true, timeoutMs: env.deliveryMs },
    );
    assert.deepEqual(result, { doubled: 42 });
    const [message] = inbox.items;
    assert.match(message?.msgId ?? '', /^[0-9a-f]{32}$/);
    assert.deepEqual(message?.ctxt, { user_id: 'u-1', client_timeout: null });
  });

  it('call resolves with null when the method returns nothing', async (env) => {
    const server = await env.driver();
    await env.rpcServer(server, new Target({ topic: env.topic, server: 's1' }));
    const result = await server.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'nothing', args: {} },
      { waitForReply: true, timeoutMs: env.deliveryMs },
    );
    assert.equal(result, null);
  });

  it('server-directed call reaches only that server', async (env) => {
    const client = await env.driver();
    for (const name of ['s1', 's2']) {
      await env.rpcServer(
        await env.driver(),
        new Target({ topic: env.topic, server: name }),
        () => ({
          result: name,
        }),
      );
    }
    const target = new Target({ topic: env.topic, server: 's2' });
    for (let i = 0; i < 6; i++) {
      const result = await client.send(
        target,
        {},
        { method: 'who', args: {} },
        {
          waitForReply: true,
          timeoutMs: env.deliveryMs,
        },
      );
      assert.equal(result, 's2');
    }
  });

  it('fanout cast reaches every server of the topic once', async (env) => {
    const client = await env.driver();
    const servers = [];
    for (const name of ['s1', 's2', 's3']) {
      servers.push(
        await env.rpcServer(await env.driver(), new Target({ topic: env.topic, server: name })),
      );
    }
    await client.send(
      new Target({ topic: env.topic, fanout: true }),
      {},
      { method: 'broadcast', args: { n: 1 } },
      { waitForReply: false },
    );
    for (const { inbox } of servers) await inbox.waitFor(1, env.deliveryMs);
    await env.quiet();
    for (const { inbox } of servers) {
      assert.equal(inbox.count, 1);
      assert.deepEqual(inbox.items[0]?.message, { method: 'broadcast', args: { n: 1 } });
    }
  });

  it('fanout ignores Target.exchange', async (env) => {
    const client = await env.driver();
    const { inbox } = await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
    );
    await client.send(
      new Target({ topic: env.topic, fanout: true, exchange: unique('other_exchange') }),
      {},
      { method: 'broadcast', args: {} },
      { waitForReply: false },
    );
    await inbox.waitFor(1, env.deliveryMs);
  });

  it('competing servers share the topic queue: each request goes to exactly one', async (env) => {
    const client = await env.driver();
    const servers = [];
    for (const name of ['s1', 's2']) {
      servers.push(
        await env.rpcServer(await env.driver(), new Target({ topic: env.topic, server: name })),
      );
    }
    const total = 10;
    for (let i = 0; i < total; i++) {
      await client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'work', args: { i } },
        { waitForReply: false },
      );
    }
    const deadline = Date.now() + env.deliveryMs;
    while (servers.reduce((n, s) => n + s.inbox.count, 0) < total && Date.now() < deadline) {
      await sleep(10);
    }
    await env.quiet();
    const seen = servers.flatMap((s) =>
      s.inbox.items.map((m) => (m.message['args'] as { i: number }).i),
    );
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      [...Array(total).keys()],
    );
    for (const server of servers) assert.ok(server.inbox.count > 0, 'every server got work');
  });

  it('concurrent calls each get their own reply', async (env) => {
    const client = await env.driver();
    for (const name of ['s1', 's2']) {
      await env.rpcServer(
        await env.driver(),
        new Target({ topic: env.topic, server: name }),
        async (m) => {
          const { i } = m.message['args'] as { i: number };
          await sleep((i * 7) % 20);
          return { result: i * 10 };
        },
      );
    }
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        client.send(
          new Target({ topic: env.topic }),
          {},
          { method: 'times10', args: { i } },
          {
            waitForReply: true,
            timeoutMs: env.deliveryMs,
          },
        ),
      ),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 25 }, (_, i) => i * 10),
    );
  });

  it('call to a topic nobody listens on rejects with MessagingTimeout', async (env) => {
    const client = await env.driver();
    await assert.rejects(
      client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'm', args: {} },
        {
          waitForReply: true,
          timeoutMs: 150,
        },
      ),
      (err: unknown) => {
        assert.ok(err instanceof MessagingTimeout);
        assert.match(err.message, /^Timed out waiting for a reply to message ID [0-9a-f]{32}$/);
        return true;
      },
    );
  });

  it('cast to a topic nobody listens on is dropped silently', async (env) => {
    const client = await env.driver();
    await client.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'm', args: {} },
      {
        waitForReply: false,
      },
    );
  });

  it('a remote failure arrives as RemoteError when its module is not allowed', async (env) => {
    const client = await env.driver();
    await env.rpcServer(await env.driver(), new Target({ topic: env.topic, server: 's1' }), () => ({
      failure: PY_FAILURE,
    }));
    await assert.rejects(
      client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'fail', args: {} },
        {
          waitForReply: true,
          timeoutMs: env.deliveryMs,
        },
      ),
      (err: unknown) => {
        assert.ok(err instanceof RemoteError);
        assert.equal(err.excType, 'OwireError');
        assert.equal(err.module, 'owire_exc');
        assert.equal(err.value, "owire failed: {'code': 409}");
        assert.deepEqual(err.kwargs, { code: 409 });
        assert.equal(err.traceback.length, 2);
        return true;
      },
    );
  });

  it('a remote failure from an allowed, registered module is rebuilt as the local class', async (env) => {
    const client = await env.driver({
      allowedRemoteExmods: ['owire_exc'],
      remoteExceptions: { owire_exc: { OwireError } },
    });
    await env.rpcServer(await env.driver(), new Target({ topic: env.topic, server: 's1' }), () => ({
      failure: PY_FAILURE,
    }));
    await assert.rejects(
      client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'fail', args: {} },
        {
          waitForReply: true,
          timeoutMs: env.deliveryMs,
        },
      ),
      (err: unknown) => {
        assert.ok(err instanceof OwireError);
        assert.deepEqual(err.kwargs, { code: 409 });
        return true;
      },
    );
  });

  it('atLeastOnce call or cast to nobody rejects with MessageUndeliverable', async (env) => {
    const client = await env.driver();
    for (const waitForReply of [true, false]) {
      await assert.rejects(
        client.send(
          new Target({ topic: env.topic }),
          {},
          { method: 'm', args: {} },
          {
            waitForReply,
            timeoutMs: env.deliveryMs,
            atLeastOnce: true,
          },
        ),
        (err: unknown) => {
          assert.ok(err instanceof MessageUndeliverable);
          assert.equal(err.routingKey, env.topic);
          return true;
        },
      );
    }
  });

  it('atLeastOnce call to a listening server succeeds', async (env) => {
    const client = await env.driver();
    await env.rpcServer(await env.driver(), new Target({ topic: env.topic, server: 's1' }), () => ({
      result: 'ok',
    }));
    const result = await client.send(
      new Target({ topic: env.topic, server: 's1' }),
      {},
      { method: 'm', args: {} },
      { waitForReply: true, timeoutMs: env.deliveryMs, atLeastOnce: true },
    );
    assert.equal(result, 'ok');
  });

  it('heartbeats keep a call alive past its call-monitor timeout', async (env) => {
    const client = await env.driver();
    await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      async (m) => {
        // Heartbeats for well over the caller's call-monitor timeout, then the result.
        for (let i = 0; i < 10; i++) {
          await sleep(60);
          await m.heartbeat();
        }
        return { result: 'finished' };
      },
    );
    const result = await client.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'slow', args: {} },
      { waitForReply: true, timeoutMs: env.deliveryMs + 2000, callMonitorTimeoutMs: 300 },
    );
    assert.equal(result, 'finished');
  });

  it('a call whose server sends no heartbeat fails on the call monitor', async (env) => {
    const client = await env.driver();
    await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      () => undefined,
    );
    await assert.rejects(
      client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'hang', args: {} },
        {
          waitForReply: true,
          timeoutMs: 60_000,
          callMonitorTimeoutMs: 200,
        },
      ),
      (err: unknown) => {
        assert.ok(err instanceof MessagingTimeout);
        assert.match(err.message, /heartbeat/);
        return true;
      },
    );
  });

  it('the call-monitor timeout reaches the server as _timeout in whole seconds', async (env) => {
    const client = await env.driver();
    const { inbox } = await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      () => ({ result: 'ok' }),
    );
    await client.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'm', args: {} },
      {
        waitForReply: true,
        timeoutMs: env.deliveryMs,
        callMonitorTimeoutMs: 4000,
      },
    );
    const [message] = inbox.items;
    assert.equal(message?.callMonitorTimeoutMs, 4000);
    assert.equal(message?.ctxt['client_timeout'], 4);
  });

  it('reply() and heartbeat() on a cast are no-ops', async (env) => {
    const server = await env.driver();
    const { inbox } = await env.rpcServer(
      server,
      new Target({ topic: env.topic, server: 's1' }),
      () => undefined,
    );
    await server.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'm', args: {} },
      {
        waitForReply: false,
      },
    );
    const [message] = await inbox.waitFor(1, env.deliveryMs);
    await message?.reply({ result: 'ignored' });
    await message?.heartbeat();
  });

  it("abort rejects a waiting call with the signal's reason", async (env) => {
    const client = await env.driver();
    await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      () => undefined,
    );
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const call = client.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'm', args: {} },
      {
        waitForReply: true,
        timeoutMs: 60_000,
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(call, (err) => err === reason);
  });

  it('cleanup() rejects pending calls with a MessagingException', async (env) => {
    const client = await env.driver();
    await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      () => undefined,
    );
    const call = client.send(
      new Target({ topic: env.topic }),
      {},
      { method: 'm', args: {} },
      {
        waitForReply: true,
        timeoutMs: 60_000,
      },
    );
    // Attach the handler before cleanup, so the rejection is never unhandled.
    const outcome = assert.rejects(call, (err: unknown) => {
      assert.ok(err instanceof MessagingException, 'a MessagingException');
      assert.ok(!(err instanceof MessagingTimeout), 'not a timeout');
      return true;
    });
    await sleep(20);
    await client.cleanup();
    await outcome;
  });

  it('an unserialisable argument or result fails with TypeError at send time', async (env) => {
    const client = await env.driver();
    const { inbox } = await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      () => undefined,
    );
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    // (NaN and bigints are JSON data: Python writes and reads them.)
    for (const bad of [circular, () => 1, Symbol('s')]) {
      for (const waitForReply of [false, true]) {
        await assert.rejects(
          client.send(
            new Target({ topic: env.topic }),
            {},
            { method: 'm', args: { bad } },
            {
              waitForReply,
              timeoutMs: env.deliveryMs,
            },
          ),
          TypeError,
        );
      }
    }
    await assert.rejects(
      client.sendNotification(
        new Target({ topic: env.topic }),
        {},
        notification('INFO', { bad: circular }),
        2,
        undefined,
      ),
      TypeError,
    );
    await env.quiet();
    assert.equal(inbox.count, 0, 'nothing was sent');
  });

  it('reply() rejects with TypeError for an unserialisable result, and a failure can follow', async (env) => {
    const client = await env.driver();
    const outcome: unknown[] = [];
    await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      async (m) => {
        try {
          await m.reply({ result: { fn: () => 1 } });
        } catch (err) {
          outcome.push(err);
        }
        return { failure: PY_FAILURE };
      },
    );
    await assert.rejects(
      client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'm', args: {} },
        {
          waitForReply: true,
          timeoutMs: env.deliveryMs,
        },
      ),
      RemoteError,
    );
    assert.ok(outcome[0] instanceof TypeError);
  });

  it('stop() ends delivery; the queue keeps what arrives after', async (env) => {
    const client = await env.driver();
    const first = await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's1' }),
      () => undefined,
    );
    const cast = (i: number): Promise<unknown> =>
      client.send(
        new Target({ topic: env.topic }),
        {},
        { method: 'm', args: { i } },
        {
          waitForReply: false,
        },
      );
    await cast(1);
    await first.inbox.waitFor(1, env.deliveryMs);
    await first.listener.stop();
    await cast(2);
    await env.quiet();
    assert.equal(first.inbox.count, 1);
    await first.listener.cleanup();
    const second = await env.rpcServer(
      await env.driver(),
      new Target({ topic: env.topic, server: 's2' }),
      () => undefined,
    );
    const [message] = await second.inbox.waitFor(1, env.deliveryMs);
    assert.deepEqual(message?.message['args'], { i: 2 });
  });
}
