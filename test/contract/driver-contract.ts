/**
 * The driver contract suite: what every transport driver must do, tested through the
 * {@link Driver} interface only, so the same tests run on `fake://` and on RabbitMQ.
 *
 * ```ts
 * runDriverContract('fake driver', () => `fake:///contract-${randomUUID()}`);
 * runDriverContract('rabbit driver', () => 'rabbit://guest:guest@127.0.0.1:5672/', {
 *   deliveryTimeoutMs: 10_000,
 *   quietMs: 300,
 * });
 * ```
 *
 * Every test uses fresh topic and pool names, and cleans up its transports (and so its
 * listeners) in `t.after()`.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ConfigObject } from '../../src/config.js';
import type {
  Driver,
  DriverListener,
  IncomingMessage,
  NotificationMessage,
  RpcIncomingMessage,
  RpcReply,
} from '../../src/drivers/driver.js';
import {
  MessageUndeliverable,
  MessagingException,
  MessagingTimeout,
  RemoteError,
} from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { Target } from '../../src/target.js';
import { getTransport, type Transport, type TransportOptions } from '../../src/transport.js';

/** Options of {@link runDriverContract}. */
export interface DriverContractOptions {
  /**
   * How long to wait for a message or reply that should arrive.
   * @default 5000
   */
  deliveryTimeoutMs?: number;
  /**
   * How long to wait before concluding that nothing more arrives (absence checks).
   * @default 150
   */
  quietMs?: number;
  /** oslo options for every transport of the suite (e.g. a control exchange). */
  conf?: ConfigObject;
  /** Where the transports log. @default silentLogger */
  logger?: Logger;
  /** Tests to skip, by exact test name, with the reason. */
  skip?: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------
// Helpers

/** Collects delivered messages; lets a test wait for the n-th one. */
class Inbox<M> {
  readonly items: M[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  push(item: M): void {
    this.items.push(item);
    const ready = this.#waiters.filter((w) => this.items.length >= w.count);
    this.#waiters = this.#waiters.filter((w) => this.items.length < w.count);
    for (const w of ready) w.resolve();
  }

  get count(): number {
    return this.items.length;
  }

  /** Resolves with the first `count` items once that many arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<M[]> {
    if (this.items.length < count) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.#waiters.push({ count, resolve });
          timer = setTimeout(
            () => reject(new Error(`expected ${count} messages, got ${this.items.length} in time`)),
            timeoutMs,
          );
        });
      } finally {
        clearTimeout(timer);
      }
    }
    return this.items.slice(0, count);
  }
}

const unique = (prefix: string): string =>
  `${prefix}_${randomUUID().slice(0, 13).replace('-', '')}`;

function notification(
  priority: string,
  payload: unknown,
  eventType = 'contract.event',
): NotificationMessage {
  return {
    message_id: randomUUID(),
    publisher_id: 'contract.host1',
    event_type: eventType,
    priority,
    payload,
    timestamp: '2026-11-29 05:04:52.838860',
  };
}

const PY_FAILURE = JSON.stringify({
  class: 'OwireError',
  module: 'owire_exc',
  message: "owire failed: {'code': 409}",
  tb: [
    'Traceback (most recent call last):\n',
    "owire_exc.OwireError: owire failed: {'code': 409}\n",
  ],
  args: ["owire failed: {'code': 409}"],
  kwargs: { code: 409 },
});

/** A local class that a failure from `owire_exc.OwireError` may be rebuilt as. */
class OwireError extends Error {
  readonly kwargs: Record<string, unknown> | undefined;
  constructor(message: string, kwargs?: Record<string, unknown>) {
    super(message);
    this.name = 'OwireError';
    this.kwargs = kwargs;
  }
}

type RpcHandler = (
  message: RpcIncomingMessage,
) => RpcReply | undefined | Promise<RpcReply | undefined>;

interface Env {
  readonly topic: string;
  readonly deliveryMs: number;
  readonly quietMs: number;
  /** A new transport on the suite's broker (each test gets its own URL). */
  driver(options?: TransportOptions): Promise<Driver>;
  /** An RPC server listener that acks every request first, then replies with `handler`. */
  rpcServer(
    driver: Driver,
    target: Target,
    handler?: RpcHandler,
    maxUnsettled?: number,
  ): Promise<{ listener: DriverListener<RpcIncomingMessage>; inbox: Inbox<RpcIncomingMessage> }>;
  /** A notification listener whose callback only records; settling is the test's business. */
  notificationListener(
    driver: Driver,
    priorities: readonly string[],
    options?: {
      pool?: string;
      maxUnsettled?: number;
      topic?: string;
      onMessage?: (m: IncomingMessage) => void;
    },
  ): Promise<{ listener: DriverListener; inbox: Inbox<IncomingMessage> }>;
  /** Resolves after the quiet period, for absence checks. */
  quiet(): Promise<void>;
}

/**
 * Register the contract tests against the driver behind `makeTransportUrl()`. Each test
 * calls it once; transports made from the same URL must share one broker.
 */
export function runDriverContract(
  name: string,
  makeTransportUrl: () => string,
  options: DriverContractOptions = {},
): void {
  const deliveryMs = options.deliveryTimeoutMs ?? 5000;
  const quietMs = options.quietMs ?? 150;
  const logger = options.logger ?? silentLogger;

  async function setup(t: TestContext): Promise<Env> {
    const url = makeTransportUrl();
    const transports: Transport[] = [];
    const listeners: DriverListener<IncomingMessage>[] = [];
    t.after(async () => {
      for (const listener of listeners) await listener.cleanup();
      for (const transport of transports) await transport.cleanup();
    });
    const driver = async (transportOptions: TransportOptions = {}): Promise<Driver> => {
      const transport = getTransport(options.conf ?? {}, { logger, ...transportOptions, url });
      transports.push(transport);
      return transport._driver();
    };
    const topic = unique('contract');
    return {
      topic,
      deliveryMs,
      quietMs,
      driver,
      quiet: () => sleep(quietMs),
      async rpcServer(driver, target, handler = () => ({ result: null }), maxUnsettled = 16) {
        const listener = await driver.listen(target, { maxUnsettled });
        listeners.push(listener);
        const inbox = new Inbox<RpcIncomingMessage>();
        await listener.start((message) => {
          inbox.push(message);
          void (async () => {
            await message.acknowledge();
            const reply = await handler(message);
            if (reply !== undefined) await message.reply(reply);
          })().catch((err: unknown) => t.diagnostic(`rpc handler failed: ${String(err)}`));
        });
        return { listener, inbox };
      },
      async notificationListener(driver, priorities, listenOptions = {}) {
        const target = new Target({ topic: listenOptions.topic ?? topic });
        const listener = await driver.listenForNotifications(
          priorities.map((priority) => ({ target, priority })),
          listenOptions.pool,
          { maxUnsettled: listenOptions.maxUnsettled ?? 16 },
        );
        listeners.push(listener);
        const inbox = new Inbox<IncomingMessage>();
        await listener.start((message) => {
          inbox.push(message);
          listenOptions.onMessage?.(message);
        });
        return { listener, inbox };
      },
    };
  }

  const it = (testName: string, fn: (env: Env, t: TestContext) => Promise<void>): void => {
    const reason = options.skip?.[testName];
    test(testName, reason === undefined ? {} : { skip: reason }, async (t) =>
      fn(await setup(t), t),
    );
  };

  describe(`driver contract: ${name}`, () => {
    // ----------------------------------------------------------------------------- RPC

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
      await env.rpcServer(
        await env.driver(),
        new Target({ topic: env.topic, server: 's1' }),
        () => ({
          failure: PY_FAILURE,
        }),
      );
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
      await env.rpcServer(
        await env.driver(),
        new Target({ topic: env.topic, server: 's1' }),
        () => ({
          failure: PY_FAILURE,
        }),
      );
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
      await env.rpcServer(
        await env.driver(),
        new Target({ topic: env.topic, server: 's1' }),
        () => ({
          result: 'ok',
        }),
      );
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
      await sleep(20);
      await client.cleanup();
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof MessagingException);
        assert.ok(!(err instanceof MessagingTimeout));
        return true;
      });
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
      for (const bad of [circular, () => 1, Number.NaN, Symbol('s')]) {
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

    // --------------------------------------------------------------------- Notifications

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
  });
}
