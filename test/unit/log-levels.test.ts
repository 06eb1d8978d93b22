/**
 * Log levels match oslo.messaging 14.0.3's for the same events (upstream HEAD logs them
 * at the same levels). Each row names the event, the level oslo logs it at (Python's
 * `exception` and `critical` are our `error`, `warning` our `warn`), the text of our
 * line, and makes it happen on fake://. The RabbitMQ driver's connection events are in
 * test/functional/rabbit-log-levels.test.ts; docs/observability.md has the table.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { fakeVirtualHost } from '../../src/drivers/fake/broker.js';
import {
  expectedExceptions,
  getNotificationListener,
  getNotificationTransport,
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  MessagingTimeout,
  Notifier,
  RemoteError,
  Target,
  type Transport,
} from '../../src/index.js';
import { fakeVirtualHostOf, uniqueFakeUrl } from '../../src/testing/index.js';
import { encodeEnvelope } from '../../src/wire/envelope.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';

type PythonLevel = 'debug' | 'info' | 'warning' | 'error' | 'exception';
const OURS = {
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  exception: 'error',
} as const;

const hex = (): string => randomBytes(16).toString('hex');

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i += 1) await new Promise((r) => setTimeout(r, 5));
}

class Gone extends Error {}

interface Env {
  transport: Transport;
  logger: RecordingLogger;
  /** Publish a raw body to the transport's fake broker. */
  publish(routingKey: string, body: string, exchange?: string): void;
  /** Start an RPC server on topic `t`, server `s1`, with these endpoint methods. */
  server(methods: Record<string, unknown>): Promise<void>;
}

async function env(t: test.TestContext, notifications = false): Promise<Env> {
  const logger = new RecordingLogger();
  const url = uniqueFakeUrl();
  const transport = notifications
    ? getNotificationTransport(url, { logger, tracing: false, metrics: false })
    : getRpcTransport(url, { logger, tracing: false, metrics: false });
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const close of closers) await close();
    await transport.cleanup();
  });
  const vhost = fakeVirtualHost(fakeVirtualHostOf(transport));
  return {
    transport,
    logger,
    publish: (key, body, exchange = 'openstack') => void vhost.publish(exchange, key, body),
    server: async (methods) => {
      const server = getRpcServer(transport, { topic: 't', server: 's1' }, [methods]);
      closers.push(() => server.close());
      await server.start();
    },
  };
}

function rpcRequest(fields: Record<string, unknown>): string {
  return encodeEnvelope({ method: 'echo', args: {}, _unique_id: hex(), ...fields });
}

interface Row {
  readonly event: string;
  /** What oslo.messaging 14.0.3 logs it with. */
  readonly oslo: PythonLevel;
  /** A text of our line. */
  readonly text: string;
  run(t: test.TestContext): Promise<RecordingLogger>;
}

