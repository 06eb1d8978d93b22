import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { Config, listOpts } from '../../src/config/config.js';
import { type ConfigObject } from '../../src/config/types.js';
import { ConfigurationError } from '../../src/errors.js';
import { getTransport } from '../../src/transport.js';
import { RABBIT_GROUP, type RabbitOptions } from '../../src/drivers/rabbit/options-table.js';
import {
  CONVERSIONS,
  DEFAULTS,
  DEPRECATED,
  INI_CASES,
  INI_ERRORS,
  REJECTED,
} from '../fixtures/config/cases.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));

/** Asserts that `fn` throws a ConfigurationError whose message matches every pattern. */
function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): ConfigurationError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof ConfigurationError,
    `expected a ConfigurationError, got ${String(caught)}`,
  );
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

void test('Config.from - with no input every option has its default (14.0.3, or HEAD where HEAD changed it on purpose)', () => {
  const conf = Config.from();
  for (const [group, name, value] of DEFAULTS) {
    assert.deepEqual(conf.get(group, name), value, `${group}.${name}`);
  }
  assert.deepEqual(Config.from({}).toJSON(), conf.toJSON());
});

void test('listOpts - lists every option of every group once, with the same defaults', () => {
  const listed = listOpts();
  assert.deepEqual(
    listed.map((g) => g.group),
    [
      'DEFAULT',
      'oslo_messaging_notifications',
      'oslo_messaging_rabbit',
      'oslo_messaging_metrics',
      'oslo_messaging_amqp',
      'oslo_messaging_kafka',
    ],
  );
  const all = listed
    .filter((g) => g.group !== 'oslo_messaging_amqp' && g.group !== 'oslo_messaging_kafka')
    .flatMap((g) => g.options.map((o) => [g.group, o.name, o.default]));
  assert.deepEqual(
    all.sort((a, b) => String(a).localeCompare(String(b))),
    [...DEFAULTS].sort((a, b) => String(a).localeCompare(String(b))),
  );
  for (const { options } of listed) {
    for (const opt of options) {
      assert.ok(opt.help.length > 10, `${opt.name} has help`);
      assert.ok(Object.isFrozen(opt));
    }
  }
});

void test('listOpts - describes types, bounds, choices, secrets and deprecated names', () => {
  const find = (group: string, name: string) =>
    listOpts()
      .find((g) => g.group === group)
      ?.options.find((o) => o.name === name);
  const rabbit = (name: string) => find('oslo_messaging_rabbit', name);
  assert.deepEqual(
    [rabbit('kombu_reconnect_delay')?.type, rabbit('kombu_reconnect_delay')?.max],
    ['float', 4.5],
  );
  assert.equal(rabbit('rabbit_transient_queues_ttl')?.min, 0);
  assert.equal(rabbit('rabbit_transient_queues_ttl')?.unit, 's');
  assert.deepEqual(rabbit('kombu_failover_strategy')?.choices, ['round-robin', 'shuffle']);
  assert.deepEqual(rabbit('rabbit_login_method')?.choices, [
    'PLAIN',
    'AMQPLAIN',
    'EXTERNAL',
    'RABBIT-CR-DEMO',
  ]);
  assert.equal(find('DEFAULT', 'transport_url')?.secret, true);
  assert.equal(find('oslo_messaging_notifications', 'transport_url')?.secret, true);
  assert.equal(find('oslo_messaging_notifications', 'driver')?.type, 'multi');
  assert.equal(find('oslo_messaging_notifications', 'topics')?.type, 'list');
  assert.equal(rabbit('direct_mandatory_flag')?.deprecatedForRemoval, true);
  assert.deepEqual(find('oslo_messaging_notifications', 'topics')?.deprecatedNames, [
    { group: 'rpc_notifier2', name: 'topics' },
    { group: 'DEFAULT', name: 'notification_topics' },
  ]);
  assert.deepEqual(rabbit('kombu_missing_consumer_retry_timeout')?.deprecatedNames, [
    { name: 'kombu_reconnect_timeout' },
  ]);
});

const split = (id: string): [string, string] => {
  const dot = id.indexOf('.');
  return [id.slice(0, dot), id.slice(dot + 1)];
};

