/**
 * Metrics through the OpenTelemetry metrics API, for operators without oslo.metrics:
 * the instruments oslo.metrics defines, under the same names and labels (a Prometheus
 * exporter shows `oslo_messaging_rpc_client_invocation_start_total`,
 * `oslo_messaging_rpc_client_processing_seconds`, ... as the oslo.metrics collector
 * does), plus transport gauges a Node operator expects. Inactive while no meter provider
 * is registered.
 *
 * | instrument | type | what |
 * | --- | --- | --- |
 * | `oslo_messaging_rpc_{client,server}_invocation_start` | counter | calls and casts begun |
 * | `oslo_messaging_rpc_{client,server}_invocation_end` | counter | finished, failed or not |
 * | `oslo_messaging_rpc_{client,server}_exception` | counter | failures, by `exception` |
 * | `oslo_messaging_rpc_{client,server}_processing` | histogram (s) | duration |
 * | `oslo_messaging_transport_connected` | gauge | 1 while connected, by `transport` |
 * | `oslo_messaging_transport_reconnects` | counter | reconnection attempts |
 * | `oslo_messaging_calls_in_flight` | up-down counter | calls waiting for their reply |
 * | `oslo_messaging_publishes_pending` | up-down counter | sends not yet confirmed |
 * | `oslo_messaging_deliveries_unsettled` | up-down counter | deliveries being handled |
 * | `oslo_messaging_requeues` | counter | notifications given back to the queue |
 * | `oslo_messaging_messages_rejected` | counter | malformed messages rejected, by `kind` |
 *
 * @module
 */
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  ObservableResult,
  UpDownCounter,
} from '@opentelemetry/api';

import type { RpcIncomingMessage } from '../drivers/driver.js';
import type { Target } from '../target.js';
import type { TransportStatus } from '../transport-status.js';
import type { DeliverEvent, SendEvent, TransportHook } from '../transport-hooks.js';
import type { OtelApi } from './otel.js';
import { errorName } from './oslo-metrics.js';
import { INSTRUMENTATION_NAME } from './tracing.js';

/** oslo.metrics' histogram buckets (seconds). */
const BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 25.0, 50.0, 75.0, 100,
];

interface Instruments {
  readonly meter: Meter;
  readonly start: Record<'client' | 'server', Counter>;
  readonly end: Record<'client' | 'server', Counter>;
  readonly exception: Record<'client' | 'server', Counter>;
  readonly processing: Record<'client' | 'server', Histogram>;
  readonly reconnects: Counter;
  readonly inFlight: UpDownCounter;
  readonly pending: UpDownCounter;
  readonly unsettled: UpDownCounter;
  readonly requeues: Counter;
  readonly rejected: Counter;
}

function create(meter: Meter): Omit<Instruments, 'meter'> {
  const side = <T>(make: (side: 'client' | 'server') => T) => ({
    client: make('client'),
    server: make('server'),
  });
  return {
    start: side((s) =>
      meter.createCounter(`oslo_messaging_rpc_${s}_invocation_start`, {
        description: `RPC invocations started (${s}).`,
      }),
    ),
    end: side((s) =>
      meter.createCounter(`oslo_messaging_rpc_${s}_invocation_end`, {
        description: `RPC invocations ended (${s}).`,
      }),
    ),
    exception: side((s) =>
      meter.createCounter(`oslo_messaging_rpc_${s}_exception`, {
        description: `RPC invocations that failed (${s}).`,
      }),
    ),
    processing: side((s) =>
      meter.createHistogram(`oslo_messaging_rpc_${s}_processing`, {
        description: `Duration of RPC processing (${s}).`,
        unit: 's',
        advice: { explicitBucketBoundaries: BUCKETS },
      }),
    ),
    reconnects: meter.createCounter('oslo_messaging_transport_reconnects', {
      description: 'Reconnection attempts of the transport.',
    }),
    inFlight: meter.createUpDownCounter('oslo_messaging_calls_in_flight', {
      description: 'RPC calls waiting for their reply.',
    }),
    pending: meter.createUpDownCounter('oslo_messaging_publishes_pending', {
      description: 'Messages being published, not yet confirmed.',
    }),
    unsettled: meter.createUpDownCounter('oslo_messaging_deliveries_unsettled', {
      description: 'Delivered messages being handled, not yet settled.',
    }),
    requeues: meter.createCounter('oslo_messaging_requeues', {
      description: 'Notifications given back to the queue.',
    }),
    rejected: meter.createCounter('oslo_messaging_messages_rejected', {
      description: 'Delivered messages rejected as malformed (not requeued).',
    }),
  };
}

/** What the metrics hook needs of a transport. */
export interface MeteredTransport {
  readonly status: TransportStatus;
  on(event: 'reconnecting' | 'closed', listener: () => void): unknown;
  on(event: 'rejected', listener: (event: { readonly kind: string }) => void): unknown;
}

