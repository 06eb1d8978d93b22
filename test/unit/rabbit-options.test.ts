/**
 * The rabbit driver's settings without a broker: the `[oslo_messaging_rabbit]` option table
 * (src/drivers/rabbit/options-table.ts) against spec §1.3 (Debian oslo.messaging 14.0.3), and
 * resolveRabbitSettings (src/drivers/rabbit/options.ts): URL query over the config, oslo's
 * seconds to milliseconds, declaration flags, login method, TLS, prefetch and the rules
 * across options.
 */
import { test } from 'node:test';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import assert from 'node:assert/strict';

import { Config } from '../../src/config/config.js';
import { type ConfigObject } from '../../src/config/types.js';
import {
  MAX_INCOMING_MESSAGE_BYTES,
  listenerPrefetch,
  resolveRabbitSettings,
  type RabbitDriverSettings,
} from '../../src/drivers/rabbit/options.js';
import {
  KOMBU_FAILOVER_STRATEGIES,
  RABBIT_GROUP,
  RABBIT_LOGIN_METHODS,
  RABBIT_OPTIONS,
} from '../../src/drivers/rabbit/options-table.js';
import { ConfigurationError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { TransportURL } from '../../src/transport-url.js';

const settings = (url = 'rabbit://', conf: ConfigObject = {}): RabbitDriverSettings =>
  resolveRabbitSettings(
    TransportURL.parse(url, { logger: silentLogger }),
    Config.from(conf),
    silentLogger,
  );

/** Asserts that `fn` throws a ConfigurationError for `option` whose message matches every pattern. */
function assertConfigError(fn: () => unknown, option: string, ...patterns: RegExp[]): void {
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
  assert.equal(caught.option, option);
  for (const pattern of patterns) assert.match(caught.message, pattern);
}

// Spec §1.3, the [oslo_messaging_rabbit] table (Debian 14.0.3 defaults), in its order, then
// what upstream HEAD added (spec §8), and HEAD's new defaults of heartbeat_rate and
// ssl_enforce_hostname_verification.
const SPEC_DEFAULTS: [name: string, value: unknown][] = [
  ['amqp_durable_queues', false],
  ['amqp_auto_delete', false],
  ['rabbit_ha_queues', false],
  ['rabbit_quorum_queue', false],
  ['rabbit_quorum_delivery_limit', 0],
  ['rabbit_quroum_max_memory_length', 0],
  ['rabbit_quroum_max_memory_bytes', 0],
  ['rabbit_transient_queues_ttl', 1800],
  ['rabbit_qos_prefetch_count', 0],
  ['heartbeat_timeout_threshold', 60],
  ['heartbeat_rate', 3],
  ['direct_mandatory_flag', true],
  ['enable_cancel_on_failover', false],
  ['kombu_compression', undefined],
  ['kombu_missing_consumer_retry_timeout', 60],
  ['kombu_reconnect_delay', 1.0],
  ['kombu_failover_strategy', 'round-robin'],
  ['rabbit_login_method', 'AMQPLAIN'],
  ['rabbit_retry_interval', 1],
  ['rabbit_retry_backoff', 2],
  ['rabbit_interval_max', 30],
  ['rpc_conn_pool_size', 30],
  ['conn_pool_min_size', 2],
  ['conn_pool_ttl', 1200],
  ['ssl', false],
  ['ssl_version', ''],
  ['ssl_key_file', ''],
  ['ssl_cert_file', ''],
  ['ssl_ca_file', ''],
  ['ssl_enforce_hostname_verification', true],
  ['ssl_enforce_fips_mode', false],
  ['heartbeat_in_pthread', false],
  ['rabbit_transient_quorum_queue', false],
  ['rabbit_stream_fanout', false],
  ['use_queue_manager', false],
  ['hostname', hostname()],
  ['processname', basename(process.argv[1] ?? process.argv0)],
  ['kombu_reconnect_splay', 0],
];

void test('rabbit options table - holds exactly the options of spec §1.3 and §8, with their defaults', () => {
  assert.equal(RABBIT_GROUP, 'oslo_messaging_rabbit');
  assert.deepEqual(Object.keys(RABBIT_OPTIONS).sort(), SPEC_DEFAULTS.map(([n]) => n).sort());
  for (const [name, value] of SPEC_DEFAULTS) {
    assert.deepEqual(RABBIT_OPTIONS[name as keyof typeof RABBIT_OPTIONS].default, value, name);
  }
});

// [option, type, min, max, unit]: the bounds spec §1.3 and §8 give (TTL min 0 in HEAD,
// reconnect delay max 4.5) and the 16-bit fields of AMQP (tune-ok heartbeat, basic.qos
// prefetch count).
const BOUNDS: [string, string, number | undefined, number | undefined, string | undefined][] = [
  ['rabbit_transient_queues_ttl', 'int', 0, undefined, 's'],
  ['kombu_reconnect_splay', 'float', 0, undefined, 's'],
  ['kombu_reconnect_delay', 'float', 0, 4.5, 's'],
  ['heartbeat_timeout_threshold', 'int', 0, 65535, 's'],
  ['rabbit_qos_prefetch_count', 'int', 0, 65535, undefined],
];

for (const [name, type, min, max, unit] of BOUNDS) {
  void test(`rabbit options table - ${name} is ${type}, min ${min}, max ${max}, unit ${unit}`, () => {
    const opt = RABBIT_OPTIONS[name as keyof typeof RABBIT_OPTIONS];
    assert.deepEqual([opt.type, opt.min, opt.max, opt.unit], [type, min, max, unit]);
  });
}

void test('rabbit options table - choices of the enums and the deprecated names of 14.0.3', () => {
  assert.deepEqual([...RABBIT_LOGIN_METHODS], ['PLAIN', 'AMQPLAIN', 'EXTERNAL', 'RABBIT-CR-DEMO']);
  assert.deepEqual([...KOMBU_FAILOVER_STRATEGIES], ['round-robin', 'shuffle']);
  assert.deepEqual(RABBIT_OPTIONS.rabbit_login_method.choices, RABBIT_LOGIN_METHODS);
  assert.deepEqual(RABBIT_OPTIONS.kombu_failover_strategy.choices, KOMBU_FAILOVER_STRATEGIES);
  const deprecated: [string, unknown][] = [
    ['kombu_missing_consumer_retry_timeout', [{ name: 'kombu_reconnect_timeout' }]],
    ['rabbit_quroum_max_memory_length', [{ name: 'rabbit_quorum_max_memory_length' }]],
    ['rabbit_quroum_max_memory_bytes', [{ name: 'rabbit_quorum_max_memory_bytes' }]],
    ['ssl', [{ name: 'rabbit_use_ssl' }]],
    ['ssl_version', [{ name: 'kombu_ssl_version' }]],
    ['ssl_key_file', [{ name: 'kombu_ssl_keyfile' }]],
    ['ssl_cert_file', [{ name: 'kombu_ssl_certfile' }]],
    ['ssl_ca_file', [{ name: 'kombu_ssl_ca_certs' }]],
    // §1.3: in 14.0.3 the pool options fall back to [DEFAULT].
    ['rpc_conn_pool_size', [{ group: 'DEFAULT' }]],
    ['conn_pool_min_size', [{ group: 'DEFAULT' }]],
    ['conn_pool_ttl', [{ group: 'DEFAULT' }]],
  ];
  for (const [name, names] of deprecated) {
    assert.deepEqual(
      RABBIT_OPTIONS[name as keyof typeof RABBIT_OPTIONS].deprecatedNames,
      names,
      name,
    );
  }
  assert.equal(RABBIT_OPTIONS.direct_mandatory_flag.deprecatedForRemoval, true);
});

void test('resolveRabbitSettings - rabbit:// with no configuration: 14.0.3 defaults, durations in ms', () => {
  const s = settings();
  assert.equal(s.controlExchange, 'openstack');
  assert.equal(s.rpcResponseTimeoutMs, 60_000);
  assert.equal(s.prefetchCount, 0);
  assert.equal(s.directMandatory, true);
  assert.equal(s.compression, undefined);
  assert.equal(s.missingConsumerRetryTimeoutMs, 60_000);
  assert.equal(s.maxMessageBytes, MAX_INCOMING_MESSAGE_BYTES);
  assert.equal(MAX_INCOMING_MESSAGE_BYTES, 32 * 1024 * 1024);
  const { logger, ...connection } = s.connection;
  assert.equal(logger, silentLogger);
  assert.deepEqual(connection, {
    hosts: [{ hostname: 'localhost', port: 5672, username: 'guest', password: 'guest' }],
    vhost: '/',
    loginMethod: 'AMQPLAIN',
    heartbeatSeconds: 60,
    failoverStrategy: 'round-robin',
    retryIntervalMs: 1000,
    retryBackoffMs: 2000,
    intervalMaxMs: 30_000,
    reconnectDelayMs: 1000,
    reconnectSplayMs: 0,
    ssl: undefined,
  });
});

/** Where a setting comes from: `[DEFAULT]`, `[oslo_messaging_rabbit]` or the URL query. */
type Source = 'DEFAULT' | 'rabbit' | 'query';

/** Settings from `key=value&key=value` in one source (config values are text, as in a file). */
function from(source: Source, text: string): RabbitDriverSettings {
  if (source === 'query') return settings(`rabbit://h:5672/?${text}`);
  const values = Object.fromEntries(text.split('&').map((kv) => kv.split('=')));
  return settings('rabbit://h:5672/', { [source === 'rabbit' ? RABBIT_GROUP : source]: values });
}

/** A value of the settings by dotted path (`connection.heartbeatSeconds`). */
const read = (s: RabbitDriverSettings, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], s);