for (const [oldName, input, option, value] of DEPRECATED) {
  void test(`Config.from - reads ${option} from its deprecated name ${oldName}`, () => {
    const [oldGroup, oldKey] = split(oldName);
    const [group, name] = split(option);
    assert.deepEqual(Config.from({ [oldGroup]: { [oldKey]: input } }).get(group, name), value);
  });
}

void test('Config.from - an option’s own name wins over its deprecated name in the same source', () => {
  const conf = Config.from({
    DEFAULT: { rpc_thread_pool_size: 5, executor_thread_pool_size: 7 },
    oslo_messaging_rabbit: { kombu_reconnect_timeout: 1, kombu_missing_consumer_retry_timeout: 2 },
  });
  assert.equal(conf.defaults().executor_thread_pool_size, 7);
  assert.equal(conf.group<RabbitOptions>(RABBIT_GROUP).kombu_missing_consumer_retry_timeout, 2);
});

for (const [group, name, input, value] of CONVERSIONS) {
  void test(`Config.from - converts ${group}.${name} = ${JSON.stringify(input)} to ${JSON.stringify(value)}`, () => {
    assert.deepEqual(Config.from({ [group]: { [name]: input } }).get(group, name), value);
  });
}

for (const [group, name, input, reason] of REJECTED) {
  void test(`Config.from - rejects ${group}.${name} = ${String(input)}, naming the option and the value`, () => {
    const err = assertConfigError(
      () => Config.from({ [group]: { [name]: input } }),
      new RegExp(`^Invalid value for option ${group}\\.${name}: `),
      reason,
    );
    assert.equal(err.option, `${group}.${name}`);
    assert.deepEqual(err.value, input);
  });
}

void test('Config.from - gives the error message of the spec for a bad integer', () => {
  assertConfigError(
    () => Config.from({ oslo_messaging_rabbit: { heartbeat_timeout_threshold: 'abc' } }),
    /^Invalid value for option oslo_messaging_rabbit\.heartbeat_timeout_threshold: "abc" is not an integer$/,
  );
});

void test('Config.from - rejects an unknown option in an oslo.messaging group, naming group.option', () => {
  for (const group of [
    'oslo_messaging_rabbit',
    'oslo_messaging_notifications',
    'oslo_messaging_metrics',
  ]) {
    const err = assertConfigError(
      () => Config.from({ [group]: { amqp_durable_queue: true } }),
      new RegExp(`${group}\\.amqp_durable_queue`),
      new RegExp(`no such option amqp_durable_queue in group \\[${group}\\]`),
    );
    assert.equal(err.option, `${group}.amqp_durable_queue`);
  }
});

void test('Config.from - keeps but ignores other groups and the service’s own [DEFAULT] options', () => {
  const conf = Config.from({
    DEFAULT: { my_ip: '192.0.2.1', debug: true },
    keystone_authtoken: { password: 'x', anything: [1, 2] },
    oslo_messaging_kafka: { pool_size: 3 },
  });
  assert.deepEqual(conf.defaults(), Config.from().defaults());
  assertConfigError(() => conf.get('keystone_authtoken', 'password'), /no such option password/);
  assertConfigError(
    () => conf.get('DEFAULT', 'my_ip'),
    /no such option my_ip in group \[DEFAULT\]/,
  );
});

void test('Config.from - matches group names case-insensitively, except DEFAULT', () => {
  const conf = Config.from({
    OSLO_MESSAGING_RABBIT: { ssl: true },
    default: { control_exchange: 'ignored' },
  });
  assert.equal(conf.group<RabbitOptions>(RABBIT_GROUP).ssl, true);
  assert.equal(conf.get('Oslo_Messaging_Rabbit', 'ssl'), true);
  assert.equal(conf.defaults().control_exchange, 'openstack');
});

void test('Config.from - rejects input that is not an object of groups', () => {
  assertConfigError(
    () => Config.from('nope' as unknown as ConfigObject),
    /must be an object of groups/,
  );
  assertConfigError(
    () => Config.from({ DEFAULT: 'x' } as unknown as ConfigObject),
    /Group \[DEFAULT\] must be an object of options/,
  );
});

void test('Config.from - returns a Config unchanged, and undefined values count as unset', () => {
  const conf = Config.from({ DEFAULT: { control_exchange: 'nova' } });
  assert.equal(Config.from(conf), conf);
  assert.equal(
    Config.from({ DEFAULT: { control_exchange: undefined } }).defaults().control_exchange,
    'openstack',
  );
});

