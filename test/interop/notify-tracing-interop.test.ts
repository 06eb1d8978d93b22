/**
 * Trace context in notifications between Python oslo.messaging and Node on RabbitMQ.
 * The Python notifier adds `_trace_context` to the context where the transport sends the
 * notification (the Notifier itself keeps only allow-listed context keys, and from
 * 15.0.0 drops a plain dict context altogether), as an instrumentation of oslo.messaging
 * has to; the Python listener reads it from `ctxt`. One trace id runs through both
 * directions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { SpanKind } from '@opentelemetry/api';

import {
  getNotificationListener,
  getNotificationTransport,
  Notifier,
  Target,
  type NotificationTransport,
} from '../../src/index.js';
import { installTestTracing } from '../contract/tracing-contract.js';
import { Inbox, InteropScope, quietLogger, SUITE_PEER, type Peer } from './helpers.js';

type Dict = Record<string, unknown>;
const T = { timeout: 60_000 };

const exporter = installTestTracing();

async function traceSpans(traceId: string, waitFor: string) {
  for (let i = 0; ; i += 1) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (spans.some((s) => s.name === waitFor) || i === 100) return spans;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('notification tracing interop: _trace_context between Python and Node', () => {
  const scope = new InteropScope(after);
  const toNode = scope.name('ntrace_ts');
  const toPython = scope.name('ntrace_py');
  scope.trackNotificationTopic(toNode);
  scope.trackNotificationTopic(toPython);
  const inbox = new Inbox<{ ctxt: Dict; eventType: string }>('TS listener');
  let pyNotifier: Peer;
  let pyListener: Peer;
  let transport: NotificationTransport;

  before(async () => {
    transport = getNotificationTransport(scope.conf(), { logger: quietLogger() });
    scope.defer(() => transport.cleanup());
    const listener = getNotificationListener(
      transport,
      [new Target({ topic: toNode })],
      [
        {
          info: (ctxt: Dict, _publisher: unknown, eventType: string) =>
            void inbox.push({ ctxt, eventType }),
        },
      ],
    );
    scope.defer(() => listener.close());
    [pyNotifier, pyListener] = await Promise.all([
      scope.peer('notifier'),
      scope.peer('listener', ['--topics', toPython]),
      listener.start(),
    ]);
  });

  test(
    'a Python notification continues in the Node listener: receive and process spans in its trace',
    T,
    async () => {
      const sent = await pyNotifier.request({
        op: 'notify',
        driver: 'messagingv2',
        topics: [toNode],
        priority: 'info',
        event_type: 'interop.trace.py',
        publisher_id: 'interop.py',
        ctxt: { request_id: 'req-nt-1', user_id: 'u-1' },
        payload: { n: 1 },
        trace: true,
        tracestate: 'py=1',
      });
      assert.equal(sent.ok, true, JSON.stringify(sent));
      const started = sent['trace'] as { trace_id: string; span_id: string };
      const got = await inbox.waitFor((r) => r.eventType === 'interop.trace.py');
      assert.deepEqual(got.ctxt['_trace_context'], {
        traceparent: `00-${started.trace_id}-${started.span_id}-01`,
        tracestate: 'py=1',
      });
      // The rest of a dict context: its allow-listed keys from 14.x, nothing from 15.0.0.
      assert.equal(
        got.ctxt['request_id'],
        SUITE_PEER === 'head' ? undefined : 'req-nt-1',
        'what the Notifier keeps of the context',
      );

      const spans = await traceSpans(started.trace_id, `process ${toNode}.info`);
      const receive = spans.find((s) => s.name === `receive ${toNode}.info`);
      const process = spans.find((s) => s.name === `process ${toNode}.info`);
      assert.ok(receive && process, spans.map((s) => s.name).join(', '));
      assert.equal(receive.kind, SpanKind.CONSUMER);
      assert.equal(process.kind, SpanKind.CONSUMER);
      assert.equal(receive.parentSpanContext?.spanId, started.span_id);
      assert.equal(receive.parentSpanContext?.isRemote, true);
      assert.equal(process.parentSpanContext?.spanId, receive.spanContext().spanId);
      assert.equal(process.links[0]?.context.spanId, started.span_id);
      assert.equal(process.spanContext().traceState?.get('py'), '1');
      assert.equal(process.attributes['oslo.notification.event_type'], 'interop.trace.py');
    },
  );

  test(
    'a Node notification reaches the Python listener with _trace_context of the notify span',
    T,
    async () => {
      const notifier = new Notifier(transport, {
        publisherId: 'interop.ts',
        driver: 'messagingv2',
        topics: [toPython],
      });
      await notifier.info({ request_id: 'req-nt-2' }, 'interop.trace.ts', { n: 2 });
      const span = exporter.getFinishedSpans().find((s) => s.name === `notify ${toPython}.info`);
      assert.ok(span, 'a notify span');
      assert.equal(span.kind, SpanKind.PRODUCER);
      const seen = await pyListener.events.waitFor(
        (e) => e.event === 'notification' && e['event_type'] === 'interop.trace.ts',
      );
      const ctxt = seen['ctxt'] as Dict;
      const { traceId, spanId } = span.spanContext();
      assert.deepEqual(ctxt['_trace_context'], { traceparent: `00-${traceId}-${spanId}-01` });
      assert.equal(ctxt['request_id'], 'req-nt-2');
    },
  );
});
