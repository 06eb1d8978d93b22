/**
 * Tracing through the transport's hooks, the same on every driver: span names, kinds,
 * attributes, parent/child links and `_trace_context` in the request context, checked
 * with the OpenTelemetry SDK's in-memory exporter.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

import {
  getBatchNotificationListener,
  getNotificationListener,
  getRpcClient,
  getRpcServer,
  Notifier,
  RemoteError,
  Target,
  type BatchNotificationMessage,
  type Transport,
} from '../../src/index.js';
import { deferred } from '../../src/util/async.js';

/** How a suite makes a transport (with a unique control exchange) and cleans up after it. */
export interface TracingFlavour {
  readonly name: string;
  transport(exchange: string, options?: { tracing?: boolean }): Transport;
  uniqueName(prefix: string): string;
  cleanup?(exchange: string, topic: string): Promise<void>;
}

/** The SDK, registered globally once per process, with an in-memory exporter. */
export function installTestTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return exporter;
}

async function spansFor(
  exporter: InMemorySpanExporter,
  traceId: () => string | undefined,
  count: number,
): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i += 1) {
    const id = traceId();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === id);
    if (id !== undefined && spans.length >= count) return spans;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const id = traceId();
  const seen = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === id);
  assert.fail(`expected ${count} spans of trace ${id}, got ${seen.map((s) => s.name).join(', ')}`);
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span named ${name} in ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
}

