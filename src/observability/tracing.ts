/**
 * OpenTelemetry tracing on the transport's hooks. Spans follow the messaging and RPC
 * semantic conventions: `call <topic>` (client), `cast <topic>`, `fanout <topic>_fanout`,
 * `notify <topic>.<priority>`, `reply (temporary)` (producer), and `process
 * <routing key>` around a server's handling (server for a call, consumer for a cast or
 * a notification). Trace context travels in the request context under `_trace_context`,
 * as Python's instrumentation of oslo.messaging carries it. Without a registered tracer
 * provider the hook is inactive: it costs one check per message.
 *
 * @module
 */
import { inspect } from 'node:util';

import type { Attributes, ProxyTracerProvider, Span, SpanKind, Tracer } from '@opentelemetry/api';

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
      const attributes: Attributes = {
        'messaging.system': system,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': destination,
        'messaging.rabbitmq.destination.routing_key': destination,
      };
      let kind: SpanKind = kinds.CONSUMER;
      if (event.kind === 'rpc') {
        const msgId = (message as RpcIncomingMessage).msgId;
        if (msgId !== undefined) {
          kind = kinds.SERVER;
          attributes['messaging.message.id'] = msgId;
        }
        attributes['rpc.system'] = 'oslo_messaging';
        if (typeof body['method'] === 'string') attributes['rpc.method'] = body['method'];
      } else {
        if (typeof body['message_id'] === 'string') {
          attributes['messaging.message.id'] = body['message_id'];
        }
        if (typeof body['event_type'] === 'string') {
          attributes['oslo.notification.event_type'] = body['event_type'];
        }
      }
      const parent = extractTraceContext(api, message.ctxt) ?? api.ROOT_CONTEXT;
      const span = getTracer().startSpan(`process ${destination}`, { kind, attributes }, parent);
      const inSpan = api.trace.setSpan(parent, span);
      return {
        run: (fn) => api.context.with(inSpan, fn),
        end: (outcome) => {
          if (outcome.requeued === true) span.setAttribute('oslo.requeued', true);
          finish(api, span, outcome.error);
        },
      };
    },
  };
}

function finish(api: OtelApi, span: Span, error: unknown): void {
  if (error !== undefined) {
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
