/**
 * What a notification endpoint returns, and the priorities notifications carry.
 *
 * @module
 */

/**
 * What a notification endpoint method may return (oslo's `NotificationResult`).
 *
 * `REQUEUE` asks for the message to be delivered again: the remaining endpoints are
 * skipped and, on a listener created with `allowRequeue: true`, the message goes back
 * to its queue. Anything else, including `undefined`, counts as `HANDLED`.
 */
export const NotificationResult = {
  HANDLED: 'handled',
  REQUEUE: 'requeue',
} as const;

/** A value of `NotificationResult`: `'handled'` or `'requeue'`. */
export type NotificationResult = (typeof NotificationResult)[keyof typeof NotificationResult];

/**
 * The notification priorities, lower case, as endpoint methods and routing keys name them.
 * The body of a notification carries them upper case (`INFO`). `warning` is not one of
 * them: `Notifier.warning()` sends `WARN`.
 */
export const PRIORITIES = [
  'audit',
  'debug',
  'info',
  'warn',
  'error',
  'critical',
  'sample',
] as const;

/** A lower-case notification priority. */
export type NotificationPriority = (typeof PRIORITIES)[number];

/** True when `value` is one of the seven lower-case {@link PRIORITIES}. */
export function isPriority(value: unknown): value is NotificationPriority {
  return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}
