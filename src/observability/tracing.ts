/**
 * OpenTelemetry tracing on the transport's hooks. Spans follow the messaging and RPC
 * semantic conventions:
 *
 * - sends: `call <topic>` (client, until the reply), `cast <topic>`, `fanout
 *   <topic>_fanout`, `notify <topic>.<priority>`, `reply (temporary)` (producer);
 * - deliveries: `receive <routing key>` (consumer) from the moment the message is taken
 *   from the transport until the server starts handling it (it may wait for a free
 *   executor slot), then `process <routing key>` around the handling (server for a
 *   call, consumer for a cast or a notification).
 *
 * Trace structure: the `receive` span's parent is the message's creation context (the
 * producer's span, from `_trace_context`), so a trace continues from service to
 * service under one trace id; the `process` span is the `receive` span's child. Both
 * also carry a span link to the creation context, as the conventions recommend for
 * consumer spans, so a backend that follows links finds the producer directly. A
 * handler runs inside its `process` span: what it sends is a child of it. In a batch
 * listener each message has its own `receive` and `process` spans, and the handler runs
 * in the first message's `process` span.
 *
 * The reply a caller receives is not a span of its own: the driver takes it from the
 * reply queue, and the `call` span (which ends with it) covers it.
 *
 * Trace context travels in the request context under `_trace_context`, as Python's
 * instrumentation of oslo.messaging carries it. Without a registered tracer provider the
 * hook is inactive: it costs one check per message. With one, a span that is not
 * recording (sampled out) gets no further attributes, events or status.
 *
 * @module
 */
import { inspect } from 'node:util';

import type {
  Attributes,
  Context,
  Link,
  ProxyTracerProvider,
  Span,
  SpanKind,
  Tracer,
} from '@opentelemetry/api';

import type { RpcIncomingMessage } from '../drivers/driver.js';
import type {
  DeliverEvent,
  DeliveryObserver,
  SendEvent,
  TransportHook,
} from '../transport-hooks.js';
import type { OtelApi } from './otel.js';
import { extractTraceContext, TRACE_CONTEXT_KEY, traceContextEntry } from './trace-context.js';

/** The instrumentation scope name of the library's spans and metrics. */
export const INSTRUMENTATION_NAME = 'oslo-messaging';

/** `messaging.system` for a driver: RabbitMQ for `rabbit://` and `kombu://`. */
export function messagingSystem(driverName: string): string {
  return driverName === 'rabbit' || driverName === 'kombu' ? 'rabbitmq' : driverName;
}

