/**
 * The pure parts of the rabbit connection, without a broker: error classes and the mapping
 * of amqplib failures (connection-errors.ts), host order and reconnect back-off
 * (connection-failover.ts, spec §1.1 and §1.3) and option validation (connection-types.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  AmqpChannelError,
  ChannelLost,
  ConnectionClosedError,
  PublishConfirmLost,
  amqpReplyCode,
  channelFailure,
  errorText,
} from '../../src/drivers/rabbit/connection-errors.js';
import {
  HostCycle,
  backoffDelayMs,
  type RabbitHost,
} from '../../src/drivers/rabbit/connection-failover.js';
import {
  resolveOptions,
  type ConnectionOptions,
} from '../../src/drivers/rabbit/connection-types.js';
import {
  ConfigurationError,
  MessageDeliveryFailure,
  MessagingException,
} from '../../src/errors.js';
import { defaultLogger } from '../../src/log.js';

/** An amqplib-style error from a close frame: a message and a numeric AMQP reply code. */
const amqpError = (code: number, message = `Channel closed by server: ${code}`): Error =>
  Object.assign(new Error(message), { code });

void test('rabbit connection errors - the public classes are MessageDeliveryFailures with their own names and messages', () => {
  const cause = new Error('socket closed');
  const cases: [Error, string, string][] = [
    [
      new ConnectionClosedError({ cause }),
      'ConnectionClosedError',
      'The AMQP connection was closed',
    ],
    [
      new PublishConfirmLost('nova', 'compute.host1', { cause }),
      'PublishConfirmLost',
      'The channel closed before the broker confirmed the message to exchange "nova" with key "compute.host1"',
    ],
    [
      new AmqpChannelError('NOT_FOUND - no queue', 404, { cause }),
      'AmqpChannelError',
      'NOT_FOUND - no queue',
    ],
  ];
  for (const [err, name, message] of cases) {
    assert.ok(err instanceof MessageDeliveryFailure, name);
    assert.ok(err instanceof MessagingException, name);
    assert.equal(err.name, name);
    assert.equal(err.message, message);
    assert.equal(err.cause, cause);
  }
  const lost = new PublishConfirmLost('nova', 'compute.host1');
  assert.deepEqual([lost.exchange, lost.routingKey], ['nova', 'compute.host1']);
  assert.equal(new AmqpChannelError('x', 406).code, 406);
});

void test('rabbit connection errors - ChannelLost is internal (a plain Error) and says what was lost', () => {
  const bare = new ChannelLost();
  assert.equal(bare.name, 'ChannelLost');
  assert.equal(bare.message, 'AMQP channel lost');
  assert.ok(!(bare instanceof MessagingException));
  const withCause = new ChannelLost({ cause: new Error('Channel closed') });
  assert.equal(withCause.message, 'AMQP channel lost: Channel closed');
  assert.equal(new ChannelLost({ cause: 'gone' }).message, 'AMQP channel lost: gone');
});

// [what was thrown, reply code read, hard channel error?]
const FAILURES: [string, unknown, number | undefined, boolean][] = [
  ['403 ACCESS_REFUSED', amqpError(403), 403, true],
  ['404 NOT_FOUND', amqpError(404), 404, true],
  ['405 RESOURCE_LOCKED', amqpError(405), 405, true],
  ['406 PRECONDITION_FAILED', amqpError(406), 406, true],
  ['320 CONNECTION_FORCED', amqpError(320), 320, false],
  ['504 CHANNEL_ERROR', amqpError(504), 504, false],
  [
    'an Error without a code',
    new Error('Channel ended, no reply will be forthcoming'),
    undefined,
    false,
  ],
  [
    'an Error with a string code',
    Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    undefined,
    false,
  ],
  ['a plain object with code 404', { code: 404, message: 'not an Error' }, undefined, false],
  ['a string', 'boom', undefined, false],
];

for (const [what, thrown, code, hard] of FAILURES) {
  void test(`rabbit connection errors - ${what}: reply code ${code}, ${hard ? 'AmqpChannelError' : 'ChannelLost'}`, () => {
    assert.equal(amqpReplyCode(thrown), code);
    const mapped = channelFailure(thrown);
    assert.equal(mapped.cause, thrown);
    if (hard) {
      assert.ok(mapped instanceof AmqpChannelError);
      assert.equal(mapped.code, code);
      assert.equal(mapped.message, (thrown as Error).message);
    } else {
      assert.ok(mapped instanceof ChannelLost);
      assert.equal(mapped.message, `AMQP channel lost: ${errorText(thrown)}`);
    }
  });
}

void test('rabbit connection errors - errorText reads an Error’s message, or anything as a string', () => {
  assert.equal(errorText(new Error('a message')), 'a message');
  assert.equal(errorText('text'), 'text');
  assert.equal(errorText(42), '42');
  assert.equal(errorText(undefined), 'undefined');
});