/**
 * A hook recording the instruments; `name` labels this transport's gauges. The meter is
 * taken from the global provider at first use after one is registered.
 */
export function otelMetricsHook(
  api: OtelApi,
  transport: MeteredTransport,
  name: string,
): TransportHook {
  let instruments: Instruments | undefined;
  let unobserve: (() => void) | undefined;
  let closed = false;
  let seen: { provider: object; instruments: Instruments | undefined } | undefined;
  const current = (): Instruments | undefined => {
    const provider = api.metrics.getMeterProvider();
    // The same provider as last time: the same instruments (no lookup per message).
    if (seen?.provider === provider) return seen.instruments;
    seen = { provider, instruments: lookUp(provider) };
    return seen.instruments;
  };
  const lookUp = (provider: ReturnType<typeof api.metrics.getMeterProvider>) => {
    if (provider.constructor.name === 'NoopMeterProvider') return undefined;
    const meter = provider.getMeter(INSTRUMENTATION_NAME);
    if (instruments?.meter !== meter) {
      instruments = { meter, ...create(meter) };
      unobserve?.();
      unobserve = undefined;
      if (!closed) {
        const gauge = meter.createObservableGauge('oslo_messaging_transport_connected', {
          description: '1 while the transport is connected (or blocked), else 0.',
        });
        const observe = (result: ObservableResult): void => {
          const up = transport.status === 'connected' || transport.status === 'blocked';
          result.observe(up ? 1 : 0, { transport: name });
        };
        gauge.addCallback(observe);
        unobserve = () => gauge.removeCallback(observe);
      }
    }
    return instruments;
  };
  const gauges = { transport: name };
  transport.on('reconnecting', () => current()?.reconnects.add(1, gauges));
  transport.on('rejected', ({ kind }) => current()?.rejected.add(1, { transport: name, kind }));
  // A closed transport is no longer observed: the provider would keep it alive.
  transport.on('closed', () => {
    closed = true;
    unobserve?.();
    unobserve = undefined;
  });

  return {
    active: () => current() !== undefined,

    onSend(event: SendEvent) {
      const m = current();
      if (m === undefined) return undefined;
      m.pending.add(1, gauges);
      const rpc = event.kind === 'call' || event.kind === 'cast' || event.kind === 'fanout';
      const labels =
        rpc && event.target !== undefined
          ? clientLabels(event.target, event.kind === 'call' ? 'call' : 'cast', event.method)
          : undefined;
      if (event.kind === 'call') m.inFlight.add(1, gauges);
      if (labels !== undefined) m.start.client.add(1, labels);
      const started = performance.now();
      return (error) => {
        m.pending.add(-1, gauges);
        if (event.kind === 'call') m.inFlight.add(-1, gauges);
        if (labels === undefined) return;
        if (error !== undefined)
          m.exception.client.add(1, { ...labels, exception: errorName(error) });
        m.processing.client.record((performance.now() - started) / 1000, labels);
        m.end.client.add(1, labels);
      };
    },

    onDeliver(event: DeliverEvent) {
      const m = current();
      if (m === undefined) return undefined;
      m.unsettled.add(1, gauges);
      const labels = event.kind === 'rpc' ? serverLabels(event) : undefined;
      if (labels !== undefined) m.start.server.add(1, labels);
      const started = performance.now();
      return {
        end: ({ error, requeued }) => {
          m.unsettled.add(-1, gauges);
          if (requeued === true) m.requeues.add(1, gauges);
          if (labels === undefined) return;
          if (error !== undefined)
            m.exception.server.add(1, { ...labels, exception: errorName(error) });
          m.processing.server.record((performance.now() - started) / 1000, labels);
          m.end.server.add(1, labels);
        },
      };
    },
  };
}

/** A label value as oslo.metrics' collector shows it: Python's `str()` of the value. */
const str = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : 'None';

/** oslo.metrics' client labels, valued as its collector shows them (`None`, `True`). */
function clientLabels(target: Target, callType: string, method: string | undefined): Attributes {
  return {
    call_type: callType,
    exchange: str(target.exchange),
    topic: str(target.topic),
    namespace: str(target.namespace),
    version: str(target.version),
    server: str(target.server),
    fanout: target.fanout === undefined ? 'None' : target.fanout ? 'True' : 'False',
    method: str(method),
  };
}

function serverLabels(event: DeliverEvent): Attributes {
  const body = (event.message as RpcIncomingMessage).message;
  return {
    exchange: str(event.target?.exchange),
    topic: str(event.target?.topic),
    server: str(event.target?.server),
    namespace: str(body['namespace']),
    version: str(body['version']),
    method: str(body['method']),
  };
}
