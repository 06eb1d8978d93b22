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
  ProxyTracerProvider,
  Span,
  SpanKind,
  SpanOptions,
  Tracer,
} from '@opentelemetry/api';

import type { RpcIncomingMessage } from '../drivers/driver.js';
import type {
  DeliverEvent,
  DeliveryObserver,
  DeliveryOutcome,
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
        'messaging.operation.type': 'receive',
        'messaging.operation.name': 'receive',
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
        const method = body['method'];
        if (typeof method === 'string') attributes['rpc.method'] = method;
      } else {
        const id = body['message_id'];
        if (typeof id === 'string') attributes['messaging.message.id'] = id;
        const type = body['event_type'];
        if (typeof type === 'string') attributes['oslo.notification.event_type'] = type;
      }
      return new ConsumerSpans(api, getTracer(), kind, destination, attributes, message.ctxt);
    },
  };
}

/**
 * The `receive` span of one delivery, started at once, and its `process` span, started
 * when the handling begins (see the module comment for how they relate). One object per
 * delivery, no closures: this is on every message's path.
 */
class ConsumerSpans implements DeliveryObserver {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;
  readonly #kind: SpanKind;
  readonly #destination: string;
  readonly #attributes: Attributes;
  /** The message's creation context (its producer's span), when it carries one. */
  readonly #creation: Context | undefined;
  readonly #receive: Span;
  #process: Span | undefined;
  #inProcess: Context | undefined;

  constructor(
    api: OtelApi,
    tracer: Tracer,
    kind: SpanKind,
    destination: string,
    attributes: Attributes,
    ctxt: unknown,
  ) {
    this.#api = api;
    this.#tracer = tracer;
    this.#kind = kind;
    this.#destination = destination;
    this.#attributes = attributes;
    this.#creation = extractTraceContext(api, ctxt);
    this.#receive = tracer.startSpan(
      `receive ${destination}`,
      this.#options(api.SpanKind.CONSUMER, attributes),
      this.#creation ?? api.ROOT_CONTEXT,
    );
  }

  begin(): void {
    if (this.#inProcess !== undefined) return;
    const api = this.#api;
    const receive = this.#receive;
    receive.end();
    const inReceive = api.trace.setSpan(this.#creation ?? api.ROOT_CONTEXT, receive);
    // A copy: the receive span was started with the first object.
    const attributes: Attributes = {
      ...this.#attributes,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
    };
    const process = this.#tracer.startSpan(
      `process ${this.#destination}`,
      this.#options(this.#kind, attributes),
      inReceive,
    );
    this.#process = process;
    this.#inProcess = api.trace.setSpan(inReceive, process);
  }

  run<T>(fn: () => T): T {
    this.begin();
    return this.#api.context.with(this.#inProcess!, fn);
  }

  end(outcome: DeliveryOutcome): void {
    this.begin();
    const process = this.#process!;
    if (outcome.requeued === true && process.isRecording()) {
      process.setAttribute('oslo.requeued', true);
    }
    finish(this.#api, process, outcome.error);
  }

  /** Span options; a link to the creation context when there is one (a new array each). */
  #options(kind: SpanKind, attributes: Attributes): SpanOptions {
    const creation = this.#creation;
    if (creation === undefined) return { kind, attributes };
    return { kind, attributes, links: [{ context: this.#api.trace.getSpanContext(creation)! }] };
  }
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
