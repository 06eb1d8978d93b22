/**
 * Which observability hooks a transport gets, from its options and configuration.
 *
 * @module
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { TransportHook } from '../transport-hooks.js';
import { diagnosticsHook } from './diagnostics.js';
import { osloMetricsHook } from './oslo-metrics.js';
import { otelApi } from './otel.js';
import { tracingHook } from './tracing.js';

/** What the hooks need of a transport (the transport itself, while it is being made). */
export interface HookedTransport {
  readonly url: { readonly driverName: string };
  readonly conf: Config;
  readonly logger: Logger;
}

/**
 * The hooks for a new transport: tracing when `@opentelemetry/api` is installed (unless
 * `tracing: false`), oslo.metrics datagrams with `[oslo_messaging_metrics]
 * metrics_enabled`, and `node:diagnostics_channel` publishing (active only while
 * someone subscribes).
 */
export function observabilityHooks(
  transport: HookedTransport,
  options: { readonly tracing?: boolean | undefined },
): TransportHook[] {
  const hooks: TransportHook[] = [diagnosticsHook(transport)];
  if (options.tracing !== false) {
    const api = otelApi();
    if (api !== undefined) hooks.push(tracingHook(api, transport.url.driverName));
  }
  const metrics = transport.conf.metrics();
  if (metrics.metrics_enabled) hooks.push(osloMetricsHook(metrics, transport.logger));
  return hooks;
}