/** A hook that traces every send and every delivery's handling. */
export function tracingHook(api: OtelApi, driverName: string): TransportHook {
  const system = messagingSystem(driverName);
  let tracer: Tracer | undefined;
  // The tracer is looked up on first use, so a provider registered after the transport
  // was made is used (the API's proxy would do it too, at a cost on every span).
  const getTracer = (): Tracer => (tracer ??= api.trace.getTracer(INSTRUMENTATION_NAME));
  const kinds = api.SpanKind;
  // Without a registered SDK the global provider delegates to the API's no-op one:
  // then the hook does nothing at all (no no-op spans, no context lookups).
  const noop = new api.ProxyTracerProvider().getDelegate();
  const active = (): boolean => {
    const global = api.trace.getTracerProvider() as Partial<ProxyTracerProvider>;
    return typeof global.getDelegate !== 'function' || global.getDelegate() !== noop;
  };

  return {
    active,

    onSend(event: SendEvent) {
      const rpc = event.kind !== 'notify';
      const attributes: Attributes = {
        'messaging.system': system,
        'messaging.operation.type': 'publish',
        'messaging.operation.name': event.kind,
        'messaging.destination.name': event.destination,
        'messaging.rabbitmq.destination.routing_key': event.destination,
      };
      if (event.messageId !== undefined) attributes['messaging.message.id'] = event.messageId;
      if (event.kind === 'reply') attributes['messaging.destination.temporary'] = true;
      if (event.target?.topic !== undefined && rpc) {
        attributes['rpc.system'] = 'oslo_messaging';
        attributes['rpc.service'] = event.target.topic;
      }
      if (event.method !== undefined) {
        attributes[rpc ? 'rpc.method' : 'oslo.notification.event_type'] = event.method;
      }
      const kind: SpanKind = event.kind === 'call' ? kinds.CLIENT : kinds.PRODUCER;
      const span = getTracer().startSpan(`${event.kind} ${event.destination}`, {
        kind,
        attributes,
      });
      if (event.kind !== 'reply') {
        const entry = traceContextEntry(api, span.spanContext());
        if (entry !== undefined) event.context[TRACE_CONTEXT_KEY] = entry;
      }
      return (error) => finish(api, span, error);
    },

    onDeliver(event: DeliverEvent): DeliveryObserver {
      const { message } = event;
      const body = message.message;
      const destination = message.delivery.routingKey;
      const tracer = getTracer();
      let kind: SpanKind = kinds.CONSUMER;
      let messageId: string | undefined;
      let rpcMethod: string | undefined;
      let eventType: string | undefined;
      if (event.kind === 'rpc') {
        messageId = (message as RpcIncomingMessage).msgId;
        if (messageId !== undefined) kind = kinds.SERVER;
        const method = body['method'];
        if (typeof method === 'string') rpcMethod = method;
      } else {
        const id = body['message_id'];
        if (typeof id === 'string') messageId = id;
        const type = body['event_type'];
        if (typeof type === 'string') eventType = type;
      }
      const attributes = (operation: 'receive' | 'process'): Attributes => {
        const a: Attributes = {
          'messaging.system': system,
          'messaging.operation.type': operation,
          'messaging.operation.name': operation,
          'messaging.destination.name': destination,
          'messaging.rabbitmq.destination.routing_key': destination,
        };
        if (messageId !== undefined) a['messaging.message.id'] = messageId;
        if (event.kind === 'rpc') a['rpc.system'] = 'oslo_messaging';
        if (rpcMethod !== undefined) a['rpc.method'] = rpcMethod;
        if (eventType !== undefined) a['oslo.notification.event_type'] = eventType;
        return a;
      };
      const creation = extractTraceContext(api, message.ctxt);
      const creationSpan = creation === undefined ? undefined : api.trace.getSpanContext(creation);
      // A new array per span: the SDK keeps it, and addLink() appends to it.
      const links = (): Link[] => (creationSpan === undefined ? [] : [{ context: creationSpan }]);
      const receive = tracer.startSpan(
        `receive ${destination}`,
        { kind: kinds.CONSUMER, attributes: attributes('receive'), links: links() },
        creation ?? api.ROOT_CONTEXT,
      );
      let inProcess: Context | undefined;
      let process: Span | undefined;
      const begin = (): Context => {
        if (inProcess !== undefined) return inProcess;
        receive.end();
        const inReceive = api.trace.setSpan(creation ?? api.ROOT_CONTEXT, receive);
        process = tracer.startSpan(
          `process ${destination}`,
          { kind, attributes: attributes('process'), links: links() },
          inReceive,
        );
        inProcess = api.trace.setSpan(inReceive, process);
        return inProcess;
      };
      return {
        begin,
        run: (fn) => api.context.with(begin(), fn),
        end: (outcome) => {
          begin();
          if (outcome.requeued === true && process!.isRecording()) {
            process!.setAttribute('oslo.requeued', true);
          }
          finish(api, process!, outcome.error);
        },
      };
    },
  };
}

function finish(api: OtelApi, span: Span, error: unknown): void {
  if (error !== undefined && span.isRecording()) {
    if (error instanceof Error) {
      span.recordException(error);
      span.setAttribute('error.type', error.name);
    }
    span.setStatus({
      code: api.SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : inspect(error),
    });
  }
  span.end();
}
