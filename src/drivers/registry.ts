/**
 * Drivers by URL scheme. Each is loaded on first use, so importing the package opens
 * no socket and loads no AMQP code.
 *
 * @module
 */
import type { Config } from '../config.js';
import { DriverLoadFailure } from '../errors.js';
import { silentLogger } from '../log.js';
import type { TransportURL } from '../transport-url.js';
import type { DriverFactory } from './driver.js';
import { resolveRabbitSettings } from './rabbit/options.js';

interface DriverEntry {
  /** Whether listeners can give messages back to the queue (`allowRequeue`). */
  supportsRequeue: boolean;
  /** Checks, without loading the driver, that the URL and options suit it. Throws typed errors. */
  validate(url: TransportURL, conf: Config): void;
  load(): Promise<DriverFactory>;
}

const rabbit: DriverEntry = {
  supportsRequeue: true,
  // Every URL query key must be an [oslo_messaging_rabbit] option, and the options must
  // make sense together (login method, compression, quorum with HA): oslo fails the
  // transport at construction, and so do we. This resolves settings only; the AMQP
  // code is loaded with the driver.
  validate: (url, conf) => void resolveRabbitSettings(url, conf, silentLogger),
  load: async () => (await import('./rabbit/rabbit-driver.js')).createRabbitDriver,
};

const DRIVERS: ReadonlyMap<string, DriverEntry> = new Map([
  ['rabbit', rabbit],
  // oslo registers `kombu` as an alias of the rabbit driver.
  ['kombu', rabbit],
  [
    'fake',
    {
      supportsRequeue: true,
      validate: () => undefined,
      load: async () => (await import('./fake/fake-driver.js')).createFakeDriver,
    },
  ],
]);

/** The names of the registered drivers. */
export function driverNames(): string[] {
  return [...DRIVERS.keys()];
}

/** The entry for a driver name, or `DriverLoadFailure`. */
export function findDriver(name: string): DriverEntry {
  const entry = DRIVERS.get(name);
  if (entry === undefined) {
    throw new DriverLoadFailure(
      name,
      `no such driver; known drivers are ${driverNames().join(', ')}`,
    );
  }
  return entry;
}

/** Load a driver's factory, turning an import failure into `DriverLoadFailure`. */
export async function loadDriver(name: string): Promise<DriverFactory> {
  const entry = findDriver(name);
  try {
    return await entry.load();
  } catch (err) {
    throw new DriverLoadFailure(name, String(err), { cause: err });
  }
}
