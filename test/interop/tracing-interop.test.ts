/**
 * Trace context across Python and Node on RabbitMQ: the Python peer sets and reads
 * `_trace_context` in the request context as OpenTelemetry's oslo.messaging
 * instrumentation does, and one trace id runs through both directions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { SpanKind } from '@opentelemetry/api';

import { getRpcClient, getRpcServer, type RPCTransport } from '../../src/index.js';
import { getRpcTransport } from '../../src/transport.js';
import { installTestTracing } from '../contract/tracing-contract.js';
import { InteropScope, quietLogger, type Peer } from './helpers.js';

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

describe('tracing interop: _trace_context between Python and Node', () => {
  const scope = new InteropScope(after);
  const topic = scope.name('trace_py');
  const nodeTopic = scope.name('trace_ts');
  scope.trackRpcTopic(topic, ['py1']);
  scope.trackRpcTopic(nodeTopic, ['ts1']);
  let pyServer: Peer;
  let pyClient: Peer;
  let transport: RPCTransport;

  before(async () => {
    transport = getRpcTransport(scope.conf(), { logger: quietLogger() });
    scope.defer(() => transport.cleanup());
    const toPython = getRpcClient(transport, { topic }, { timeout: 20_000 });
    // A Node service in the middle: what it is called with, it forwards to Python.
    const server = getRpcServer(transport, { topic: nodeTopic, server: 'ts1' }, [
      {
        forward: async (ctxt: Dict) => ({
          seen: ctxt['_trace_context'],
          python: await toPython.call({ request_id: ctxt['request_id'] }, 'trace_echo', {}),
        }),
      },
    ]);
    scope.defer(() => server.close());
    [pyServer, pyClient] = await Promise.all([
      scope.peer('rpc-server', ['--topic', topic, '--server', 'py1']),
      scope.peer('rpc-client', ['--topic', nodeTopic]),
      server.start(),
    ]);
  });

  test(
    'a Node call continues in the Python server: same trace id, the call span as parent',
    T,
    async () => {
      const client = getRpcClient(transport, { topic }, { timeout: 20_000 });
      const answer = (await client.call({ request_id: 'req-1' }, 'trace_echo', {})) as Dict;
      const call = exporter
        .getFinishedSpans()
        .find((s) => s.name === `call ${topic}` && s.spanContext().traceId === answer['trace_id']);
      assert.ok(call, `a call span of trace ${String(answer['trace_id'])}`);
      assert.equal(call.kind, SpanKind.CLIENT);
      assert.equal(answer['parent_span_id'], call.spanContext().spanId);
      assert.equal(pyServer.all('dispatch').length > 0, true);
    },
  );

  test(
    'a Python call continues in the Node server and on into Python again: one trace id',
    T,
    async () => {
      const result = await pyClient.request({
        op: 'call',
        method: 'forward',
        ctxt: { request_id: 'req-2' },
        trace: true,
        tracestate: 'py=1',
      });
      assert.equal(result['ok'], true, JSON.stringify(result));
      const started = result['trace'] as { trace_id: string; span_id: string };
      const value = result['value'] as { seen: Dict; python: Dict };
      assert.deepEqual(value.seen, {
        traceparent: `00-${started.trace_id}-${started.span_id}-01`,
        tracestate: 'py=1',
      });
      // The server span ends once its reply is published: maybe just after Python got it.
      const spans = await traceSpans(started.trace_id, `process ${nodeTopic}`);
      const process = spans.find((s) => s.name === `process ${nodeTopic}`);
      assert.ok(
        process,
        `a process span in trace ${started.trace_id}: ${spans.map((s) => s.name).join(', ')}`,
      );
      assert.equal(process.kind, SpanKind.SERVER);
      const receive = spans.find((s) => s.name === `receive ${nodeTopic}`);
      assert.ok(receive, 'a receive span');
      assert.equal(receive.kind, SpanKind.CONSUMER);
      assert.equal(receive.parentSpanContext?.spanId, started.span_id);
      assert.equal(receive.parentSpanContext?.isRemote, true);
      assert.equal(process.parentSpanContext?.spanId, receive.spanContext().spanId);
      assert.equal(process.links[0]?.context.spanId, started.span_id);
      assert.equal(process.spanContext().traceState?.get('py'), '1');
      // The Node server's own call to Python carries the same trace on.
      assert.equal(value.python['trace_id'], started.trace_id);
      const forwarded = spans.find((s) => s.name === `call ${topic}`);
      assert.ok(forwarded, 'the forwarded call is traced');
      assert.equal(forwarded.parentSpanContext?.spanId, process.spanContext().spanId);
      assert.equal(value.python['parent_span_id'], forwarded.spanContext().spanId);
      assert.equal(value.python['tracestate'], 'py=1');
    },
  );
});
