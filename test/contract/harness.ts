/**
 * The driver contract suite's harness: per-test environments (transports on one broker,
 * listeners that record what they get), and shared fixtures.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ConfigObject } from '../../src/config/types.js';
import type {
  DriverListener,
  IncomingMessage,
  RpcIncomingMessage,
} from '../../src/drivers/driver.js';
import type { NotificationMessage, RpcReply } from '../../src/wire/messages.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { Target } from '../../src/target.js';
import { getTransport, type Transport, type TransportOptions } from '../../src/transport.js';
import { driverOf, type DriverView } from '../helpers/driver-view.js';

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
export class Inbox<M> {
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

export const unique = (prefix: string): string =>
  `${prefix}_${randomUUID().slice(0, 13).replace('-', '')}`;

export function notification(
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

export const PY_FAILURE = JSON.stringify({
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
export class OwireError extends Error {
  readonly kwargs: Record<string, unknown> | undefined;
  constructor(message: string, kwargs?: Record<string, unknown>) {
    super(message);
    this.name = 'OwireError';
    this.kwargs = kwargs;
  }
}

export type RpcHandler = (
  message: RpcIncomingMessage,
) => RpcReply | undefined | Promise<RpcReply | undefined>;

export interface Env {
  readonly topic: string;
  readonly deliveryMs: number;
  readonly quietMs: number;
  /** A new transport on the suite's broker (each test gets its own URL). */
  driver(options?: TransportOptions): Promise<DriverView>;
  /** An RPC server listener that acks every request first, then replies with `handler`. */
  rpcServer(
    driver: DriverView,
    target: Target,
    handler?: RpcHandler,
    maxUnsettled?: number,
  ): Promise<{ listener: DriverListener<RpcIncomingMessage>; inbox: Inbox<RpcIncomingMessage> }>;
  /** A notification listener whose callback only records; settling is the test's business. */
  notificationListener(
    driver: DriverView,
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

/** Registers one contract test: `fn` gets a fresh environment. */
export type ContractTest = (
  testName: string,
  fn: (env: Env, t: TestContext) => Promise<void>,
) => void;

/** A factory of per-test environments on the broker behind `makeTransportUrl()`. */
export function environments(
  makeTransportUrl: () => string,
  options: DriverContractOptions,
): (t: TestContext) => Promise<Env> {
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
    const driver = async (transportOptions: TransportOptions = {}): Promise<DriverView> => {
      const transport = getTransport(options.conf ?? {}, { logger, ...transportOptions, url });
      transports.push(transport);
      return driverOf(transport);
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

  return setup;
}
