import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';

import { ConfigurationError } from '../../src/errors.js';
import { Notifier } from '../../src/notify/notifier.js';
import {
  fnmatchToRegExp,
  routeNotification,
  type RoutingConfig,
} from '../../src/notify/routing.js';
import { fakeTransport, fixturePath, queueDepth } from '../fixtures/notify/helpers.js';

// --- which drivers a notification goes to (oslo's _get_drivers_for_message tests) ---------

const ACCEPTED_EVENTS = { group_1: { rpc: { accepted_events: ['foo.*', 'blah.zoo.*', 'zip'] } } };
const ACCEPTED_PRIORITIES = { group_1: { rpc: { accepted_priorities: ['info', 'error'] } } };
const BOTH = {
  group_1: {
    rpc: { accepted_priorities: ['info'], accepted_events: ['foo.*'] },
    driver_1: { accepted_priorities: ['info'] },
    driver_2: { accepted_events: ['foo.*'] },
  },
};

const routes: [string, unknown, string, string, string[]][] = [
  ['no event matches', ACCEPTED_EVENTS, 'unknown', 'info', []],
  ['a child of foo', ACCEPTED_EVENTS, 'foo.1', 'info', ['rpc']],
  ['foo itself is not foo.*', ACCEPTED_EVENTS, 'foo', 'info', []],
  ['a child of blah.zoo', ACCEPTED_EVENTS, 'blah.zoo.zing', 'info', ['rpc']],
  ['an exact event', ACCEPTED_EVENTS, 'zip', 'info', ['rpc']],
  ['* crosses dots', ACCEPTED_EVENTS, 'foo.a.b.c', 'info', ['rpc']],
  ['no priority matches', ACCEPTED_PRIORITIES, 'any', 'unknown', []],
  ['info', ACCEPTED_PRIORITIES, 'any', 'info', ['rpc']],
  ['error (the whole list is checked)', ACCEPTED_PRIORITIES, 'any', 'error', ['rpc']],
  ['the priority is compared in lower case', ACCEPTED_PRIORITIES, 'any', 'INFO', ['rpc']],
  ['valid event, no matching priority', BOTH, 'foo.blah', 'unknown', ['driver_2']],
  ['valid priority, no matching event', BOTH, 'unknown', 'info', ['driver_1']],
  ['both match (AND within a rule)', BOTH, 'foo.blah', 'info', ['driver_1', 'driver_2', 'rpc']],
  ['a rule with no criteria accepts everything', { g: { d: {} } }, 'x', 'sample', ['d']],
  [
    'groups are ORed and a driver is named once',
    {
      g1: { d: { accepted_events: ['a.*'] } },
      g2: { d: { accepted_priorities: ['info'] }, e: {} },
    },
    'a.b',
    'info',
    ['d', 'e'],
  ],
  [
    'upper-case priority patterns are lower-cased',
    { g: { d: { accepted_priorities: ['WARN'] } } },
    'x',
    'WARN',
    ['d'],
  ],
  ['an empty configuration routes nothing', null, 'x', 'info', []],
];
for (const [what, config, eventType, priority, expected] of routes) {
  test(`routing - ${what}`, () => {
    assert.deepEqual(routeNotification(config, eventType, priority).sort(), expected);
  });
}

