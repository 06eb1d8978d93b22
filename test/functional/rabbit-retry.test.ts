/**
 * Functional: a call's retry budget covers setting up the reply queue too. A call with
 * retry 0 to an unreachable broker fails at once with MessageDeliveryFailure, as a cast
 * does, instead of waiting out its timeout; with retry N it makes N more attempts; with
 * no budget it still settles within its timeout, and an abort ends it.
 *
 * Needs nothing listening on 127.0.0.1:1 (every attempt is refused at once).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MessageDeliveryFailure, MessagingTimeout } from '../../src/errors.js';
import { getRpcClient } from '../../src/rpc/client.js';
import { Target } from '../../src/target.js';
import { getRpcTransport } from '../../src/transport.js';
import { testLogger } from './rabbit-test-helpers.js';

const UNREACHABLE =
  'rabbit://guest:guest@127.0.0.1:1/?rabbit_retry_interval=1&rabbit_retry_backoff=0';

function unreachableTransport(): ReturnType<typeof getRpcTransport> {
  return getRpcTransport({}, { url: UNREACHABLE, logger: testLogger });
}

test('rabbit retry - a call with retry 0 to an unreachable broker fails fast with MessageDeliveryFailure', async (t) => {
  const transport = unreachableTransport();
  t.after(() => transport.cleanup());
  const client = getRpcClient(transport, new Target({ topic: 'omtr_retry' }), {
    retry: 0,
    timeout: 20_000,
  });
  const started = Date.now();
  await assert.rejects(client.call({}, 'm', {}), (err: unknown) => {
    assert.ok(err instanceof MessageDeliveryFailure, String(err));
    assert.match(err.message, /^Unable to connect to AMQP server on 127\.0\.0\.1:1 after 0 tries/);
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 2000, `settled after ${elapsed} ms, not the 20 s call timeout`);
  // The next call tries again (a failed setup is not remembered).
  await assert.rejects(client.call({}, 'm', {}), MessageDeliveryFailure);
});

test('rabbit retry - a call with retry 2 makes two more attempts, then fails with MessageDeliveryFailure', async (t) => {
  const transport = unreachableTransport();
  t.after(() => transport.cleanup());
  const client = getRpcClient(transport, new Target({ topic: 'omtr_retry' }), {
    retry: 2,
    timeout: 20_000,
  });
  const started = Date.now();
  await assert.rejects(client.call({}, 'm', {}), (err: unknown) => {
    assert.ok(err instanceof MessageDeliveryFailure, String(err));
    assert.match(err.message, /after 2 tries/);
    return true;
  });
  const elapsed = Date.now() - started;
  // rabbit_retry_interval=1 s between attempts, no back-off growth.
  assert.ok(elapsed >= 1800 && elapsed < 8000, `settled after ${elapsed} ms`);
});

test('rabbit retry - without a retry budget a call still ends at its timeout, or when aborted', async (t) => {
  const transport = unreachableTransport();
  t.after(() => transport.cleanup());
  const client = getRpcClient(transport, new Target({ topic: 'omtr_retry' }), { timeout: 1500 });
  let started = Date.now();
  await assert.rejects(client.call({}, 'm', {}), MessagingTimeout);
  let elapsed = Date.now() - started;
  assert.ok(elapsed >= 1400 && elapsed < 3000, `timed out after ${elapsed} ms`);

  const controller = new AbortController();
  const reason = new Error('caller gave up');
  setTimeout(() => controller.abort(reason), 300);
  started = Date.now();
  await assert.rejects(
    client.call({}, 'm', {}, { timeout: 20_000, signal: controller.signal }),
    (err: unknown) => err === reason,
  );
  elapsed = Date.now() - started;
  assert.ok(elapsed < 2000, `aborted after ${elapsed} ms`);
});
