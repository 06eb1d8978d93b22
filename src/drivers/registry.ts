/**
 * Drivers by URL scheme. A driver is listed here by its descriptor (one line); its code
 * is loaded on first use, so importing the package opens no socket and loads no AMQP
 * code.
 *
 * @module
 */
import { DriverLoadFailure } from '../errors.js';
import type { DriverDescriptor, OptionGroupSpec } from './driver.js';
import { fakeDescriptor } from './fake/descriptor.js';
import { rabbitDescriptor } from './rabbit/descriptor.js';

// Each descriptor is typed by its own settings; the registry only passes them along.
const DESCRIPTORS = [rabbitDescriptor, fakeDescriptor] as unknown as readonly DriverDescriptor[];

const BY_SCHEME: ReadonlyMap<string, DriverDescriptor> = new Map(
  DESCRIPTORS.flatMap((d) => d.schemes.map((scheme) => [scheme, d] as const)),
);

/** The URL schemes of the registered drivers. */
export function driverNames(): string[] {
  return [...BY_SCHEME.keys()];
}

/** Every driver's option groups, in registry order. */
export function driverOptionGroups(): OptionGroupSpec[] {
  return DESCRIPTORS.flatMap((d) => d.optionGroups);
}

/** The descriptor for a URL scheme, or `DriverLoadFailure`. */
export function findDriver(scheme: string): DriverDescriptor {
  const entry = BY_SCHEME.get(scheme);
  if (entry === undefined) {
    throw new DriverLoadFailure(
      scheme,
      `no such driver; known drivers are ${driverNames().join(', ')}`,
    );
  }
  return entry;
}
