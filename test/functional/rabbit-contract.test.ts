/**
 * The shared driver contract, run against the rabbit driver on the real broker at
 * 127.0.0.1:5672 (guest/guest). Every test uses its own topic and pool names.
 */
import { runDriverContract } from '../contract/driver-contract.js';

runDriverContract('rabbit', () => 'rabbit://guest:guest@127.0.0.1:5672/', {
  deliveryTimeoutMs: 10_000,
  quietMs: 300,
  conf: { DEFAULT: { control_exchange: 'omtr_contract' } },
});
