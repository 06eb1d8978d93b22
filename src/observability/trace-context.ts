/**
 * W3C trace context in an oslo request context, as Python's OpenTelemetry
 * instrumentation of oslo.messaging carries it: the context key `_trace_context`, a dict
 * with `traceparent` and, when set, `tracestate` (so on the wire
 * `_context__trace_context`). A trace therefore continues across Python and Node in
 * both directions, whatever propagator the application registered.
 *
 * @module
 */
import type { Context, SpanContext } from '@opentelemetry/api';

import type { OtelApi } from './otel.js';

/** The request-context key of the trace context. */
export const TRACE_CONTEXT_KEY = '_trace_context';

/** What travels under {@link TRACE_CONTEXT_KEY}. */
export interface TraceContextEntry {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The entry for `span`'s context (version 00), or `undefined` for an invalid one. */
export function traceContextEntry(
  api: OtelApi,
  spanContext: SpanContext,
): TraceContextEntry | undefined {
  if (!api.isSpanContextValid(spanContext)) return undefined;
  const f = spanContext.traceFlags & 0xff;
  const flags = f === 1 ? '01' : f === 0 ? '00' : f.toString(16).padStart(2, '0');
  const entry: TraceContextEntry = {
    traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`,
  };
  const state = spanContext.traceState?.serialize();
  if (state !== undefined && state !== '') entry.tracestate = state;
  return entry;
}

/**
 * The remote parent that a request context carries, as a context to start spans in;
 * `undefined` when there is none or it is malformed (version ff, all-zero ids).
 */
export function extractTraceContext(api: OtelApi, ctxt: unknown): Context | undefined {
  if (typeof ctxt !== 'object' || ctxt === null) return undefined;
  const entry = (ctxt as Record<string, unknown>)[TRACE_CONTEXT_KEY];
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { traceparent, tracestate } = entry as Record<string, unknown>;
  if (typeof traceparent !== 'string') return undefined;
  // As sent (lower case, no spaces), else normalised.
  const m = TRACEPARENT.exec(traceparent) ?? TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (m === null || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16) & 0x01,
    isRemote: true,
  };
  if (typeof tracestate === 'string' && tracestate !== '') {
    spanContext.traceState = api.createTraceState(tracestate);
  }
  if (!api.isSpanContextValid(spanContext)) return undefined;
  return api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);
}
