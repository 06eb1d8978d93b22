/**
 * The rabbit driver as the registry knows it before its code is loaded: its schemes
 * (`rabbit`, and oslo's `kombu` alias), its option group, its settings and capabilities.
 *
 * @module
 */
import type { DriverDescriptor } from '../driver.js';
import { resolveRabbitSettings, type RabbitDriverSettings } from './options.js';
import { RABBIT_GROUP, RABBIT_OPTIONS } from './options-table.js';

export const rabbitDescriptor: DriverDescriptor<RabbitDriverSettings> = {
  schemes: ['rabbit', 'kombu'],
  optionGroups: [{ group: RABBIT_GROUP, options: RABBIT_OPTIONS }],
  // Every URL query key must be an [oslo_messaging_rabbit] option, and the options must
  // make sense together (login method, compression, quorum with HA): oslo fails the
  // transport at construction, and so do we.
  settings: resolveRabbitSettings,
  capabilities: (settings) => ({
    rpc: true,
    requeue: true,
    batch: true,
    maxPrefetch: settings.prefetchCount > 0 ? settings.prefetchCount : undefined,
    headers: true,
  }),
  load: async () => (await import('./rabbit-driver.js')).createRabbitDriver,
};