// Python's fnmatch: whole-string, case-sensitive shell patterns.
const globs: [string, string, boolean][] = [
  ['compute.*', 'compute.instance.create', true],
  ['compute.*', 'compute', false],
  ['compute.*', 'Compute.instance', false],
  ['*.end', 'compute.instance.create.end', true],
  ['*.end', 'compute.instance.create.end.x', false],
  ['compute.?', 'compute.a', true],
  ['compute.?', 'compute.ab', false],
  ['[ab]*', 'bravo', true],
  ['[ab]*', 'charlie', false],
  ['[!ab]*', 'charlie', true],
  ['[!ab]*', 'alpha', false],
  ['a+b', 'a+b', true],
  ['a+b', 'aab', false],
  ['a.b', 'axb', false],
  ['[unterminated', '[unterminated', true],
  ['[]]', ']', true],
  ['*', 'line\nbreak', true],
];
for (const [pattern, value, matches] of globs) {
  test(`routing - fnmatch ${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
    assert.equal(fnmatchToRegExp(pattern).test(value), matches);
  });
}

const malformed: [string, unknown][] = [
  ['a list at the top', ['group_1']],
  ['a group that is not a mapping', { group_1: 'rpc' }],
  ['a rule that is not a mapping (oslo: "rpc : foo")', { group_1: { rpc: 'foo' } }],
  ['patterns given as one string', { g: { d: { accepted_events: 'foo.*' } } }],
  ['a pattern that is not a string', { g: { d: { accepted_priorities: [1] } } }],
];
for (const [what, config] of malformed) {
  test(`routing - refuses ${what} with ConfigurationError`, () => {
    assert.throws(
      () => routeNotification(config, 'e', 'info'),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        err.option === 'oslo_messaging_notifications.routing_config',
    );
  });
}

// --- the routing notify driver, end to end --------------------------------------------------

function routingNotifier(routingConfig: string | RoutingConfig | undefined, conf = {}) {
  const setup = fakeTransport(conf);
  const notifier = new Notifier(setup.transport, {
    driver: 'routing',
    topics: ['routed'],
    publisherId: 'compute.host1',
    ...(routingConfig === undefined ? {} : { routingConfig }),
  });
  return { ...setup, notifier };
}

const delivered: [
  string,
  'info' | 'warn' | 'error' | 'critical',
  string,
  { test: number; log: number; wire: number },
][] = [
  ['to test and messagingv2', 'info', 'compute.instance.create.end', { test: 1, log: 0, wire: 1 }],
  ['to test and log', 'error', 'compute.instance.delete.end', { test: 1, log: 1, wire: 0 }],
  [
    'to test through the second group',
    'warn',
    'network.port.create.end',
    { test: 1, log: 0, wire: 0 },
  ],
  ['nowhere when no rule matches', 'info', 'network.port.create.end', { test: 0, log: 0, wire: 0 }],
  ['to log only', 'critical', 'identity.user.deleted', { test: 0, log: 1, wire: 0 }],
  [
    'once to a driver that two groups accept',
    'warn',
    'compute.instance.resize',
    { test: 1, log: 0, wire: 0 },
  ],
];
for (const [what, priority, eventType, expected] of delivered) {
  test(`routing notifier - ${priority} ${eventType} is routed ${what}`, async (t: TestContext) => {
    const { notifier, logger, vhost, transport } = routingNotifier(fixturePath('routing.yaml'));
    t.after(() => transport.cleanup());
    await notifier[priority]({ user_id: 'u-1' }, eventType, { id: 1 });
    assert.equal(notifier.sent.length, expected.test);
    assert.equal(
      logger.lines.filter((l) => l.text.startsWith(`oslo.messaging.notification.${eventType} `))
        .length,
      expected.log,
    );
    assert.equal(queueDepth(vhost, `routed.${priority}`), expected.wire);
    const [sent] = notifier.sent;
    if (sent !== undefined) {
      // Sub-drivers get what the routing driver got: sanitised context, upper-case priority.
      assert.equal(sent.priority, priority.toUpperCase());
      assert.deepEqual(sent.ctxt, { user_id: 'u-1' });
      assert.equal(sent.message.event_type, eventType);
      assert.equal(sent.retry, -1);
    }
    // Each routing decision is logged at info level, as oslo does.
    assert.equal(
      logger.at('info', `Routing '${eventType}' notification to`).length,
      expected.test + expected.log + expected.wire,
    );
  });
}

test('routing notifier - unknown driver names in the config are ignored with one warning', async () => {
  const { notifier, logger } = routingNotifier(fixturePath('routing.yaml'));
  await notifier.info({}, 'compute.instance.create.end', {});
  await notifier.info({}, 'compute.instance.create.end', {});
  assert.equal(logger.at('warn', '"no_such_driver"').length, 1);
  assert.equal(logger.at('info', "to 'routing' driver").length, 0);
  assert.equal(logger.at('error').length, 0);
});

test('routing notifier - rules can be given as an object', async () => {
  const { notifier } = routingNotifier({ only: { test: { accepted_events: ['keep.*'] } } });
  await notifier.info({}, 'keep.this', {});
  await notifier.info({}, 'drop.this', {});
  assert.deepEqual(
    notifier.sent.map((s) => s.message.event_type),
    ['keep.this'],
  );
});

test('routing notifier - without a routing config nothing is routed', async () => {
  const { notifier, logger } = routingNotifier(undefined);
  assert.equal(notifier.isEnabled(), true);
  await notifier.info({}, 'e', {});
  assert.deepEqual(notifier.sent, []);
  assert.equal(logger.at('error').length, 0);
});

test('routing notifier - an unreadable file is logged, and read again on the next notification', async (t: TestContext) => {
  const dir = await mkdtemp(join(tmpdir(), 'routing-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'routing.yaml');
  const { notifier, logger } = routingNotifier(path);
  await notifier.info({}, 'e.first', {});
  assert.equal(logger.at('error', 'Cannot read routing config file').length, 1);
  assert.equal(notifier.sent.length, 0);
  await writeFile(path, 'g:\n  test:\n    accepted_events: ["e.*"]\n');
  await notifier.info({}, 'e.second', {});
  assert.deepEqual(
    notifier.sent.map((s) => s.message.event_type),
    ['e.second'],
  );
});

const badFiles: [string, string, string][] = [
  ['invalid YAML', 'g: [unclosed', 'Cannot parse routing config file'],
  ['a malformed rule', 'g:\n  test: foo\n', 'must be a mapping'],
];
for (const [what, text, message] of badFiles) {
  test(`routing notifier - ${what} is logged and the notification resolves`, async (t: TestContext) => {
    const dir = await mkdtemp(join(tmpdir(), 'routing-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'routing.yaml');
    await writeFile(path, text);
    const { notifier, logger } = routingNotifier(path);
    await notifier.info({}, 'e', {});
    assert.equal(logger.at('error', message).length, 1);
  });
}

test('routing notifier - an empty file routes nothing', async (t: TestContext) => {
  const dir = await mkdtemp(join(tmpdir(), 'routing-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'routing.yaml');
  await writeFile(path, '# nothing yet\n');
  const { notifier, logger } = routingNotifier(path);
  await notifier.info({}, 'e', {});
  assert.deepEqual(notifier.sent, []);
  assert.equal(logger.at('error').length, 0);
});

test('routing notifier - the file is named by [oslo_messaging_notifications] routing_config', async () => {
  const setup = routingNotifier(undefined, {
    oslo_messaging_notifications: { routing_config: fixturePath('routing.yaml') },
  });
  await setup.notifier.info({}, 'compute.instance.create.end', {});
  assert.equal(setup.notifier.sent.length, 1);
  await setup.transport.cleanup();
});
