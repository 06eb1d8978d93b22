/**
 * The OpenTelemetry API, when the application has it installed. `@opentelemetry/api` is
 * an optional peer dependency: the library never requires it, and uses the copy the
 * application registers its SDK with (the API keeps one global registry per process).
 *
 * @module
 */
import { createRequire } from 'node:module';

import type * as api from '@opentelemetry/api';

export type OtelApi = typeof api;

let loaded: OtelApi | null | undefined;

/** The API, or `undefined` when it is not installed (looked up once per process). */
export function otelApi(): OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
