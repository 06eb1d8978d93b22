/**
 * Hooks at the transport façade: where tracing and metrics observe and annotate
 * messages, without touching a driver. Internal until the observability API is public.
 *
 * @module
 */
import type { DriverListener, IncomingMessage } from './drivers/driver.js';
import type { Logger } from './log.js';
import type { Target } from './target.js';
import type { RequestContext } from './wire/messages.js';

/**
 * @internal Hooks that observe and annotate messages at the façade (tracing and metrics
 * plug in here, without touching a driver). Every callback is optional and must not
 * throw; the returned function, if any, is called once with the outcome.
 */
export interface TransportHook {
  onSend?(event: {
    readonly kind: 'call' | 'cast' | 'notify';
    readonly target: Target;
    readonly ctxt: RequestContext;
    /** Writable: entries added here travel with the message. */
    readonly headers: Record<string, string>;
  }): ((error: unknown) => void) | undefined;
  onDeliver?(event: {
    readonly kind: 'rpc' | 'notification';
    readonly message: IncomingMessage;
  }): ((error: unknown) => void) | undefined;
}

/** The hooks of one transport. With none, every method is free (no wrapper, no call). */
export class TransportHooks {
  readonly #hooks: TransportHook[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(hook: TransportHook): void {
    this.#hooks.push(hook);
  }

  /**
   * Run `onSend` of every hook; returns what to call with the outcome, or `undefined`
   * when there is no hook (then `headers` stays empty).
   */
  beforeSend(
    kind: 'call' | 'cast' | 'notify',
    target: Target,
    ctxt: RequestContext,
    headers: Record<string, string>,
  ): ((error: unknown) => void) | undefined {
    if (this.#hooks.length === 0) return undefined;
    const logger = this.#logger;
    const ends: ((error: unknown) => void)[] = [];
    for (const hook of this.#hooks) {
      const end = safely(logger, () => hook.onSend?.({ kind, target, ctxt, headers }));
      if (end !== undefined) ends.push(end);
    }
    return (error) => {
      for (const end of ends) safely(logger, () => end(error));
    };
  }

  /** The listener with every delivery shown to `onDeliver` first; itself without hooks. */
  observe<M extends IncomingMessage>(
    kind: 'rpc' | 'notification',
    listener: DriverListener<M>,
  ): DriverListener<M> {
    const hooks = this.#hooks;
    if (hooks.length === 0) return listener;
    const logger = this.#logger;
    return {
      start: (onMessage) =>
        listener.start((message) => {
          for (const hook of hooks) safely(logger, () => hook.onDeliver?.({ kind, message }));
          onMessage(message);
        }),
      stop: () => listener.stop(),
      cleanup: () => listener.cleanup(),
    };
  }
}

function safely<T>(logger: Logger, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    logger.error('A transport hook threw', { err });
    return undefined;
  }
}
