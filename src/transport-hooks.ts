/**
 * Hooks at the transport façade: where tracing and metrics observe and annotate
 * messages, without touching a driver. Used by the modules in `observability/`; not
 * public API.
 *
 * @module
 */
import {
  fanoutExchangeName,
  notificationRoutingKey,
  rpcRoutingKey,
} from './drivers/common/addresses.js';
import type {
  DriverListener,
  IncomingMessage,
  MessageHeaders,
  RpcIncomingMessage,
} from './drivers/driver.js';
import type { Logger } from './log.js';
import type { Target } from './target.js';
import type { NotificationMessage, RequestContext, RpcReply, RpcRequest } from './wire/messages.js';

/** What the hooks made of a send: its headers, its context, and what to call at the end. */
export interface AnnotatedSend {
  readonly headers: MessageHeaders;
  readonly ctxt: RequestContext;
  readonly done: (error: unknown) => void;
}

/** @internal What is being sent. A fanout cast is `fanout`; an RPC server's answer is `reply`. */
export type SendKind = 'call' | 'cast' | 'fanout' | 'notify' | 'reply';

/** @internal One message about to be sent, as a hook sees it. */
export interface SendEvent {
  readonly kind: SendKind;
  /** The target as the caller gave it (its exchange may be unset); `undefined` for a reply. */
  readonly target: Target | undefined;
  /** The exchange the message goes to (`''`, the default exchange, for a reply). */
  readonly exchange: string;
  /**
   * The routing key: the topic (`topic.server` with a server), `<topic>_fanout`,
   * `<topic>.<priority>` for a notification, `(temporary)` for a reply (the
   * caller's reply queue is known to the driver only).
   */
  readonly destination: string;
  /** The RPC method, or the notification's event type. */
  readonly method: string | undefined;
  /** The notification's `message_id`, or the request's `_msg_id` for a reply. */
  readonly messageId: string | undefined;
  readonly ctxt: RequestContext;
  /** Writable: entries added here travel with the message as AMQP headers. */
  readonly headers: Record<string, string>;
  /**
   * Writable: entries added here are added to the message's request context (sent as
   * `_context_<key>`); the caller's context object is never changed. Ignored for replies.
   */
  readonly context: Record<string, unknown>;
}

/** @internal One delivery, as a hook sees it, before the server handles it. */
export interface DeliverEvent {
  readonly kind: 'rpc' | 'notification';
  readonly message: IncomingMessage;
  /** The RPC server's target, its exchange resolved; `undefined` for notifications. */
  readonly target: Target | undefined;
}

/** @internal The outcome of handling a delivery. */
export interface DeliveryOutcome {
  /** The handler's error (an RPC endpoint's exception, a notification handler's). */
  readonly error?: unknown;
  /** A notification given back to the queue. */
  readonly requeued?: boolean;
}

/** @internal What a hook returns for one delivery: how the server's handling is observed. */
export interface DeliveryObserver {
  /**
   * The server starts handling the message (it was taken from the transport when
   * `onDeliver` ran; in between it may have waited for a free executor slot). Called
   * once per message, before `run`; for a batch, for every message of it.
   */
  begin?(): void;
  /** Run the handling inside this (e.g. inside the trace context of the message). */
  run?<T>(fn: () => T): T;
  /** Called once, when the handling (and an RPC reply) is done. */
  end?(outcome: DeliveryOutcome): void;
}

/**
 * @internal Hooks that observe and annotate messages at the façade (tracing and metrics
 * plug in here, without touching a driver). Every callback is optional and must not
 * throw (what throws is logged and ignored).
 */
export interface TransportHook {
  /**
   * Whether the hook has anything to do now (e.g. a tracer provider or a channel
   * subscriber is there); an inactive hook is skipped. @default always active
   */
  active?(): boolean;
  /** Before a send; the returned function, if any, is called once with the outcome. */
  onSend?(event: SendEvent): ((error: unknown) => void) | undefined;
  /** When a message is delivered, before the server sees it. */
  onDeliver?(event: DeliverEvent): DeliveryObserver | undefined;
}

/** Reports the handler's error without throwing it (an RPC failure is a reply, not a throw). */
export type ReportFailure = (error: unknown) => void;

