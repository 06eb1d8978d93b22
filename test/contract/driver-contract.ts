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
import { describe, test } from 'node:test';

import { environments, type ContractTest, type DriverContractOptions } from './harness.js';
import { notificationContract } from './notification-contract.js';
import { rpcContract } from './rpc-contract.js';

export type { DriverContractOptions } from './harness.js';

/**
 * Register the contract tests against the driver behind `makeTransportUrl()`. Each test
 * calls it once; transports made from the same URL must share one broker.
 */
export function runDriverContract(
  name: string,
  makeTransportUrl: () => string,
  options: DriverContractOptions = {},
): void {
  const setup = environments(makeTransportUrl, options);
  const it: ContractTest = (testName, fn) => {
    const reason = options.skip?.[testName];
    test(testName, reason === undefined ? {} : { skip: reason }, async (t) =>
      fn(await setup(t), t),
    );
  };
  describe(`driver contract: ${name}`, () => {
    rpcContract(it);
    notificationContract(it);
  });
}
