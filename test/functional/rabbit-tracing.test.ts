/** Tracing on RabbitMQ: the suite of test/contract/tracing-contract.ts, on a real broker. */
import { getRpcTransport } from '../../src/index.js';
import { installTestTracing, tracingSuite } from '../contract/tracing-contract.js';
import { deleteByExchange, testLogger, TRANSPORT_URL, uniqueName } from './rabbit-test-helpers.js';

tracingSuite(
  {
    name: 'rabbit',
    transport: (exchange, options = {}) =>
      getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url: TRANSPORT_URL, logger: testLogger, ...options },
      ),
    uniqueName,
    cleanup: (exchange, topic) => deleteByExchange(exchange, [topic]),
  },
  installTestTracing(),
);
