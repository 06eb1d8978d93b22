/**
 * Which observability hooks a transport gets, from its options and configuration.
 *
 * @module
 */
import type { TransportHook } from '../transport-hooks.js';
import { otelApi } from './otel.js';
import { tracingHook } from './tracing.js';

/** What the hooks need of a transport (the transport itself, while it is being made). */
export interface HookedTransport {
  readonly url: { readonly driverName: string };
}

/** The hooks for a new transport: tracing when `@opentelemetry/api` is installed. */
export function observabilityHooks(
  transport: HookedTransport,
  options: { readonly tracing?: boolean | undefined },
): TransportHook[] {
  const hooks: TransportHook[] = [];
  if (options.tracing !== false) {
    const api = otelApi();
    if (api !== undefined) hooks.push(tracingHook(api, transport.url.driverName));
  }
  return hooks;
}
