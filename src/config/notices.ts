/**
 * Reporting a configuration's notices once. Kept apart from `config.ts` so that driver
 * descriptors can use it without importing the option table (which imports them).
 *
 * @module
 */
import type { Logger } from '../log.js';
import type { Config } from './config.js';

const reported = new WeakSet<Config>();

/**
 * Logs a configuration's {@link Config.notices} at warning level, once per configuration
 * however many transports are made from it.
 */
export function reportConfigNotices(conf: Config, logger: Logger): void {
  if (reported.has(conf)) return;
  reported.add(conf);
  for (const notice of conf.notices()) logger.warn('%s', notice);
}