// [source, setting, what it sets, expected]
const CONVERSIONS: [Source, string, string, unknown][] = [
  ['DEFAULT', 'rpc_response_timeout=10', 'rpcResponseTimeoutMs', 10_000],
  ['DEFAULT', 'control_exchange=nova', 'controlExchange', 'nova'],
  ['query', 'kombu_missing_consumer_retry_timeout=3', 'missingConsumerRetryTimeoutMs', 3000],
  ['rabbit', 'kombu_reconnect_timeout=5', 'missingConsumerRetryTimeoutMs', 5000],
  ['rabbit', 'kombu_reconnect_delay=0.25', 'connection.reconnectDelayMs', 250],
  ['query', 'kombu_reconnect_delay=4.5', 'connection.reconnectDelayMs', 4500],
  ['rabbit', 'rabbit_retry_interval=3', 'connection.retryIntervalMs', 3000],
  ['rabbit', 'rabbit_retry_backoff=0', 'connection.retryBackoffMs', 0],
  ['rabbit', 'rabbit_interval_max=5', 'connection.intervalMaxMs', 5000],
  ['query', 'heartbeat_timeout_threshold=30', 'connection.heartbeatSeconds', 30],
  ['rabbit', 'heartbeat_timeout_threshold=0', 'connection.heartbeatSeconds', 0],
  ['query', 'rabbit_qos_prefetch_count=10', 'prefetchCount', 10],
  ['rabbit', 'direct_mandatory_flag=false', 'directMandatory', false],
  ['query', 'kombu_failover_strategy=shuffle', 'connection.failoverStrategy', 'shuffle'],
  ['query', 'rabbit_login_method=PLAIN', 'connection.loginMethod', 'PLAIN'],
  ['rabbit', 'rabbit_login_method=EXTERNAL', 'connection.loginMethod', 'EXTERNAL'],
  ['DEFAULT', 'rabbit_login_method=PLAIN', 'connection.loginMethod', 'PLAIN'],
  ['query', 'kombu_compression=gzip', 'compression.contentType', 'application/x-gzip'],
];