const h = (hostname: string, port = 5672): RabbitHost => ({ hostname, port });
const HOSTS = [h('a'), h('b'), h('c')];
const names = (hosts: readonly RabbitHost[]): string[] => hosts.map((x) => x.hostname);

/** The hosts tried by `attempts` consecutive attempts. */
function tried(cycle: HostCycle, attempts: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < attempts; i++) {
    out.push(cycle.current().hostname);
    cycle.advance();
  }
  return out;
}

/** A deterministic Math.random replacement cycling through `values`. */
const sequence = (...values: number[]): (() => number) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

void test('rabbit failover - round-robin without shuffling tries the URL’s hosts in order, then again', () => {
  const cycle = new HostCycle(HOSTS, 'round-robin', false);
  assert.deepEqual(names(cycle.hosts), ['a', 'b', 'c']);
  assert.deepEqual(tried(cycle, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

void test('rabbit failover - one host is retried forever, shuffled or not, whatever the strategy', () => {
  for (const strategy of ['round-robin', 'shuffle'] as const) {
    const cycle = new HostCycle([h('only', 5673)], strategy, true, sequence(0.99, 0));
    assert.deepEqual(tried(cycle, 3), ['only', 'only', 'only']);
    assert.deepEqual(cycle.current(), h('only', 5673));
  }
});

void test('rabbit failover - with two or more hosts the list is shuffled once per connection (§1.1)', () => {
  // random() = 0 moves every host: the order can't stay as given.
  const shuffled = new HostCycle(HOSTS, 'round-robin', true, sequence(0));
  assert.notDeepEqual(names(shuffled.hosts), ['a', 'b', 'c']);
  assert.deepEqual([...names(shuffled.hosts)].sort(), ['a', 'b', 'c']);
  // Once: round-robin then follows the shuffled order, cycle after cycle.
  const order = names(shuffled.hosts);
  assert.deepEqual(tried(shuffled, 6), [...order, ...order]);
  // Not shuffled when asked not to, even with the same random source.
  assert.deepEqual(names(new HostCycle(HOSTS, 'round-robin', false, sequence(0)).hosts), [
    'a',
    'b',
    'c',
  ]);
  // The caller's array is left alone.
  assert.deepEqual(names(HOSTS), ['a', 'b', 'c']);
});

void test('rabbit failover - shuffle moves to a random host, never the one that just failed', () => {
  const cycle = new HostCycle(HOSTS, 'shuffle', false, sequence(0, 0.99, 0.5, 0.3, 0.7, 0));
  const seen = tried(cycle, 12);
  for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `attempt ${i}`);
  assert.deepEqual([...new Set(seen)].sort(), ['a', 'b', 'c']);
  // With two hosts that means alternating.
  const two = new HostCycle([h('x'), h('y')], 'shuffle', false, sequence(0.99, 0, 0.5));
  assert.deepEqual(tried(two, 5), ['x', 'y', 'x', 'y', 'x']);
});

// [failed attempts, pause] with oslo's defaults 1 s / 2 s / 30 s: linear steps, capped.
const DEFAULT_BACKOFF = { retryIntervalMs: 1000, retryBackoffMs: 2000, intervalMaxMs: 30_000 };
const BACKOFF: [number, number][] = [
  [1, 1000],
  [2, 3000],
  [3, 5000],
  [10, 19_000],
  [15, 29_000],
  [16, 30_000],
  [100, 30_000],
];

for (const [attempts, pause] of BACKOFF) {
  void test(`rabbit failover - after ${attempts} failed attempt(s) the pause is ${pause} ms with the defaults`, () => {
    assert.equal(backoffDelayMs(attempts, DEFAULT_BACKOFF), pause);
  });
}

void test('rabbit failover - back-off without rabbit_retry_backoff stays at rabbit_retry_interval; the cap wins', () => {
  const flat = { retryIntervalMs: 2000, retryBackoffMs: 0, intervalMaxMs: 30_000 };
  assert.deepEqual(
    [1, 2, 50].map((n) => backoffDelayMs(n, flat)),
    [2000, 2000, 2000],
  );
  const capped = { retryIntervalMs: 5000, retryBackoffMs: 2000, intervalMaxMs: 1000 };
  assert.equal(backoffDelayMs(1, capped), 1000);
  assert.equal(backoffDelayMs(0, DEFAULT_BACKOFF), 1000);
});

const ONE_HOST: ConnectionOptions = { hosts: [h('localhost')], role: 'consume' };

void test('rabbit connection options - the defaults are oslo’s (§1.3, §2)', () => {
  const r = resolveOptions(ONE_HOST);
  const { connectionName, ...rest } = r;
  assert.deepEqual(rest, {
    role: 'consume',
    vhost: '/',
    loginMethod: 'AMQPLAIN',
    heartbeatSeconds: 60,
    failoverStrategy: 'round-robin',
    randomizeHostOrder: true,
    retryIntervalMs: 1000,
    retryBackoffMs: 2000,
    intervalMaxMs: 30_000,
    reconnectDelayMs: 1000,
    reconnectSplayMs: 0,
    ssl: undefined,
    frameMax: undefined,
    prefetch: 0,
    connectTimeoutMs: 10_000,
    closeTimeoutMs: 5000,
    logger: defaultLogger,
    onReconnect: undefined,
    onStateEvent: undefined,
  });
  // §2: connection_name is "<basename(argv[0])>:<pid>:<uuid36>".
  const [script, pid, uuid] = connectionName.split(':');
  assert.ok(script !== undefined && script.length > 0 && !script.includes('/'), connectionName);
  assert.equal(pid, String(process.pid));
  assert.match(uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

void test('rabbit connection options - what is given is kept', () => {
  const r = resolveOptions({
    ...ONE_HOST,
    role: 'publish',
    vhost: 'nova',
    loginMethod: 'EXTERNAL',
    heartbeatSeconds: 0,
    failoverStrategy: 'shuffle',
    randomizeHostOrder: false,
    retryIntervalMs: 0,
    prefetch: 10,
    connectionName: 'nova-api:1:x',
    frameMax: 4096,
  });
  assert.deepEqual(
    [r.role, r.vhost, r.loginMethod, r.heartbeatSeconds, r.failoverStrategy, r.randomizeHostOrder],
    ['publish', 'nova', 'EXTERNAL', 0, 'shuffle', false],
  );
  assert.deepEqual(
    [r.retryIntervalMs, r.prefetch, r.connectionName, r.frameMax],
    [0, 10, 'nova-api:1:x', 4096],
  );
});

// [what, options, option named, message]
const BAD_OPTIONS: [string, Partial<Record<keyof ConnectionOptions, unknown>>, string, string][] = [
  ['no hosts', { hosts: [] }, 'hosts', 'hosts must list at least one host, got []'],
  ['port 0', { hosts: [h('a', 0)] }, 'port', 'port must be an integer from 1 to 65535, got 0'],
  [
    'port 65536',
    { hosts: [h('a'), h('b', 65536)] },
    'port',
    'port must be an integer from 1 to 65535, got 65536',
  ],
  [
    'port 5672.5',
    { hosts: [h('a', 5672.5)] },
    'port',
    'port must be an integer from 1 to 65535, got 5672.5',
  ],
  ['role listen', { role: 'listen' }, 'role', 'role must be publish or consume, got listen'],
  [
    'loginMethod RABBIT-CR-DEMO',
    { loginMethod: 'RABBIT-CR-DEMO' },
    'loginMethod',
    'loginMethod must be PLAIN, AMQPLAIN or EXTERNAL, got RABBIT-CR-DEMO',
  ],
  [
    'failoverStrategy random',
    { failoverStrategy: 'random' },
    'failoverStrategy',
    'failoverStrategy must be round-robin or shuffle, got random',
  ],
  [
    'heartbeatSeconds -1',
    { heartbeatSeconds: -1 },
    'heartbeatSeconds',
    'heartbeatSeconds must be a number >= 0, got -1',
  ],
  [
    'retryIntervalMs NaN',
    { retryIntervalMs: NaN },
    'retryIntervalMs',
    'retryIntervalMs must be a number >= 0, got NaN',
  ],
  [
    'retryBackoffMs -5',
    { retryBackoffMs: -5 },
    'retryBackoffMs',
    'retryBackoffMs must be a number >= 0, got -5',
  ],
  [
    'intervalMaxMs Infinity',
    { intervalMaxMs: Infinity },
    'intervalMaxMs',
    'intervalMaxMs must be a number >= 0, got Infinity',
  ],
  [
    'reconnectDelayMs "1000"',
    { reconnectDelayMs: '1000' },
    'reconnectDelayMs',
    'reconnectDelayMs must be a number >= 0, got 1000',
  ],
  ['prefetch -1', { prefetch: -1 }, 'prefetch', 'prefetch must be a number >= 0, got -1'],
  [
    'connectTimeoutMs -1',
    { connectTimeoutMs: -1 },
    'connectTimeoutMs',
    'connectTimeoutMs must be a number >= 0, got -1',
  ],
  [
    'closeTimeoutMs -1',
    { closeTimeoutMs: -1 },
    'closeTimeoutMs',
    'closeTimeoutMs must be a number >= 0, got -1',
  ],
];

for (const [what, bad, option, message] of BAD_OPTIONS) {
  void test(`rabbit connection options - ${what} is a ConfigurationError naming ${option}`, () => {
    assert.throws(
      () => resolveOptions({ ...ONE_HOST, ...bad } as ConnectionOptions),
      (err: unknown) =>
        err instanceof ConfigurationError && err.option === option && err.message === message,
    );
  });
}