const ROWS: Row[] = [
  {
    event: 'an RPC endpoint raises an expected exception',
    oslo: 'debug',
    text: 'Expected exception during message handling',
    async run(t) {
      const e = await env(t);
      await e.server({
        show: expectedExceptions(Gone)(() => {
          throw new Gone('no such instance');
        }),
      });
      await assert.rejects(getRpcClient(e.transport, { topic: 't' }).call({}, 'show'));
      return e.logger;
    },
  },
  {
    event: 'an RPC endpoint raises an unexpected exception',
    oslo: 'exception',
    text: 'Exception during message handling',
    async run(t) {
      const e = await env(t);
      await e.server({
        boom: () => {
          throw new RangeError('out of range');
        },
      });
      await assert.rejects(getRpcClient(e.transport, { topic: 't' }).call({}, 'boom'));
      return e.logger;
    },
  },
  {
    event: 'an RPC request for a method no endpoint has (NoSuchMethod)',
    oslo: 'exception',
    text: 'Exception during message handling',
    async run(t) {
      const e = await env(t);
      await e.server({ echo: () => 1 });
      await assert.rejects(getRpcClient(e.transport, { topic: 't' }).call({}, 'nope'));
      return e.logger;
    },
  },
  {
    event: 'a missing `*_ignore_errors` method',
    oslo: 'debug',
    text: 'Method reset_ignore_errors not found',
    async run(t) {
      const e = await env(t);
      await e.server({ echo: () => 1 });
      await assert.rejects(
        getRpcClient(e.transport, { topic: 't' }).call({}, 'reset_ignore_errors'),
      );
      return e.logger;
    },
  },
  {
    event: 'an RPC request for a version no endpoint supports (UnsupportedVersion)',
    oslo: 'exception',
    text: 'Exception during message handling',
    async run(t) {
      const e = await env(t);
      await e.server({ echo: () => 1 });
      const client = getRpcClient(e.transport, { topic: 't', version: '9.0' });
      await assert.rejects(client.call({}, 'echo'), RemoteError);
      return e.logger;
    },
  },
  {
    event: 'a malformed message (not JSON, bad envelope) is rejected',
    oslo: 'exception',
    text: 'Failed to process message ... skipping it',
    async run(t) {
      const e = await env(t);
      await e.server({ echo: () => 1 });
      e.publish('t', 'not json');
      await until(() => e.transport.rejectedMessages === 1);
      return e.logger;
    },
  },
  {
    event: 'a duplicate message (same `_unique_id`) is dropped',
    oslo: 'exception',
    text: 'ignoring duplicate message',
    async run(t) {
      const e = await env(t);
      let calls = 0;
      await e.server({ echo: () => void (calls += 1) });
      const body = rpcRequest({});
      e.publish('t', body);
      e.publish('t', body);
      await until(() => e.logger.lines.some((l) => l.text.includes('duplicate')));
      assert.equal(calls, 1);
      return e.logger;
    },
  },
  {
    event: 'a client sends an invalid call-monitor `_timeout`',
    oslo: 'warning',
    text: 'Client provided an invalid timeout value',
    async run(t) {
      const e = await env(t);
      let calls = 0;
      await e.server({ echo: () => void (calls += 1) });
      e.publish('t', rpcRequest({ _timeout: 'soon' }));
      await until(() => calls === 1);
      return e.logger;
    },
  },
  {
    event: "the caller's reply queue is gone: the reply is dropped",
    oslo: 'warning',
    text: "reply_gone doesn't exist, drop reply to",
    async run(t) {
      const e = await env(t);
      await e.server({ echo: () => 1 });
      e.publish('t', rpcRequest({ _msg_id: hex(), _reply_q: 'reply_gone' }));
      await until(() => e.logger.lines.some((l) => l.text.includes('reply_gone')));
      return e.logger;
    },
  },
  {
    event: 'a reply arrives for a call nobody waits for any more',
    oslo: 'info',
    text: 'No calling threads waiting for msg_id',
    async run(t) {
      const e = await env(t);
      let release = (): void => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      await e.server({ slow: () => held.then(() => 1) });
      const client = getRpcClient(e.transport, { topic: 't' }, { timeout: 50 });
      await assert.rejects(client.call({}, 'slow'), MessagingTimeout);
      release();
      await until(() => e.logger.lines.some((l) => l.text.includes('No calling threads')));
      return e.logger;
    },
  },
  {
    event: 'a notification endpoint raises',
    oslo: 'exception',
    text: 'raised an exception while handling',
    async run(t) {
      const e = await env(t, true);
      const listener = getNotificationListener(
        e.transport,
        [new Target({ topic: 'n' })],
        [
          {
            info: () => {
              throw new Error('handler failed');
            },
          },
        ],
      );
      t.after(() => listener.close());
      await listener.start();
      await new Notifier(e.transport, { driver: 'messagingv2', topics: ['n'] }).info({}, 'x.y', {});
      await until(() => e.logger.lines.some((l) => l.text.includes('raised an exception')));
      return e.logger;
    },
  },
  {
    event: 'a notification of an unknown priority',
    oslo: 'warning',
    text: 'Unknown priority "bogus"',
    async run(t) {
      const e = await env(t, true);
      const listener = getNotificationListener(
        e.transport,
        [new Target({ topic: 'n' })],
        [{ info: () => undefined }],
      );
      t.after(() => listener.close());
      await listener.start();
      e.publish(
        'n.info',
        encodeEnvelope({
          message_id: hex(),
          publisher_id: 'p',
          event_type: 'x.y',
          priority: 'BOGUS',
          payload: {},
          timestamp: '2026-01-01 00:00:00.000000',
          _unique_id: hex(),
        }),
      );
      await until(() => e.logger.lines.some((l) => l.text.includes('Unknown priority')));
      return e.logger;
    },
  },
  {
    event: 'a notification cannot be sent',
    oslo: 'exception',
    text: 'attempting to send to notification system',
    async run(t) {
      const e = await env(t, true);
      const payload: Record<string, unknown> = {};
      payload['self'] = payload; // not serialisable
      await new Notifier(e.transport, { driver: 'messagingv2', topics: ['n'] }).info(
        {},
        'x.y',
        payload,
      );
      return e.logger;
    },
  },
  {
    event: 'a listener is given an RPC transport',
    oslo: 'warning',
    text: 'Using RPC transport for notifications',
    async run(t) {
      const e = await env(t);
      getNotificationListener(e.transport, [new Target({ topic: 'n' })], [{ info: () => 1 }]);
      return e.logger;
    },
  },
  {
    event: 'an RPC server is given a notification transport',
    oslo: 'warning',
    text: 'Using a notification transport for RPC',
    async run(t) {
      const e = await env(t, true);
      getRpcServer(e.transport, { topic: 't', server: 's1' }, [{ echo: () => 1 }]);
      return e.logger;
    },
  },
];

for (const row of ROWS) {
  const level = OURS[row.oslo];
  test(`log levels - ${row.event}: ${level}, as oslo's ${row.oslo}`, async (t) => {
    const logger = await row.run(t);
    const lines = logger.lines.filter((l) => l.text.includes(row.text));
    assert.ok(lines.length > 0, `a line with "${row.text}" in ${JSON.stringify(logger.lines)}`);
    assert.deepEqual(
      [...new Set(lines.map((l) => l.level))],
      [level],
      `"${row.text}" logged at ${level} only`,
    );
  });
}
