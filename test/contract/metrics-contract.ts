/**
 * Metrics through the OpenTelemetry metrics API, the same on every driver: oslo.metrics'
 * instruments (names, labels, values) and the transport gauges.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';

import {
  getNotificationListener,
  getRpcClient,
  getRpcServer,
  Notifier,
  RemoteError,
  Target,
  type Transport,
} from '../../src/index.js';

export interface MetricsFlavour {
  readonly name: string;
  transport(exchange: string): Transport;
  uniqueName(prefix: string): string;
  cleanup?(exchange: string, topic: string): Promise<void>;
}

export interface TestMetrics {
  /** Every data point of `name` now, with its attributes. */
  points(name: string): Promise<DataPoint<number | Histogram>[]>;
}

/** A global MeterProvider with an in-memory exporter, read on demand. */
export function installTestMetrics(): TestMetrics {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  return {
    async points(name) {
      exporter.reset();
      await reader.forceFlush();
      const found: DataPoint<number | Histogram>[] = [];
      for (const resource of exporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const metric of scope.metrics) {
            if (metric.descriptor.name === name) {
              found.push(...(metric.dataPoints as DataPoint<number | Histogram>[]));
            }
          }
        }
      }
      return found;
    },
  };
}

function value(
  points: DataPoint<number | Histogram>[],
  attributes: Record<string, string>,
): number | Histogram | undefined {
  return points.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    ?.value;
}

export function metricsSuite(flavour: MetricsFlavour, m: TestMetrics): void {
  test(`otel metrics (${flavour.name}) - RPC instruments under oslo.metrics' names and labels, on both sides`, async (t) => {
    const exchange = flavour.uniqueName('metrics');
    const topic = flavour.uniqueName('topic');
    const transport = flavour.transport(exchange);
    const server = getRpcServer(transport, { topic, server: 'n1' }, [
      {
        echo: (_c: unknown, a: unknown) => a,
        boom: () => {
          throw new RangeError('no');
        },
      },
    ]);
    t.after(async () => {
      await server.close();
      await transport.cleanup();
      await flavour.cleanup?.(exchange, topic);
    });
    await server.start();
    const client = getRpcClient(transport, { topic });
    await client.call({}, 'echo', { a: 1 });
    await client.call({}, 'echo', { a: 2 });
    await assert.rejects(client.call({}, 'boom'), RemoteError);
    await client.cast({}, 'echo', { a: 3 });
    await client.prepare({ fanout: true }).cast({}, 'echo', { a: 4 });

    const call = { call_type: 'call', topic, exchange: 'None', server: 'None', fanout: 'None' };
    assert.equal(
      value(await m.points('oslo_messaging_rpc_client_invocation_start'), {
        ...call,
        method: 'echo',
      }),
      2,
    );
    assert.equal(
      value(await m.points('oslo_messaging_rpc_client_invocation_end'), {
        ...call,
        method: 'boom',
      }),
      1,
    );
    assert.equal(
      value(await m.points('oslo_messaging_rpc_client_exception'), {
        ...call,
        method: 'boom',
        exception: 'RemoteError',
      }),
      1,
    );
    assert.equal(
      value(await m.points('oslo_messaging_rpc_client_invocation_start'), {
        ...call,
        call_type: 'cast',
        method: 'echo',
      }),
      1,
    );
    assert.equal(
      value(await m.points('oslo_messaging_rpc_client_invocation_end'), {
        ...call,
        call_type: 'cast',
        fanout: 'True',
        method: 'echo',
      }),
      1,
    );
    const histogram = value(await m.points('oslo_messaging_rpc_client_processing'), {
      ...call,
      method: 'echo',
    }) as Histogram;
    assert.equal(histogram.count, 2);
    assert.deepEqual(histogram.buckets.boundaries.slice(0, 3), [0.01, 0.025, 0.05]);

    const served = { exchange, topic, server: 'n1' };
    // The server's end is counted once its reply is sent: maybe just after the caller got it.
    for (let i = 0; i < 50; i += 1) {
      const ends = value(await m.points('oslo_messaging_rpc_server_invocation_end'), {
        ...served,
        method: 'boom',
      });
      const echoes = value(await m.points('oslo_messaging_rpc_server_invocation_end'), {
        ...served,
        method: 'echo',
      });
      if (ends === 1 && echoes === 4) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Two calls, a cast and a fanout cast (this server's fanout queue gets it too).
    assert.equal(
      value(await m.points('oslo_messaging_rpc_server_invocation_start'), {
        ...served,
        method: 'echo',
      }),
      4,
    );
    assert.equal(
      value(await m.points('oslo_messaging_rpc_server_exception'), {
        ...served,
        method: 'boom',
        exception: 'RangeError',
      }),
      1,
    );
    const gauges = { transport: String(transport.url) };
    assert.equal(value(await m.points('oslo_messaging_calls_in_flight'), gauges), 0);
    assert.equal(value(await m.points('oslo_messaging_publishes_pending'), gauges), 0);
    assert.equal(value(await m.points('oslo_messaging_deliveries_unsettled'), gauges), 0);
    assert.equal(value(await m.points('oslo_messaging_transport_connected'), gauges), 1);
  });

  test(`otel metrics (${flavour.name}) - a call in flight and its delivery show in the gauges; requeues are counted`, async (t) => {
    const exchange = flavour.uniqueName('metrics');
    const topic = flavour.uniqueName('topic');
    const transport = flavour.transport(exchange);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered: () => void = () => {};
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let infos = 0;
    const server = getRpcServer(transport, { topic, server: 'n1' }, [
      {
        hold: async () => {
          entered();
          await held;
        },
      },
    ]);
    const listener = getNotificationListener(
      transport,
      [new Target({ topic })],
      [{ info: () => ((infos += 1) === 1 ? 'requeue' : 'handled') }],
      { allowRequeue: true },
    );
    t.after(async () => {
      release();
      await server.close();
      await listener.close();
      await transport.cleanup();
      await flavour.cleanup?.(exchange, topic);
    });
    await Promise.all([server.start(), listener.start()]);
    const gauges = { transport: String(transport.url) };
    const pending = getRpcClient(transport, { topic }).call({}, 'hold');
    await inside;
    assert.equal(value(await m.points('oslo_messaging_calls_in_flight'), gauges), 1);
    assert.equal(value(await m.points('oslo_messaging_deliveries_unsettled'), gauges), 1);
    release();
    await pending;

    await new Notifier(transport, { driver: 'messagingv2', topics: [topic] }).info({}, 'e.t', {});
    for (let i = 0; i < 100 && infos < 2; i += 1) await new Promise((r) => setTimeout(r, 20));
    assert.equal(infos, 2);
    for (let i = 0; i < 50; i += 1) {
      if (value(await m.points('oslo_messaging_requeues'), gauges) === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(value(await m.points('oslo_messaging_requeues'), gauges), 1);
  });
}