const ignoreFailure: ReportFailure = () => {};

/**
 * The hooks of one transport. With none, the façade does no per-message work: nothing
 * is allocated for a send, listeners are not wrapped, and `process` calls the handler
 * directly. With only inactive ones, a send, a reply or a delivery costs one `active()`
 * check per hook.
 */
export class TransportHooks {
  readonly #hooks: TransportHook[] = [];
  readonly #logger: Logger;
  readonly #observers = new WeakMap<IncomingMessage, DeliveryObserver[]>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The hooks active now, or `undefined` when none is (then nothing is allocated). */
  #activeHooks(): TransportHook[] | undefined {
    let found: TransportHook[] | undefined;
    for (const hook of this.#hooks) {
      if (hook.active?.() !== false) (found ??= []).push(hook);
    }
    return found;
  }

  add(hook: TransportHook): void {
    this.#hooks.push(hook);
  }

  /** Run `onSend` of `hooks` (the active ones); returns what to call with the outcome. */
  #beforeSend(hooks: readonly TransportHook[], event: SendEvent): (error: unknown) => void {
    // try/catch inline rather than `safely`: no closure per hook on every send.
    const logger = this.#logger;
    const ends: ((error: unknown) => void)[] = [];
    for (const hook of hooks) {
      if (hook.onSend === undefined) continue;
      try {
        const end = hook.onSend(event);
        if (end !== undefined) ends.push(end);
      } catch (err) {
        hookThrew(logger, err);
      }
    }
    return (error) => {
      for (const end of ends) {
        try {
          end(error);
        } catch (err) {
          hookThrew(logger, err);
        }
      }
    };
  }

  /**
   * Run the hooks for an RPC request to `topic` (a call, a cast or a fanout);
   * `undefined` when no hook is active.
   */
  annotateRpc(
    call: boolean,
    target: Target,
    exchange: string,
    topic: string,
    ctxt: RequestContext,
    message: RpcRequest,
  ): AnnotatedSend | undefined {
    const hooks = this.#activeHooks();
    if (hooks === undefined) return undefined;
    const fanout = target.fanout === true;
    return this.#annotate(hooks, {
      kind: call ? 'call' : fanout ? 'fanout' : 'cast',
      target,
      exchange: fanout ? fanoutExchangeName(topic) : exchange,
      destination: fanout ? fanoutExchangeName(topic) : rpcRoutingKey(topic, target.server),
      method: message.method,
      messageId: undefined,
      ctxt,
      headers: {},
      context: {},
    });
  }

  /** Run the hooks for a notification to `<topic>.<priority>`; `undefined` when none is active. */
  annotateNotification(
    target: Target,
    exchange: string,
    topic: string,
    ctxt: RequestContext,
    message: NotificationMessage,
  ): AnnotatedSend | undefined {
    const hooks = this.#activeHooks();
    if (hooks === undefined) return undefined;
    return this.#annotate(hooks, {
      kind: 'notify',
      target,
      exchange,
      destination: notificationRoutingKey(topic, message.priority.toLowerCase()),
      method: message.event_type,
      messageId: message.message_id,
      ctxt,
      headers: {},
      context: {},
    });
  }

  /** Send an RPC server's reply, seen by the hooks as a `reply`. */
  async reply(message: RpcIncomingMessage, reply: RpcReply): Promise<void> {
    const hooks = this.#activeHooks();
    if (hooks === undefined) return message.reply(reply);
    const done = this.#beforeSend(hooks, {
      kind: 'reply',
      target: undefined,
      exchange: '',
      // The caller's reply queue is known to the driver only: a temporary destination.
      destination: '(temporary)',
      method: undefined,
      messageId: message.msgId,
      ctxt: message.ctxt,
      headers: {},
      context: {},
    });
    try {
      await message.reply(reply);
      done(undefined);
    } catch (err) {
      done(err);
      throw err;
    }
  }

  /** `onSend` of `hooks`; the context entries they add go on a copy of the context. */
  #annotate(hooks: readonly TransportHook[], event: SendEvent): AnnotatedSend {
    const done = this.#beforeSend(hooks, event);
    const { ctxt, context, headers } = event;
    let added = false;
    for (const key in context) {
      if (Object.hasOwn(context, key)) {
        added = true;
        break;
      }
    }
    return { headers, ctxt: added ? { ...ctxt, ...context } : ctxt, done };
  }

  /** The listener with every delivery shown to `onDeliver` first; itself without hooks. */
  observe<M extends IncomingMessage>(
    kind: 'rpc' | 'notification',
    listener: DriverListener<M>,
    target?: Target,
  ): DriverListener<M> {
    const hooks = this.#hooks;
    if (hooks.length === 0) return listener;
    const logger = this.#logger;
    const observers = this.#observers;
    return {
      start: (onMessage) =>
        listener.start((message) => {
          let seen: DeliveryObserver[] | undefined;
          let event: DeliverEvent | undefined;
          for (const hook of hooks) {
            if (hook.onDeliver === undefined || hook.active?.() === false) continue;
            event ??= { kind, message, target };
            try {
              const observer = hook.onDeliver(event);
              if (observer !== undefined) (seen ??= []).push(observer);
            } catch (err) {
              hookThrew(logger, err);
            }
          }
          if (seen !== undefined) observers.set(message, seen);
          onMessage(message);
        }),
      stop: () => listener.stop(),
      cleanup: () => listener.cleanup(),
    };
  }

  /**
   * Handle `messages` (one, or a batch) with `fn`: inside the first message's observers
   * (`run`), then end every message's observers with the outcome. `fn` may report a
   * failure it does not throw; a rejection is reported and rethrown.
   */
  async process<T>(
    messages: readonly IncomingMessage[],
    fn: (fail: ReportFailure) => Promise<T>,
    requeued?: (result: T, message: IncomingMessage) => boolean,
  ): Promise<T> {
    // Observers exist only for messages delivered while a hook was active.
    const observers = this.#observers;
    const first = messages.length > 0 ? observers.get(messages[0]!) : undefined;
    if (first === undefined && messages.length <= 1) return fn(ignoreFailure);
    const observed = messages.length === 1 ? [first] : messages.map((m) => observers.get(m));
    if (first === undefined && observed.every((o) => o === undefined)) return fn(ignoreFailure);
    const logger = this.#logger;
    for (const each of observed) {
      for (const observer of each ?? []) {
        if (observer.begin !== undefined) safely(logger, () => observer.begin!());
      }
    }
    // No named closures here: this runs for every delivered message.
    const failure: { failed: boolean; error: unknown } = { failed: false, error: undefined };
    let result: T;
    try {
      result = await runInside(first ?? [], 0, () =>
        fn((error) => {
          failure.failed = true;
          failure.error = error;
        }),
      );
    } catch (error) {
      this.#end(messages, observed, () => ({ error }));
      throw error;
    }
    this.#end(messages, observed, (m) =>
      failure.failed
        ? { error: failure.error }
        : requeued?.(result, m) === true
          ? { requeued: true }
          : {},
    );
    return result;
  }

  /** End every message's observers with its outcome. */
  #end(
    messages: readonly IncomingMessage[],
    observed: readonly (DeliveryObserver[] | undefined)[],
    outcome: (message: IncomingMessage) => DeliveryOutcome,
  ): void {
    const logger = this.#logger;
    for (let i = 0; i < messages.length; i += 1) {
      const message = messages[i]!;
      this.#observers.delete(message);
      for (const observer of observed[i] ?? []) {
        if (observer.end === undefined) continue;
        try {
          observer.end(outcome(message));
        } catch (err) {
          hookThrew(logger, err);
        }
      }
    }
  }
}

/** `fn` inside the `run` of `observers[i]`, `observers[i + 1]`, ... (the first outermost). */
function runInside<T>(observers: readonly DeliveryObserver[], i: number, fn: () => T): T {
  for (; i < observers.length; i += 1) {
    const observer = observers[i]!;
    if (observer.run !== undefined) {
      const next = i + 1;
      return observer.run(() => runInside(observers, next, fn));
    }
  }
  return fn();
}

function hookThrew(logger: Logger, err: unknown): void {
  logger.error('A transport hook threw', { err });
}

function safely<T>(logger: Logger, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    hookThrew(logger, err);
    return undefined;
  }
}
