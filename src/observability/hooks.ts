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
import { otelMetricsHook, type MeteredTransport } from './otel-metrics.js';
import { otelApi } from './otel.js';
import { tracingHook } from './tracing.js';

/** What the hooks need of a transport (the transport itself, while it is being made). */
export interface HookedTransport extends MeteredTransport {
  readonly url: { readonly driverName: string; toString(): string };
  readonly conf: Config;
  readonly logger: Logger;
}

/**
 * The hooks for a new transport: tracing and metrics through `@opentelemetry/api` when
 * it is installed (unless `tracing: false` / `metrics: false`; each inactive until a
 * provider is registered), oslo.metrics datagrams with `[oslo_messaging_metrics]
 * metrics_enabled`, and `node:diagnostics_channel` publishing (active only while
 * someone subscribes).
 */
export function observabilityHooks(
  transport: HookedTransport,
  options: { readonly tracing?: boolean | undefined; readonly metrics?: boolean | undefined },
): TransportHook[] {
  const hooks: TransportHook[] = [diagnosticsHook(transport)];
  const api = options.tracing === false && options.metrics === false ? undefined : otelApi();
  if (api !== undefined && options.tracing !== false) {
    hooks.push(tracingHook(api, transport.url.driverName));
  }
  if (api !== undefined && options.metrics !== false) {
    hooks.push(otelMetricsHook(api, transport, String(transport.url)));
  }
  const metrics = transport.conf.metrics();
  if (metrics.metrics_enabled) hooks.push(osloMetricsHook(metrics, transport.logger));
  return hooks;
}
