/**
 * The in-memory `fake://` driver as the registry knows it: no options of its own, every
 * capability of a broker.
 *
 * @module
 */
import { reportConfigNotices } from '../../config/notices.js';
import type { DriverDescriptor } from '../driver.js';

export const fakeDescriptor: DriverDescriptor<undefined> = {
  schemes: ['fake'],
  optionGroups: [],
  settings: (_url, conf, logger) => {
    reportConfigNotices(conf, logger);
    return undefined;
  },
  capabilities: () => ({
    rpc: true,
    requeue: true,
    batch: true,
    maxPrefetch: undefined,
    headers: true,
  }),
  load: async () => (await import('./fake-driver.js')).createFakeDriver,
};