void test('Config - is immutable, and so are the objects it hands out', () => {
  const conf = Config.from({ oslo_messaging_notifications: { driver: ['log'] } });
  assert.ok(Object.isFrozen(conf));
  const notifications = conf.notifications();
  assert.ok(Object.isFrozen(notifications));
  assert.ok(Object.isFrozen(notifications.driver));
  assert.throws(() => (notifications.driver as string[]).push('x'), TypeError);
  assert.ok(Object.isFrozen(conf.group<RabbitOptions>(RABBIT_GROUP, { ssl: 'true' })));
});

void test('Config.get - returns typed values and rejects unknown options', () => {
  const conf = Config.from({ DEFAULT: { rpc_response_timeout: '5' } });
  const timeout: number = conf.get('DEFAULT', 'rpc_response_timeout');
  assert.equal(timeout, 5);
  const err = assertConfigError(
    () => conf.get('oslo_messaging_rabbit', 'nope'),
    /no such option nope/,
  );
  assert.equal(err.option, 'oslo_messaging_rabbit.nope');
});

void test('Config.rabbit - lets the transport URL query override the file, converting the text', () => {
  const conf = Config.from({
    oslo_messaging_rabbit: { heartbeat_timeout_threshold: 60, ssl: false },
  });
  const opts = conf.group<RabbitOptions>(RABBIT_GROUP, {
    heartbeat_timeout_threshold: '30',
    ssl: 'true',
    amqp_durable_queues: 'true',
    kombu_reconnect_delay: '0.5',
  });
  assert.equal(opts.heartbeat_timeout_threshold, 30);
  assert.equal(opts.ssl, true);
  assert.equal(opts.amqp_durable_queues, true);
  assert.equal(opts.kombu_reconnect_delay, 0.5);
  assert.equal(
    conf.group<RabbitOptions>(RABBIT_GROUP).heartbeat_timeout_threshold,
    60,
    'the Config itself is unchanged',
  );
  assert.equal(conf.group<RabbitOptions>(RABBIT_GROUP, {}).ssl, false);
});

void test('Config.rabbit - accepts deprecated spellings in the query; the own name wins', () => {
  const conf = Config.from();
  assert.equal(
    conf.group<RabbitOptions>(RABBIT_GROUP, { kombu_reconnect_timeout: '5' })
      .kombu_missing_consumer_retry_timeout,
    5,
  );
  const both = conf.group<RabbitOptions>(RABBIT_GROUP, {
    kombu_missing_consumer_retry_timeout: '9',
    kombu_reconnect_timeout: '5',
  });
  assert.equal(both.kombu_missing_consumer_retry_timeout, 9);
});

void test('Config.rabbit - rejects a query key that is not an [oslo_messaging_rabbit] option', () => {
  for (const key of ['control_exchange', 'a', 'transport_url', 'rpc_thread_pool_size']) {
    assertConfigError(
      () => Config.from().group<RabbitOptions>(RABBIT_GROUP, { [key]: 'x' }),
      new RegExp(`no such option ${key} in group \\[oslo_messaging_rabbit\\]`),
    );
  }
});

void test('Config.rabbit - rejects a bad query value, naming the option, the value and the query', () => {
  assertConfigError(
    () => Config.from().group<RabbitOptions>(RABBIT_GROUP, { heartbeat_timeout_threshold: 'abc' }),
    /Invalid value for option oslo_messaging_rabbit\.heartbeat_timeout_threshold: "abc" is not an integer \(in the transport URL query\)/,
  );
});

void test('rabbit transport - refuses quorum and HA queues together, and a pool smaller than its minimum', () => {
  const quorumHa = Config.from({ oslo_messaging_rabbit: { rabbit_quorum_queue: true } });
  assert.equal(quorumHa.group<RabbitOptions>(RABBIT_GROUP).rabbit_quorum_queue, true);
  assertConfigError(
    () => getTransport(quorumHa, { url: 'rabbit://h/?rabbit_ha_queues=true' }),
    /rabbit_quorum_queue and rabbit_ha_queues/,
  );
  const pool = Config.from({
    oslo_messaging_rabbit: { rpc_conn_pool_size: 1, conn_pool_min_size: 2 },
  });
  assertConfigError(
    () => getTransport(pool, { url: 'rabbit://h/' }),
    /rpc_conn_pool_size \(1\) must be greater than or equal to conn_pool_min_size \(2\)/,
  );
});

