/**
 * The public notification API: {@link Notifier}, notification listeners, filters and
 * results. Re-exported by the package entry.
 *
 * @module
 */
export { Notifier } from './notifier.js';
export { TestNotificationSink, NOTIFY_DRIVERS } from './notify-drivers.js';
export {
  getNotificationListener,
  getBatchNotificationListener,
  NotificationServer,
  BatchNotificationServer,
} from './listener.js';
export { NotificationFilter } from './filter.js';
export { NotificationResult, PRIORITIES } from './result.js';

export type { NotifierContext, NotifierOptions, NotifierPrepareOptions } from './notifier.js';
export type { NotifyDriverName, SentNotification } from './notify-drivers.js';
export type { RoutingConfig, RoutingRule } from './routing.js';
export type { NotificationListenerOptions, BatchNotificationListenerOptions } from './listener.js';
export type {
  NotificationEndpoint,
  BatchNotificationEndpoint,
  BatchNotificationMessage,
  NotificationMetadata,
} from './dispatcher.js';
export type {
  FilterPattern,
  FilterPatterns,
  NotificationFilterLike,
  NotificationFilterOptions,
} from './filter.js';
export type { NotificationPriority } from './result.js';
