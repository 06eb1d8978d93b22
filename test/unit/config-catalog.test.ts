/**
 * The option catalog against oslo.messaging's own: every option that Debian's 14.0.3 or
 * upstream HEAD registers (their `list_opts()`, written by test/fixtures/options/list_opts.py)
 * is known here by name, under its group or a deprecated name, with its type; how unknown
 * and accepted-without-effect options are reported; a 2025.x nova.conf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Config } from '../../src/config/config.js';
import { reportConfigNotices } from '../../src/config/notices.js';
import { findOption } from '../../src/config/options.js';
import { ConfigurationError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { RABBIT_GROUP, type RabbitOptions } from '../../src/drivers/rabbit/options-table.js';
import { resolveRabbitSettings } from '../../src/drivers/rabbit/options.js';
import { TransportURL } from '../../src/transport-url.js';

interface CatalogRow {
  group: string;
  name: string;
  type: string;
  default: unknown;
  min: number | null;
  max: number | null;
  choices: string[] | null;
  deprecated: Array<[string, string]>;
}

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const catalog = (file: string): CatalogRow[] =>
  JSON.parse(readFileSync(here(`../fixtures/options/${file}`), 'utf8')) as CatalogRow[];

const CATALOGS = { '14.0.3': catalog('oslo-14.0.3.json'), HEAD: catalog('oslo-head.json') };

void test('option catalog - the fixtures hold 96 options of 14.0.3 and 60 of HEAD', () => {
  assert.equal(CATALOGS['14.0.3'].length, 96);
  assert.equal(CATALOGS.HEAD.length, 60);
});

for (const [release, rows] of Object.entries(CATALOGS)) {
  void test(`option catalog - every option of oslo.messaging ${release} is known, with its type`, () => {
    for (const row of rows) {
      const def = findOption(row.group, row.name);
      const id = `${row.group}.${row.name}`;
      assert.ok(def !== undefined, `${id} is unknown`);
      assert.equal(def.type, row.type, `${id} type`);
      for (const [group, name] of row.deprecated) {
        assert.equal(findOption(group, name), def, `${id} is read as ${group}.${name}`);
      }
      if (row.choices !== null) assert.deepEqual(def.choices, row.choices, `${id} choices`);
      // A bound we enforce is the release's own, or tighter where the wire needs it.
      if (row.min !== null) assert.ok((def.min ?? -Infinity) >= row.min || release === '14.0.3');
    }
  });
}

void test('option catalog - defaults are HEAD defaults for every option HEAD registers', () => {
  const conf = Config.from();
  for (const row of CATALOGS.HEAD) {
    if (row.default === null) continue; // machine-dependent (hostname, processname) or unset
    const def = findOption(row.group, row.name);
    assert.ok(def !== undefined);
    assert.deepEqual(conf.get(def.group, def.name), row.default, `${row.group}.${row.name}`);
  }
});

void test('Config - an option set in a file that has no effect here is reported once, with the reason', () => {
  const conf = Config.fromFilesSync([here('../fixtures/config/nova-2025.conf')]);
  const notices = conf.notices();
  for (const option of [
    'oslo_messaging_rabbit.heartbeat_in_pthread',
    'oslo_messaging_rabbit.heartbeat_rate',
    'oslo_messaging_kafka.consumer_group',
    'oslo_messaging_kafka.security_protocol',
  ]) {
    const matching = notices.filter((n) => n.includes(`Option ${option} is accepted`));
    assert.equal(matching.length, 1, option);
    assert.match(matching[0] ?? '', /has no effect \(in .*nova-2025\.conf\): \w+/);
  }
  const logged: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (_m: string, ...args: unknown[]) => logged.push(String(args[0])),
    error: () => undefined,
  };
  reportConfigNotices(conf, logger);
  reportConfigNotices(conf, logger);
  assert.deepEqual(logged, notices);
});

void test('Config - an unknown oslo.messaging section of a file is one warning; other services sections are silent', () => {
  const conf = Config.fromFilesSync([here('../fixtures/config/nova-2025.conf')]);
  assert.ok(!conf.notices().some((n) => /oslo_concurrency|placement|database/.test(n)));
  const old = Config.fromFilesSync([here('../fixtures/config/future.conf')]);
  assert.equal(old.notices().length, 1);
  assert.match(
    old.notices()[0] ?? '',
    /^Ignoring section \[oslo_messaging_zmq\] \(in .*future\.conf\)/,
  );
  assert.equal(old.group<RabbitOptions>(RABBIT_GROUP).rabbit_quorum_queue, true);
});

void test('Config.from - a key that is no option stays a ConfigurationError in a programmatic object', () => {
  assert.throws(
    () => Config.from({ oslo_messaging_rabbit: { rabbit_future: true } }),
    (err: unknown) =>
      err instanceof ConfigurationError && /oslo_messaging_rabbit\.rabbit_future/.test(err.message),
  );
  assert.throws(
    () => Config.from({ oslo_messaging_kafka: { kafka_future: 1 } }),
    ConfigurationError,
  );
  // A bad value of an option without effect is still a bad value, named with its file.
  assert.throws(
    () => Config.from({ oslo_messaging_kafka: { pool_size: 'many' } }),
    /oslo_messaging_kafka\.pool_size: "many" is not an integer/,
  );
});

void test('Config.fromFiles - a 2025.x nova.conf loads, with the modern rabbit options', async () => {
  const conf = await Config.fromFiles([here('../fixtures/config/nova-2025.conf')]);
  const rabbit = conf.group<RabbitOptions>(RABBIT_GROUP);
  assert.equal(rabbit.rabbit_transient_quorum_queue, true);
  assert.equal(rabbit.rabbit_stream_fanout, true);
  assert.equal(rabbit.use_queue_manager, true);
  assert.equal(rabbit.hostname, 'compute-7');
  assert.equal(rabbit.processname, 'nova-compute');
  assert.equal(rabbit.rabbit_transient_queues_ttl, 0);
  assert.equal(rabbit.kombu_reconnect_splay, 0.5);
  assert.equal(rabbit.rabbit_quroum_max_memory_bytes, 134217728);
  assert.equal(conf.get('oslo_messaging_kafka', 'consumer_group'), 'nova_consumer');
  assert.equal(conf.defaults().control_exchange, 'nova');
  const url = TransportURL.parse(conf.defaults().transport_url);
  const silent: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const settings = resolveRabbitSettings(url, conf, silent);
  assert.equal(settings.topology.transientQuorum, true);
  assert.equal(settings.topology.streamFanout, true);
  assert.equal(settings.connection.hosts.length, 3);
});

void test('Config.fromFiles - an unknown option in a file is ignored with one warning naming option and file', () => {
  const notices = Config.fromFilesSync([here('../fixtures/config/typo.conf')]).notices();
  assert.equal(notices.length, 1);
  assert.match(notices[0] ?? '', /oslo_messaging_rabbit\.amqp_durable_queue .*typo\.conf/);
});
