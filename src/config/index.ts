/**
 * Configuration: oslo.messaging's options by group, read from oslo-style INI files, plain
 * objects and transport URL queries.
 *
 * @module
 */
export { Config, listOpts } from './config.js';
export { parseIni } from './ini.js';
export { KOMBU_FAILOVER_STRATEGIES, RABBIT_LOGIN_METHODS } from './types.js';
export type { ConfigInput } from './config.js';
export type {
  ConfigGroups,
  ConfigObject,
  DefaultOptions,
  DeprecatedName,
  KombuFailoverStrategy,
  MetricsOptions,
  NotificationOptions,
  OptionDefinition,
  OptionInfo,
  OptionType,
  OptionUnit,
  RabbitLoginMethod,
  RabbitOptions,
} from './types.js';