for (const [source, setting, path, expected] of CONVERSIONS) {
  void test(`resolveRabbitSettings - ${setting} (${source}) gives ${path} = ${String(expected)}`, () => {
    assert.deepEqual(read(from(source, setting), path), expected);
  });
}

void test('resolveRabbitSettings - the URL query wins over [oslo_messaging_rabbit]', () => {
  const conf = {
    oslo_messaging_rabbit: { heartbeat_timeout_threshold: 10, rabbit_interval_max: 7 },
  };
  const s = settings('rabbit://h/?heartbeat_timeout_threshold=20', conf);
  assert.equal(s.connection.heartbeatSeconds, 20);
  assert.equal(s.connection.intervalMaxMs, 7000);
});

void test('resolveRabbitSettings - hosts, ports and vhost come from the URL; a host without credentials has none', () => {
  const s = settings('rabbit://u:p%40ss@host1,host2:5673/nova');
  assert.deepEqual(s.connection.hosts, [
    { hostname: 'host1', port: 5672, username: 'u', password: 'p@ss' },
    { hostname: 'host2', port: 5673 },
  ]);
  assert.equal(s.connection.vhost, 'nova');
  for (const [url, vhost] of [
    ['rabbit://h/', '/'],
    ['rabbit://h//', '/'],
    ['rabbit://h/%2F', '/'],
  ] as const) {
    assert.equal(settings(url).connection.vhost, vhost, url);
  }
});

// [source, setting, the declaration flags it changes]
const FLAGS: [Source, string, Partial<RabbitDriverSettings['topology']>][] = [
  ['query', 'amqp_durable_queues=true', { durable: true }],
  ['rabbit', 'amqp_auto_delete=true', { autoDelete: true }],
  ['DEFAULT', 'amqp_auto_delete=true', { autoDelete: true }],
  ['query', 'rabbit_ha_queues=true', { haQueues: true }],
  ['query', 'rabbit_quorum_queue=true', { quorum: true, durable: true }],
  ['rabbit', 'rabbit_quorum_delivery_limit=5', { quorumDeliveryLimit: 5 }],
  ['rabbit', 'rabbit_quroum_max_memory_length=6', { quorumMaxMemoryLength: 6 }],
  ['query', 'rabbit_quroum_max_memory_bytes=7', { quorumMaxMemoryBytes: 7 }],
  ['query', 'rabbit_transient_queues_ttl=600', { transientQueuesTtlSeconds: 600 }],
  ['rabbit', 'enable_cancel_on_failover=true', { cancelOnFailover: true }],
];

