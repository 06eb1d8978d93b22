/**
 * Helpers for testing code that uses oslo-messaging, without a broker: the public
 * `oslo-messaging/testing` entry.
 *
 * The `fake://` transport keeps RabbitMQ's semantics (topic, server and fanout routing,
 * pools, requeue, JSON round trip of every message, replies and timeouts) in memory.
 * Its virtual hosts are shared by the whole process, as oslo's fake driver shares its
 * exchanges; {@link createFakeTransport} gives each call a virtual host of its own, so
 * tests running in parallel never see each other's messages.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { getRpcClient, getRpcServer, Target } from 'oslo-messaging';
 * import { createFakeTransport } from 'oslo-messaging/testing';
 *
 * const endpoint = { echo: (ctxt: object, args: { text: string }) => args.text };
 * const transport = createFakeTransport();
 * const server = getRpcServer(transport, new Target({ topic: 't', server: 'h1' }), [endpoint]);
 * await server.start();
 * const client = getRpcClient(transport, new Target({ topic: 't' }));
 * assert.equal(await client.call({}, 'echo', { text: 'hi' }), 'hi');
 * await server.close();
 * await transport.cleanup();
 * ```
 *
 * @module
 */
import { randomUUID } from 'node:crypto';

import { Config, type ConfigInput } from '../config/config.js';
import { type ConfigObject } from '../config/types.js';
import { DEFAULT_VHOST, fakeVirtualHost, vhostName } from '../drivers/fake/broker.js';
import type { NotificationTransport, RPCTransport, Transport } from '../transport.js';
import { getNotificationTransport, getRpcTransport, type TransportOptions } from '../transport.js';
import { TransportURL } from '../transport-url.js';

/** Options of {@link createFakeTransport} and {@link createFakeNotificationTransport}. */
export interface FakeTransportOptions extends Omit<TransportOptions, 'url'> {
  /**
   * The fake broker's virtual host. Transports on the same virtual host talk to each
   * other; give another transport's {@link fakeVirtualHostOf} to join it.
   * @default a new, unique virtual host
   */
  virtualHost?: string | undefined;
  /**
   * oslo options (a `Config` or a plain object by group), e.g.
   * `{ DEFAULT: { control_exchange: 'nova' } }`. Their `transport_url` is ignored.
   * @default all defaults
   */
  conf?: ConfigInput | undefined;
}

/** A `fake://` URL on a new virtual host nobody else uses: `fake:///test-<uuid>`. */
export function uniqueFakeUrl(): string {
  return `fake:///test-${randomUUID()}`;
}

function fakeUrl(virtualHost: string | undefined): TransportURL {
  return new TransportURL({
    transport: 'fake',
    virtualHost: virtualHost ?? `test-${randomUUID()}`,
  });
}

function split(options: FakeTransportOptions): {
  conf: ConfigInput;
  transportOptions: TransportOptions;
} {
  const { virtualHost, conf, ...transportOptions } = options;
  return { conf: conf ?? {}, transportOptions: { ...transportOptions, url: fakeUrl(virtualHost) } };
}

/**
 * An RPC transport on the in-memory `fake://` broker, by default on a virtual host of
 * its own. Clean it up (`await transport.cleanup()` or `await using`) when done: that
 * rejects calls still waiting and releases its servers' queues.
 *
 * @example
 * ```ts
 * import { createFakeTransport, fakeVirtualHostOf } from 'oslo-messaging/testing';
 *
 * const transport = createFakeTransport({ conf: { DEFAULT: { control_exchange: 'nova' } } });
 * const peer = createFakeTransport({ virtualHost: fakeVirtualHostOf(transport) });
 * await peer.cleanup();
 * await transport.cleanup();
 * ```
 */
export function createFakeTransport(options: FakeTransportOptions = {}): RPCTransport {
  const { conf, transportOptions } = split(options);
  return getRpcTransport(conf, transportOptions);
}

/**
 * A notification transport on the in-memory `fake://` broker (for a `Notifier` or a
 * notification listener), by default on a virtual host of its own. Pass
 * `virtualHost: fakeVirtualHostOf(rpcTransport)` to share a broker with an RPC transport.
 */
export function createFakeNotificationTransport(
  options: FakeTransportOptions = {},
): NotificationTransport {
  const { conf, transportOptions } = split(options);
  return getNotificationTransport(conf, transportOptions);
}

/**
 * The fake broker's virtual host that a `fake://` transport uses, to put another
 * transport on the same broker.
 *
 * @throws TypeError for a transport that is not `fake://`
 */
export function fakeVirtualHostOf(transport: Transport): string {
  if (transport.url.driverName !== 'fake') {
    throw new TypeError(`not a fake:// transport: ${transport.url.toString()}`);
  }
  return vhostName(transport.url.virtualHost);
}

/**
 * How many messages wait in a queue of a transport's fake broker (not yet delivered,
 * or given back), e.g. `<topic>.<priority>` for notifications nobody consumed, or a
 * pool name. `0` for a queue that does not exist.
 */
export function fakeQueueDepth(transport: Transport, queue: string): number {
  return fakeVirtualHost(fakeVirtualHostOf(transport)).queue(queue)?.messageCount ?? 0;
}

/** The names of the queues declared on a transport's fake broker (topology checks). */
export function fakeQueueNames(transport: Transport): string[] {
  return fakeVirtualHost(fakeVirtualHostOf(transport)).queueNames();
}

/**
 * Empty a fake virtual host: every queue and exchange is deleted, consumers are
 * cancelled and waiting messages are dropped. Without an argument, the default one
 * (`fake://`), which tests that share it may want to reset between runs.
 */
export function resetFakeBroker(virtualHost: string = DEFAULT_VHOST): void {
  fakeVirtualHost(vhostName(virtualHost)).reset();
}

/**
 * A `Config` for tests: `transport_url` is `fake://`, everything else is oslo's
 * default unless `overrides` sets it (options by group, as in a `nova.conf`).
 *
 * @throws ConfigurationError for an unknown option of an oslo.messaging group or a bad value
 *
 * @example
 * ```ts
 * import { getRpcTransport } from 'oslo-messaging';
 * import { testConfig } from 'oslo-messaging/testing';
 *
 * const conf = testConfig({ DEFAULT: { control_exchange: 'nova', rpc_response_timeout: 5 } });
 * const transport = getRpcTransport(conf);
 * console.log(transport.defaultTimeoutMs); // 5000
 * await transport.cleanup();
 * ```
 */
export function testConfig(overrides: ConfigObject = {}): Config {
  const base = Config.from({ DEFAULT: { transport_url: 'fake://' } });
  return Object.keys(overrides).length === 0 ? base : base.withOverrides(overrides);
}
