/**
 * Serializers: hooks that turn RPC arguments, results, notification payloads and the
 * request context to and from primitives (oslo's `oslo_messaging.serializer`).
 *
 * A client serialises each argument with {@link Serializer.serializeEntity} and the
 * context with {@link Serializer.serializeContext} before sending; a server deserialises
 * the context and arguments before dispatch, then serialises the result; a notifier
 * serialises the payload. What a serializer returns must be JSON data (see `toPrimitive`).
 *
 * @module
 */
import { toPrimitive } from './drivers/pyjson.js';

/** A request context as serializers see it. */
export type SerializerContext = Record<string, unknown>;

/**
 * Converts entities and contexts to and from primitives (oslo's `Serializer`, with its
 * method names in camelCase). Implementations must be pure and synchronous; they run on
 * every message.
 */
export interface Serializer {
  /**
   * Turn an entity (one RPC argument, a result, a notification payload) into something
   * JSON can carry. Called on the sending side.
   *
   * @param ctxt - the request context of the message
   * @param entity - the value to send
   */
  serializeEntity(ctxt: SerializerContext, entity: unknown): unknown;

  /**
   * Turn a received primitive back into an entity (e.g. rebuild a versioned object).
   * Called on the receiving side, with the already deserialised context.
   *
   * @param ctxt - the request context of the message
   * @param entity - the received value
   */
  deserializeEntity(ctxt: SerializerContext, entity: unknown): unknown;

  /**
   * Turn a request context into a JSON object before it is flattened into
   * `_context_<key>` entries.
   *
   * @param ctxt - the caller's context
   */
  serializeContext(ctxt: SerializerContext): Record<string, unknown>;

  /**
   * Turn a received context (which includes oslo's `client_timeout` key) into the context
   * handed to endpoints.
   *
   * @param ctxt - the restored context
   */
  deserializeContext(ctxt: Record<string, unknown>): SerializerContext;
}

/** The identity serializer (oslo's `NoOpSerializer`), the default everywhere. */
export class NoOpSerializer implements Serializer {
  /** Returns `entity` unchanged. */
  serializeEntity(_ctxt: SerializerContext, entity: unknown): unknown {
    return entity;
  }

  /** Returns `entity` unchanged. */
  deserializeEntity(_ctxt: SerializerContext, entity: unknown): unknown {
    return entity;
  }

  /** Returns `ctxt` unchanged. */
  serializeContext(ctxt: SerializerContext): Record<string, unknown> {
    return ctxt;
  }

  /** Returns `ctxt` unchanged. */
  deserializeContext(ctxt: Record<string, unknown>): SerializerContext {
    return ctxt;
  }
}

/**
 * oslo's `JsonPayloadSerializer`: entities go through `to_primitive` (Dates become
 * `YYYY-MM-DDTHH:MM:SS.ffffff`, Sets become arrays, Maps and class instances become
 * objects, Buffers become UTF-8 strings; see `toPrimitive`). Received entities and
 * contexts are left as they are.
 */
export class JsonPayloadSerializer extends NoOpSerializer {
  /** Returns `toPrimitive(entity)`. */
  override serializeEntity(_ctxt: SerializerContext, entity: unknown): unknown {
    return toPrimitive(entity);
  }
}