for (const [source, setting, changed] of FLAGS) {
  void test(`resolveRabbitSettings - ${setting} (${source}) sets ${JSON.stringify(changed)}`, () => {
    assert.deepEqual(from(source, setting).topology, { ...settings().topology, ...changed });
  });
}

void test('resolveRabbitSettings - ssl: TLS options only with ssl=true, empty file options left out', () => {
  assert.equal(from('rabbit', 'ssl_ca_file=/ca.pem').connection.ssl, undefined);
  assert.deepEqual(settings('rabbit://h/?ssl=true').connection.ssl, {
    enabled: true,
    caFile: undefined,
    certFile: undefined,
    keyFile: undefined,
    version: undefined,
    verifyHostname: true,
  });
  const conf = {
    oslo_messaging_rabbit: {
      rabbit_use_ssl: true,
      kombu_ssl_ca_certs: '/etc/ca.pem',
      ssl_cert_file: '/etc/cert.pem',
      ssl_key_file: '/etc/key.pem',
      ssl_version: 'TLSv1_2',
      ssl_enforce_hostname_verification: true,
    },
  };
  assert.deepEqual(settings('rabbit://h/', conf).connection.ssl, {
    enabled: true,
    caFile: '/etc/ca.pem',
    certFile: '/etc/cert.pem',
    keyFile: '/etc/key.pem',
    version: 'TLSv1_2',
    verifyHostname: true,
  });
});

const R = 'oslo_messaging_rabbit';
// [source, settings, option named by the error, message patterns]
const REFUSED: [Source, string, string, RegExp[]][] = [
  [
    'query',
    'no_such_thing=1',
    `${R}.no_such_thing`,
    [/no such option no_such_thing in group \[oslo_messaging_rabbit\]/],
  ],
  // §1.1: options of other groups cannot be set from the URL.
  ['query', 'control_exchange=nova', `${R}.control_exchange`, [/no such option control_exchange/]],
  [
    'query',
    'heartbeat_timeout_threshold=soon',
    `${R}.heartbeat_timeout_threshold`,
    [/"soon" is not an integer/],
  ],
  // §8: min 0 in HEAD (1 in 14.0.3).
  [
    'query',
    'rabbit_transient_queues_ttl=-1',
    `${R}.rabbit_transient_queues_ttl`,
    [/less than the minimum 0/],
  ],
  [
    'rabbit',
    'kombu_reconnect_delay=5',
    `${R}.kombu_reconnect_delay`,
    [/greater than the maximum 4\.5/],
  ],
  [
    'query',
    'kombu_failover_strategy=random',
    `${R}.kombu_failover_strategy`,
    [/not one of round-robin, shuffle/],
  ],
  [
    'query',
    'rabbit_quorum_queue=true&rabbit_ha_queues=true',
    `${R}.rabbit_quorum_queue`,
    [/rabbit_quorum_queue/, /rabbit_ha_queues/],
  ],
  [
    'rabbit',
    'rpc_conn_pool_size=1&conn_pool_min_size=2',
    `${R}.rpc_conn_pool_size`,
    [/rpc_conn_pool_size \(1\)/, /conn_pool_min_size \(2\)/],
  ],
  // Accepted by oslo (§1.3), refused here at construction.
  [
    'rabbit',
    'rabbit_login_method=RABBIT-CR-DEMO',
    `${R}.rabbit_login_method`,
    [/RABBIT-CR-DEMO is not supported/],
  ],
  [
    'query',
    'kombu_compression=bz2',
    `${R}.kombu_compression`,
    [/kombu_compression=bz2 is not supported/],
  ],
];

for (const [source, setting, option, patterns] of REFUSED) {
  void test(`resolveRabbitSettings - refuses ${setting} (${source}) with a ConfigurationError naming ${option}`, () => {
    assertConfigError(() => from(source, setting), option, ...patterns);
  });
}

// [rabbit_qos_prefetch_count, server maxUnsettled, basic.qos prefetch of its listener]
const PREFETCH: [number, number, number][] = [
  [0, 128, 128],
  [0, 1, 1],
  [0, 0, 1],
  [0, 2.5, 2],
  [10, 128, 10],
  [10, 4, 4],
  [10, 0, 1],
];

for (const [configured, maxUnsettled, expected] of PREFETCH) {
  void test(`listenerPrefetch - rabbit_qos_prefetch_count=${configured} with maxUnsettled ${maxUnsettled} gives ${expected}`, () => {
    const s = from('rabbit', `rabbit_qos_prefetch_count=${configured}`);
    assert.equal(listenerPrefetch(s, maxUnsettled), expected);
  });
}
