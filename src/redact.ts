/**
 * Secrets stay secret: one mask for every place that shows a password (transport URLs,
 * configuration listings, error messages, logs, the CLI), and the helper that hides
 * credentials in an object that `util.inspect` or `JSON.stringify` would otherwise show.
 *
 * @module
 */
import { inspect } from 'node:util';

/** What a password looks like wherever this library shows it. */
export const SECRET_MASK = '***';

/**
 * Give `target` (frozen afterwards by the caller, or not) a `util.inspect` form and a
 * `toJSON` that come from `show()`, so that logging or serialising it never reveals what
 * `show()` leaves out. Both are non-enumerable: spreads and `Object.keys` are unchanged.
 *
 * @internal
 */
export function redactedView<T extends object>(target: T, show: () => unknown): T {
  Object.defineProperty(target, inspect.custom, {
    value: (depth: number, options: object) => inspect(show(), { ...options, depth }),
    enumerable: false,
  });
  Object.defineProperty(target, 'toJSON', { value: show, enumerable: false });
  return target;
}
