/**
 * Call-monitor timing (oslo's `call_monitor_timeout`): what a caller sends as
 * `_timeout`, shared by every driver.
 *
 * @module
 */

/**
 * The `_timeout` sent for a call-monitor timeout: whole seconds, rounded up (the
 * server's heartbeats then come every ceil(s)/2 seconds, still well inside the caller's
 * own monitor of `ms`); `null` without one.
 */
export function callMonitorSeconds(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.ceil(ms / 1000);
}
