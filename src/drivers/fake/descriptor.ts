/**
 * The in-memory `fake://` driver as the registry knows it: no options of its own, every
 * capability of a broker.
 *
 * @module
 */
import type { DriverDescriptor } from '../driver.js';

export const fakeDescriptor: DriverDescriptor<undefined> = {
  schemes: ['fake'],
  optionGroups: [],
  settings: () => undefined,
  capabilities: () => ({
    rpc: true,
    requeue: true,
    batch: true,
    maxPrefetch: undefined,
    headers: true,
  }),
  load: async () => (await import('./fake-driver.js')).createFakeDriver,
};