void test('Config.withOverrides - replaces values, multi-valued ones included; null restores the default', () => {
  const base = Config.from({
    DEFAULT: { control_exchange: 'nova' },
    oslo_messaging_notifications: { driver: ['messagingv2', 'log'], transport_url: 'rabbit://n/' },
  });
  const conf = base.withOverrides({
    oslo_messaging_notifications: { driver: 'noop', transport_url: null },
  });
  assert.deepEqual(conf.notifications().driver, ['noop']);
  assert.equal(conf.notifications().transport_url, undefined);
  assert.equal(conf.defaults().control_exchange, 'nova');
  assert.deepEqual(
    base.notifications().driver,
    ['messagingv2', 'log'],
    'the original is unchanged',
  );
  assertConfigError(
    () => base.withOverrides({ oslo_messaging_rabbit: { nope: 1 } }),
    /no such option nope/,
  );
});

void test('Config - substitutes $name, ${name} and $group.name as oslo.config does; $$ and \\$ are a literal $', () => {
  const conf = Config.from({
    DEFAULT: {
      state_path: '/var/lib/nova',
      control_exchange: '${oslo_messaging_rabbit.ssl_version}x\\$y$$z',
      transport_url: 'rabbit://u:pa$$word@h/',
    },
    oslo_messaging_rabbit: { ssl_version: '$heartbeat_rate', ssl_ca_file: '$state_path/ca.pem' },
    oslo_messaging_notifications: { transport_url: '${DEFAULT.transport_url}' },
  });
  assert.equal(conf.defaults().control_exchange, '3x$y$z');
  assert.equal(conf.defaults().transport_url, 'rabbit://u:pa$word@h/');
  assert.equal(conf.group<RabbitOptions>(RABBIT_GROUP).ssl_version, '3');
  assert.equal(conf.group<RabbitOptions>(RABBIT_GROUP).ssl_ca_file, '/var/lib/nova/ca.pem');
  assert.equal(conf.notifications().transport_url, 'rabbit://u:pa$word@h/');
});

void test('Config - a $reference to nothing is an error that does not show a secret value', () => {
  assertConfigError(
    () => Config.from({ DEFAULT: { control_exchange: 'x$nothing' } }),
    /DEFAULT\.control_exchange: \$nothing names no option \(write \$\$ for a literal \$\)/,
  );
  const err = assertConfigError(
    () => Config.from({ DEFAULT: { transport_url: 'rabbit://u:pa$word@h/' } }),
    /DEFAULT\.transport_url/,
  );
  assert.doesNotMatch(err.message, /pa|word/);
  assert.equal(err.value, undefined);
  assertConfigError(
    () => Config.from({ DEFAULT: { control_exchange: '$control_exchange' } }),
    /refers back to itself/,
  );
});

void test('Config.toJSON - lists every value with secrets masked', () => {
  const conf = Config.from({ DEFAULT: { transport_url: 'rabbit://u:secret@h/' } });
  const json = JSON.stringify(conf);
  assert.doesNotMatch(json, /secret/);
  assert.equal(conf.toJSON()['DEFAULT']?.['transport_url'], '***');
  assert.equal(conf.toJSON()['oslo_messaging_notifications']?.['transport_url'], undefined);
  assert.equal(conf.toJSON()['oslo_messaging_rabbit']?.['heartbeat_timeout_threshold'], 60);
});

for (const [what, text, expected] of INI_CASES) {
  void test(`Config.parseIni - ${what}`, () => {
    assert.deepEqual(Config.parseIni(text), expected);
  });
}

for (const [what, text, message] of INI_ERRORS) {
  void test(`Config.parseIni - rejects ${what}, naming the source and line`, () => {
    assertConfigError(() => Config.parseIni(text, 'f.conf'), message);
  });
}

