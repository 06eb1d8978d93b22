/**
 * Configuration: oslo.messaging's options by group, read from oslo-style INI files, plain
 * objects and transport URL queries.
 *
 * @module
 */
export { Config, listOpts } from './config.js';
export { parseIni } from './ini.js';
export type { ConfigInput } from './config.js';
export type {
  ConfigGroups,
  ConfigObject,
  DefaultOptions,
  DeprecatedName,
  GroupSpec,
  MetricsOptions,
  NotificationOptions,
  OptionDefinition,
  OptionInfo,
  OptionSpec,
  OptionType,
  OptionUnit,
} from './types.js';