const nanos = ([seconds, ns]: readonly [number, number]): bigint =>
  BigInt(seconds) * 1_000_000_000n + BigInt(ns);

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** The suite, for one driver. */
export function tracingSuite(flavour: TracingFlavour, exporter: InMemorySpanExporter): void {
  const system = flavour.name === 'fake' ? 'fake' : 'rabbitmq';

  async function rpcSetup(t: test.TestContext, endpoint: object) {
    const exchange = flavour.uniqueName('trace');
    const topic = flavour.uniqueName('topic');
    const transport = flavour.transport(exchange);
    const server = getRpcServer(transport, { topic, server: 'node1' }, [endpoint]);
    t.after(async () => {
      await server.close();
      await transport.cleanup();
      await flavour.cleanup?.(exchange, topic);
    });
    await server.start();
    return { transport, topic, client: getRpcClient(transport, { topic }) };
  }

  test(`tracing (${flavour.name}) - a call is a client span; its receipt a consumer receive span under it, the handling a server process span under that, the reply a producer span under the process span; the endpoint sees _trace_context`, async (t) => {
    let seen: Record<string, unknown> | undefined;
    const { client, topic } = await rpcSetup(t, {
      echo: (ctxt: Record<string, unknown>, args: unknown) => {
        seen = ctxt['_trace_context'] as Record<string, unknown>;
        return args;
      },
    });
    assert.deepEqual(await client.call({ user: 'u1' }, 'echo', { x: 1 }), { x: 1 });
    const traceId = () => (seen?.['traceparent'] as string | undefined)?.split('-')[1];
    const spans = await spansFor(exporter, traceId, 4);
    const call = only(spans, `call ${topic}`);
    const receive = only(spans, `receive ${topic}`);
    const process = only(spans, `process ${topic}`);
    const reply = only(spans, 'reply (temporary)');
    assert.equal(call.kind, SpanKind.CLIENT);
    assert.equal(receive.kind, SpanKind.CONSUMER);
    assert.equal(process.kind, SpanKind.SERVER);
    assert.equal(reply.kind, SpanKind.PRODUCER);
    assert.equal(parentOf(call), undefined);
    assert.equal(parentOf(receive), call.spanContext().spanId);
    assert.equal(parentOf(process), receive.spanContext().spanId);
    assert.equal(parentOf(reply), process.spanContext().spanId);
    // Both consumer spans link to the creation context (the call span).
    for (const consumer of [receive, process]) {
      assert.deepEqual(
        consumer.links.map((l) => l.context.spanId),
        [call.spanContext().spanId],
        consumer.name,
      );
    }
    // The receive span ends before the handling starts.
    assert.ok(
      nanos(receive.endTime) <= nanos(process.startTime),
      'receive ends when process starts',
    );
    assert.equal(
      seen?.['traceparent'],
      `00-${call.spanContext().traceId}-${call.spanContext().spanId}-01`,
    );
    assert.deepEqual(
      {
        system: call.attributes['messaging.system'],
        op: call.attributes['messaging.operation.type'],
        name: call.attributes['messaging.operation.name'],
        destination: call.attributes['messaging.destination.name'],
        method: call.attributes['rpc.method'],
        service: call.attributes['rpc.service'],
        rpc: call.attributes['rpc.system'],
      },
      {
        system,
        op: 'publish',
        name: 'call',
        destination: topic,
        method: 'echo',
        service: topic,
        rpc: 'oslo_messaging',
      },
    );
    assert.equal(process.attributes['messaging.operation.type'], 'process');
    assert.equal(process.attributes['rpc.method'], 'echo');
    assert.deepEqual(
      {
        system: receive.attributes['messaging.system'],
        op: receive.attributes['messaging.operation.type'],
        name: receive.attributes['messaging.operation.name'],
        destination: receive.attributes['messaging.destination.name'],
        method: receive.attributes['rpc.method'],
        id: receive.attributes['messaging.message.id'],
      },
      {
        system,
        op: 'receive',
        name: 'receive',
        destination: topic,
        method: 'echo',
        id: process.attributes['messaging.message.id'],
      },
    );
    assert.equal(typeof process.attributes['messaging.message.id'], 'string');
    assert.equal(
      reply.attributes['messaging.message.id'],
      process.attributes['messaging.message.id'],
    );
  });

  test(`tracing (${flavour.name}) - a cast from inside a handler is a child of the handling; a fanout is a producer span`, async (t) => {
    let inner: string | undefined;
    let done = deferred<void>();
    const { client, topic } = await rpcSetup(t, {
      outer: async () => {
        await client.cast({}, 'inner');
      },
      inner: (ctxt: Record<string, unknown>) => {
        inner = (ctxt['_trace_context'] as { traceparent: string }).traceparent;
        done.resolve();
      },
    });
    await client.call({}, 'outer');
    await done.promise;
    const traceId = () => inner?.split('-')[1];
    const spans = await spansFor(exporter, traceId, 7);
    const outer = spans.find((s) => s.name === `process ${topic}` && s.kind === SpanKind.SERVER)!;
    const cast = only(spans, `cast ${topic}`);
    assert.equal(cast.kind, SpanKind.PRODUCER);
    assert.equal(parentOf(cast), outer.spanContext().spanId);
    const received = spans.find((s) => parentOf(s) === cast.spanContext().spanId);
    assert.equal(received?.name, `receive ${topic}`);
    assert.equal(received.kind, SpanKind.CONSUMER);
    const handled = spans.find((s) => parentOf(s) === received.spanContext().spanId);
    assert.equal(handled?.name, `process ${topic}`);
    assert.equal(handled.kind, SpanKind.CONSUMER, 'a cast is handled by a consumer span');

    inner = undefined;
    done = deferred<void>();
    await client.prepare({ fanout: true }).cast({}, 'inner');
    await done.promise;
    const fanout = await spansFor(exporter, () => inner?.split('-')[1], 3);
    const published = only(fanout, `fanout ${topic}_fanout`);
    assert.equal(published.kind, SpanKind.PRODUCER);
    assert.equal(published.attributes['messaging.operation.name'], 'fanout');
  });

  test(`tracing (${flavour.name}) - an endpoint's exception is recorded on the server span, and the call's span fails with the RemoteError`, async (t) => {
    let traceparent: string | undefined;
    const { client, topic } = await rpcSetup(t, {
      boom: (ctxt: Record<string, unknown>) => {
        traceparent = (ctxt['_trace_context'] as { traceparent: string }).traceparent;
        throw new RangeError('out of range');
      },
    });
    await assert.rejects(client.call({}, 'boom'), RemoteError);
    const spans = await spansFor(exporter, () => traceparent?.split('-')[1], 4);
    const process = only(spans, `process ${topic}`);
    assert.equal(only(spans, `receive ${topic}`).status.code, SpanStatusCode.UNSET);
    assert.equal(process.status.code, SpanStatusCode.ERROR);
    assert.equal(process.status.message, 'out of range');
    assert.equal(process.events[0]?.name, 'exception');
    assert.equal(process.attributes['error.type'], 'RangeError');
    const call = only(spans, `call ${topic}`);
    assert.equal(call.status.code, SpanStatusCode.ERROR);
    assert.equal(call.attributes['error.type'], 'RemoteError');
  });

  test(`tracing (${flavour.name}) - a notification is a producer span with its message id; its receipt a receive span under it, its handling a process span under that`, async (t) => {
    const exchange = flavour.uniqueName('trace');
    const topic = flavour.uniqueName('notif');
    const transport = flavour.transport(exchange);
    let traceparent: string | undefined;
    let messageId: unknown;
    const listener = getNotificationListener(
      transport,
      [new Target({ topic })],
      [
        {
          info: (
            ctxt: Record<string, unknown>,
            _p: unknown,
            _e: unknown,
            _pl: unknown,
            md: { message_id: string },
          ) => {
            traceparent = (ctxt['_trace_context'] as { traceparent: string }).traceparent;
            messageId = md['message_id'];
          },
        },
      ],
    );
    t.after(async () => {
      await listener.close();
      await transport.cleanup();
      await flavour.cleanup?.(exchange, topic);
    });
    await listener.start();
    const notifier = new Notifier(transport, {
      driver: 'messagingv2',
      topics: [topic],
      publisherId: 'p1',
    });
    await notifier.info({ request_id: 'req-1' }, 'thing.created', { id: 1 });
    const spans = await spansFor(exporter, () => traceparent?.split('-')[1], 3);
    const sent = only(spans, `notify ${topic}.info`);
    const received = only(spans, `receive ${topic}.info`);
    const handled = only(spans, `process ${topic}.info`);
    assert.equal(sent.kind, SpanKind.PRODUCER);
    assert.equal(received.kind, SpanKind.CONSUMER);
    assert.equal(handled.kind, SpanKind.CONSUMER);
    assert.equal(parentOf(received), sent.spanContext().spanId);
    assert.equal(parentOf(handled), received.spanContext().spanId);
    assert.equal(handled.links[0]?.context.spanId, sent.spanContext().spanId);
    assert.equal(sent.attributes['messaging.message.id'], messageId);
    assert.equal(received.attributes['messaging.message.id'], messageId);
    assert.equal(received.attributes['messaging.operation.type'], 'receive');
    assert.equal(received.attributes['oslo.notification.event_type'], 'thing.created');
    assert.equal(handled.attributes['messaging.message.id'], messageId);
    assert.equal(sent.attributes['oslo.notification.event_type'], 'thing.created');
  });

  test(`tracing (${flavour.name}) - a batch listener: a receive and a process span per message, each in its notification's trace; the handler runs in the first one's`, async (t) => {
    const exchange = flavour.uniqueName('trace');
    const topic = flavour.uniqueName('batch');
    const transport = flavour.transport(exchange);
    const got = deferred<void>();
    let active: string | undefined;
    const listener = getBatchNotificationListener(
      transport,
      [new Target({ topic })],
      [
        {
          info: (messages: BatchNotificationMessage[]) => {
            active = trace.getActiveSpan()?.spanContext().spanId;
            if (messages.length === 2) got.resolve();
          },
        },
      ],
      { batchSize: 2, batchTimeout: 5_000 },
    );
    t.after(async () => {
      await listener.close();
      await transport.cleanup();
      await flavour.cleanup?.(exchange, topic);
    });
    await listener.start();
    const notifier = new Notifier(transport, { driver: 'messagingv2', topics: [topic] });
    const ids: string[] = [];
    for (const n of [1, 2]) {
      await notifier.info({}, 'batch.event', { n });
      const sent = exporter
        .getFinishedSpans()
        .filter((s) => s.name === `notify ${topic}.info`)
        .at(-1)!;
      ids.push(sent.spanContext().traceId);
    }
    await got.promise;
    const first = await spansFor(exporter, () => ids[0], 3);
    const second = await spansFor(exporter, () => ids[1], 3);
    assert.notEqual(ids[0], ids[1], 'two notifications, two traces');
    for (const spans of [first, second]) {
      const sent = only(spans, `notify ${topic}.info`);
      const received = only(spans, `receive ${topic}.info`);
      const handled = only(spans, `process ${topic}.info`);
      assert.equal(parentOf(received), sent.spanContext().spanId);
      assert.equal(parentOf(handled), received.spanContext().spanId);
    }
    assert.equal(active, only(first, `process ${topic}.info`).spanContext().spanId);
  });

  test(`tracing (${flavour.name}) - tracing: false adds no span and no _trace_context`, async (t) => {
    const exchange = flavour.uniqueName('trace');
    const topic = flavour.uniqueName('topic');
    const transport = flavour.transport(exchange, { tracing: false });
    let ctxtSeen: Record<string, unknown> | undefined;
    const server = getRpcServer(transport, { topic, server: 'node1' }, [
      { echo: (ctxt: Record<string, unknown>) => (ctxtSeen = ctxt) && 1 },
    ]);
    t.after(async () => {
      await server.close();
      await transport.cleanup();
      await flavour.cleanup?.(exchange, topic);
    });
    await server.start();
    const before = exporter.getFinishedSpans().length;
    await getRpcClient(transport, { topic }).call({ a: 1 }, 'echo');
    assert.equal(ctxtSeen?.['a'], 1);
    assert.equal('_trace_context' in (ctxtSeen ?? {}), false);
    assert.equal(
      exporter.getFinishedSpans().filter((s) => s.name.endsWith(topic)).length,
      0,
      `no span (had ${before})`,
    );
  });
}
