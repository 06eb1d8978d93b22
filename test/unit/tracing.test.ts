/** Tracing on fake:// (the same suite runs on RabbitMQ in test/functional/rabbit-tracing.test.ts). */
import { getRpcTransport } from '../../src/index.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';
import { installTestTracing, tracingSuite } from '../contract/tracing-contract.js';

let n = 0;
tracingSuite(
  {
    name: 'fake',
    transport: (exchange, options = {}) =>
      getRpcTransport(
        { DEFAULT: { control_exchange: exchange } },
        { url: uniqueFakeUrl(), logger: new RecordingLogger(), ...options },
      ),
    uniqueName: (prefix) => `${prefix}-${(n += 1)}`,
  },
  installTestTracing(),
);
