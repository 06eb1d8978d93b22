/**
 * The shared driver contract, run against the rabbit driver on the real broker at
 * 127.0.0.1:5672 (guest/guest). Every run uses its own control exchange; afterwards every
 * queue bound to it is deleted, with the exchange. Reply queues expire on their own a
 * minute after their consumer left (`rabbit_transient_queues_ttl=60`).
 */
import { after } from 'node:test';

import { runDriverContract } from '../contract/driver-contract.js';
import { TRANSPORT_URL, deleteByExchange, uniqueName } from './rabbit-test-helpers.js';

const controlExchange = uniqueName('contract');

after(async () => {
  await deleteByExchange(controlExchange);
});

runDriverContract('rabbit', () => TRANSPORT_URL, {
  deliveryTimeoutMs: 10_000,
  quietMs: 300,
  conf: {
    DEFAULT: { control_exchange: controlExchange },
    oslo_messaging_rabbit: { rabbit_transient_queues_ttl: 60 },
  },
});
