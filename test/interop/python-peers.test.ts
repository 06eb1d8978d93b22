/**
 * The Python peers against each other: if these fail, the environment (RabbitMQ,
 * python3-oslo.messaging) or the peers are broken, not the library.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InteropScope } from './helpers.js';

test('python peers - a Python client calls a Python server', { timeout: 60_000 }, async (t) => {
  const scope = new InteropScope(t);
  const topic = scope.name('rpc');
  scope.trackRpcTopic(topic, ['py1']);
  await scope.peer('rpc-server', ['--topic', topic, '--server', 'py1']);
  const client = await scope.peer('rpc-client', ['--topic', topic]);

  const echo = await client.request({
    op: 'call',
    method: 'echo',
    args: { x: 'café' },
    ctxt: { u: 1 },
  });
  assert.equal(echo.ok, true, JSON.stringify(echo));
  assert.deepEqual(echo.value, {
    server: 'py1',
    args: { x: 'café' },
    ctxt: { u: 1, client_timeout: null },
  });
  const failed = await client.request({
    op: 'call',
    method: 'fail_custom',
    args: { code: 1 },
    transport: 'allowed',
  });
  assert.equal(failed.error?.class, 'InteropConflict_Remote');
});

test(
  'python peers - a Python notifier reaches a Python listener',
  { timeout: 60_000 },
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('notif');
    scope.trackNotificationTopic(topic);
    const listener = await scope.peer('listener', ['--topics', topic]);
    const notifier = await scope.peer('notifier');
    const sent = await notifier.request({
      op: 'notify',
      topics: [topic],
      publisher_id: 'interop.py',
      priority: 'info',
      event_type: 'peer.check',
      payload: { n: 1 },
    });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    const got = await listener.events.waitFor((e) => e.event === 'notification');
    assert.equal(got['event_type'], 'peer.check');
    assert.deepEqual(got['payload'], { n: 1 });
  },
);
