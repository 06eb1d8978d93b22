/**
 * The messages oslo.messaging exchanges, before the envelope: a request context, an RPC
 * request and its reply, a notification.
 *
 * @module
 */

/**
 * A request context as it travels: a JSON object, sent as `_context_<key>` entries
 * (oslo's `RequestContext.to_dict()`). A serializer may turn a class instance into one.
 */
export type RequestContext = Record<string, unknown>;

/** The body of an RPC request, before the driver adds its underscore keys. */
export interface RpcRequest {
  method: string;
  /** Keyword arguments (oslo sends no positional ones). */
  args: Record<string, unknown>;
  namespace?: string | undefined;
  version?: string | undefined;
}

/** An RPC reply: either a result or a serialised failure (oslo's failure JSON string). */
export type RpcReply =
  { result: unknown; failure?: undefined } | { result?: undefined; failure: string };

/** The body of a notification (spec §5.2), before `_unique_id` and `_context_*` keys. */
export interface NotificationMessage {
  message_id: string;
  /** `null` when the notifier has no publisher id (Python sends JSON null). */
  publisher_id: string | null;
  event_type: string;
  /** Upper case in the body (`INFO`); the routing key uses lower case. */
  priority: string;
  payload: unknown;
  timestamp: string;
}
