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
import { toPrimitive } from './wire/pyjson.js';

/**
 * Converts entities and contexts to and from primitives (oslo's `Serializer`, with its
 * method names in camelCase). `C` is the application's context type: a plain object, or a
 * class such as a `RequestContext` that {@link Serializer.serializeContext} turns into a
 * dict and {@link Serializer.deserializeContext} rebuilds. Implementations must be
 * synchronous and should be cheap: they run on every message.
 */
export interface Serializer<C = unknown> {
  /**
   * Turn an entity (one RPC argument, a result, a notification payload) into something
   * JSON can carry. Called on the sending side.
   *
   * @param ctxt - the request context of the message
   * @param entity - the value to send
   */
  serializeEntity(ctxt: C, entity: unknown): unknown;

  /**
   * Turn a received primitive back into an entity (e.g. rebuild a versioned object).
   * Called on the receiving side, with the already deserialised context.
   *
   * @param ctxt - the request context of the message
   * @param entity - the received value
   */
  deserializeEntity(ctxt: C, entity: unknown): unknown;

  /**
   * Turn a request context into a JSON object, which is then flattened into
   * `_context_<key>` entries.
   *
   * @param ctxt - the caller's context
   */
  serializeContext(ctxt: C): Record<string, unknown>;

  /**
   * Turn a received context (which includes oslo's `client_timeout` key) into the context
   * handed to endpoints and listeners.
   *
   * @param ctxt - the restored context
   */
  deserializeContext(ctxt: Record<string, unknown>): C;
}

/** The identity serializer (oslo's `NoOpSerializer`), the default everywhere. */
export class NoOpSerializer implements Serializer {
  /** Returns `entity` unchanged. */
  serializeEntity(_ctxt: unknown, entity: unknown): unknown {
    return entity;
  }

  /** Returns `entity` unchanged. */
  deserializeEntity(_ctxt: unknown, entity: unknown): unknown {
    return entity;
  }

  /**
   * Returns `ctxt` unchanged; `null` and `undefined` give `{}`.
   *
   * @throws TypeError when `ctxt` is not an object (it can't be flattened into keys).
   */
  serializeContext(ctxt: unknown): Record<string, unknown> {
    if (ctxt === null || ctxt === undefined) return {};
    if (typeof ctxt !== 'object' || Array.isArray(ctxt)) {
      throw new TypeError(`A request context must be an object, not ${typeof ctxt}`);
    }
    return ctxt as Record<string, unknown>;
  }

  /** Returns `ctxt` unchanged. */
  deserializeContext(ctxt: Record<string, unknown>): unknown {
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
  override serializeEntity(_ctxt: unknown, entity: unknown): unknown {
    return toPrimitive(entity);
  }
}
