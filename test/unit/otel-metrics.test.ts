/**
 * Metrics through the OpenTelemetry metrics API, read with the SDK's in-memory exporter
 * (the same suite runs on RabbitMQ in test/functional/rabbit-otel-metrics.test.ts).
 */
import { getRpcTransport } from '../../src/index.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';
import { installTestMetrics, metricsSuite } from '../contract/metrics-contract.js';

let n = 0;
metricsSuite(
  {
    name: 'fake',
    transport: (exchange) =>
      getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url: uniqueFakeUrl(), logger: new RecordingLogger(), tracing: false },
      ),
    uniqueName: (prefix) => `${prefix}-${(n += 1)}`,
  },
  installTestMetrics(),
);