/** What oslo.config 9.0.0 (Debian) reads from nova.conf then nova-compute.conf. */
function assertNovaFixture(conf: Config): void {
  const defaults = conf.defaults();
  assert.equal(
    defaults.transport_url,
    'rabbit://nova:s3cr%40t%3Apw@rabbit-1.example.org:5672,nova:s3cr%40t%3Apw@rabbit-2.example.org:5672/nova',
  );
  assert.equal(defaults.control_exchange, 'nova');
  assert.equal(defaults.rpc_response_timeout, 180);
  assert.equal(defaults.executor_thread_pool_size, 32);
  const notifications = conf.notifications();
  assert.deepEqual(notifications.driver, ['messagingv2', 'log', 'noop']);
  assert.deepEqual(notifications.topics, ['notifications', 'versioned_notifications']);
  assert.equal(notifications.retry, 3);
  assert.equal(notifications.transport_url, undefined);
  const rabbit = conf.group<RabbitOptions>(RABBIT_GROUP);
  assert.equal(rabbit.amqp_durable_queues, true);
  assert.equal(rabbit.rabbit_quorum_queue, false);
  assert.equal(rabbit.heartbeat_timeout_threshold, 20);
  assert.equal(rabbit.kombu_missing_consumer_retry_timeout, 45);
  assert.equal(rabbit.rabbit_qos_prefetch_count, 10);
  assert.equal(rabbit.ssl, false);
  assert.equal(rabbit.ssl_ca_file, '/etc/ssl/certs/ca bundle.pem');
  assert.equal(rabbit.kombu_failover_strategy, 'shuffle');
}

void test('Config.fromFiles - reads a nova.conf and a later file as oslo.config does', async () => {
  assertNovaFixture(await Config.fromFiles([fixture('nova.conf'), fixture('nova-compute.conf')]));
});

void test('Config.fromFilesSync - gives the same result as fromFiles', () => {
  assertNovaFixture(Config.fromFilesSync([fixture('nova.conf'), fixture('nova-compute.conf')]));
});

void test('Config.fromFiles - applies overrides on top of the files', async () => {
  const conf = await Config.fromFiles([fixture('nova.conf'), fixture('nova-compute.conf')], {
    oslo_messaging_notifications: { driver: ['messagingv2'] },
    oslo_messaging_rabbit: { heartbeat_timeout_threshold: 10 },
  });
  assert.deepEqual(conf.notifications().driver, ['messagingv2']);
  assert.equal(conf.group<RabbitOptions>(RABBIT_GROUP).heartbeat_timeout_threshold, 10);
  assert.equal(conf.defaults().rpc_response_timeout, 180);
});

void test('Config.fromFiles - a later file’s deprecated name beats an earlier file’s own name', () => {
  const conf = Config.fromFilesSync([fixture('nova.conf')], undefined).withOverrides({});
  assert.equal(conf.defaults().executor_thread_pool_size, 32);
  const layered = Config.fromFilesSync([fixture('nova.conf'), fixture('nova-compute.conf')]);
  assert.equal(layered.group<RabbitOptions>(RABBIT_GROUP).kombu_missing_consumer_retry_timeout, 45);
});

void test('Config.fromFiles - names the file of a bad value; an unknown option is a warning naming it and the file', async () => {
  await assert.rejects(
    Config.fromFiles([fixture('bad-value.conf')]),
    (err: unknown) =>
      err instanceof ConfigurationError &&
      /heartbeat_timeout_threshold: "sixty" is not an integer \(in .*bad-value\.conf\)/.test(
        err.message,
      ),
  );
  const typo = await Config.fromFiles([fixture('typo.conf')]);
  assert.equal(typo.notices().length, 1);
  assert.match(
    typo.notices()[0] ?? '',
    /^Ignoring unknown option oslo_messaging_rabbit\.amqp_durable_queue \(in .*typo\.conf\)/,
  );
  assert.equal(typo.group<RabbitOptions>(RABBIT_GROUP).amqp_durable_queues, false);
});

void test('Config.fromFiles - rejects a missing file with a ConfigurationError', async () => {
  await assert.rejects(
    Config.fromFiles([fixture('nova.conf'), fixture('missing.conf')]),
    (err: unknown) =>
      err instanceof ConfigurationError &&
      /Failed to read config file .*missing\.conf/.test(err.message) &&
      err.cause !== undefined,
  );
  assertConfigError(() => Config.fromFilesSync([fixture('missing.conf')]), /missing\.conf/);
});
