/** OpenTelemetry metrics on RabbitMQ: the suite of test/contract/metrics-contract.ts. */
import { getRpcTransport } from '../../src/index.js';
import { installTestMetrics, metricsSuite } from '../contract/metrics-contract.js';
import { deleteByExchange, testLogger, TRANSPORT_URL, uniqueName } from './rabbit-test-helpers.js';

metricsSuite(
  {
    name: 'rabbit',
    transport: (exchange) =>
      getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url: TRANSPORT_URL, logger: testLogger, tracing: false },
      ),
    uniqueName,
    cleanup: (exchange, topic) => deleteByExchange(exchange, [topic]),
  },
  installTestMetrics(),
);
