import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ConfigurationError,
  DriverLoadFailure,
  getNotificationTransport,
  getRpcTransport,
  getTransport,
  InvalidTransportURL,
  NotificationTransport,
  RPCTransport,
} from '../../src/index.js';

const refused: [string, string, new (...args: never[]) => Error][] = [
  ['an unknown scheme', 'amqp1://h/', DriverLoadFailure],
  ['a URL without a scheme', 'localhost:5672', InvalidTransportURL],
  ['a bad port', 'rabbit://h:99999/', InvalidTransportURL],
  ['an unknown query option', 'rabbit://h/?no_such_option=1', ConfigurationError],
  [
    'a query option of the wrong type',
    'rabbit://h/?heartbeat_timeout_threshold=soon',
    ConfigurationError,
  ],
  ['bz2 compression', 'rabbit://h/?kombu_compression=bz2', ConfigurationError],
  [
    'the RABBIT-CR-DEMO login',
    'rabbit://h/?rabbit_login_method=RABBIT-CR-DEMO',
    ConfigurationError,
  ],
  [
    'quorum queues together with HA queues',
    'rabbit://h/?rabbit_quorum_queue=true&rabbit_ha_queues=true',
    ConfigurationError,
  ],
];
for (const [what, url, errorClass] of refused) {
  test(`getTransport - refuses ${what} when the transport is made, with ${errorClass.name}`, () => {
    assert.throws(() => getTransport(url), errorClass);
  });
}

test('getTransport - loads no driver and opens nothing until first used', async () => {
  // Nothing listens on this port: creating and cleaning up must still succeed.
  const transport = getRpcTransport('rabbit://u:secret@127.0.0.1:1/');
  assert.ok(transport instanceof RPCTransport, 'an RPC transport');
  assert.equal(String(transport.url), 'rabbit://u:***@127.0.0.1:1/', 'the password is masked');
  await transport.cleanup();
});

test('getRpcTransport - reads [DEFAULT] transport_url and control_exchange', async () => {
  const transport = getRpcTransport({
    DEFAULT: { transport_url: 'fake:///rpc', control_exchange: 'nova' },
  });
  assert.equal(transport.url.driverName, 'fake');
  assert.equal(transport.controlExchange, 'nova');
  await transport.cleanup();
});

test('getRpcTransport - an explicit url wins over the configuration', async () => {
  const transport = getRpcTransport(
    { DEFAULT: { transport_url: 'rabbit://ignored/' } },
    { url: 'fake:///explicit' },
  );
  assert.equal(transport.url.virtualHost, 'explicit');
  await transport.cleanup();
});

test('getNotificationTransport - prefers [oslo_messaging_notifications] transport_url', async () => {
  const transport = getNotificationTransport({
    DEFAULT: { transport_url: 'fake:///rpc' },
    oslo_messaging_notifications: { transport_url: 'fake:///notifications' },
  });
  assert.ok(transport instanceof NotificationTransport, 'a notification transport');
  assert.equal(transport.url.virtualHost, 'notifications');
  await transport.cleanup();
});

test('getNotificationTransport - falls back to [DEFAULT] transport_url', async () => {
  const transport = getNotificationTransport({ DEFAULT: { transport_url: 'fake:///rpc' } });
  assert.equal(transport.url.virtualHost, 'rpc');
  await transport.cleanup();
});

test('getTransport - the default URL is rabbit:// on localhost, as oslo', async () => {
  const transport = getTransport();
  assert.equal(transport.url.driverName, 'rabbit');
  assert.deepEqual(
    transport.url.effectiveHosts().map((h) => [h.hostname, h.port]),
    [['localhost', 5672]],
  );
  await transport.cleanup();
});

test('Transport - supportsRequeue is true for the fake and rabbit drivers', async () => {
  for (const url of ['fake://', 'rabbit://h/', 'kombu://h/']) {
    const transport = getTransport(url);
    assert.equal(transport.supportsRequeue, true, url);
    await transport.cleanup();
  }
});

test('Transport - cleanup is idempotent and the transport refuses use afterwards', async () => {
  const transport = getRpcTransport('fake://');
  await transport._loadDriver();
  await transport.cleanup();
  await transport.cleanup();
  await assert.rejects(transport._loadDriver(), /closed/);
});

test('Transport - await using cleans up', async () => {
  let seen: RPCTransport | undefined;
  {
    await using transport = getRpcTransport('fake://');
    seen = transport;
    await transport._loadDriver();
  }
  await assert.rejects(seen._loadDriver(), /closed/);
});
