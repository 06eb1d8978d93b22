/**
 * Declaring what a consumer needs (exchange, queue, binding), with upstream HEAD's
 * non-durable fallback when a durable declaration meets an existing non-durable exchange
 * or queue.
 *
 * @module
 */
import { AmqpChannelError } from './connection-errors.js';
import type { Declarer } from './connection.js';
import type { PublishBounds } from './publisher.js';
import type { ConsumerSpec } from './topology.js';

/**
 * Whether the broker refused a declaration because the object exists with another
 * `durable` flag (406 PRECONDITION_FAILED, "inequivalent arg 'durable'"): typically a
 * control exchange that a service with other options declared first.
 */
export function isDurableMismatch(err: unknown): boolean {
  return (
    err instanceof AmqpChannelError &&
    err.code === 406 &&
    err.message.includes("inequivalent arg 'durable'")
  );
}

/** Specs whose declaration fell back to non-durable, and the spec declared instead. */
const NON_DURABLE_FALLBACKS = new WeakMap<ConsumerSpec, ConsumerSpec>();

/**
 * Declares what one consumer needs: its exchange, its queue and the binding. As upstream
 * HEAD, when the broker refuses a durable declaration because the exchange or queue exists
 * non-durable, the exchange (auto-delete as the queue) and the queue are declared again
 * non-durable, and that fallback is kept for every later (re)declaration of this spec.
 * Any other refusal, or a second one, is thrown.
 */
export async function declareConsumerSpec(
  conn: Declarer,
  spec: ConsumerSpec,
  bounds: PublishBounds,
): Promise<void> {
  const declared = NON_DURABLE_FALLBACKS.get(spec);
  if (declared !== undefined) return declareSpec(conn, declared, bounds);
  try {
    await declareSpec(conn, spec, bounds);
  } catch (err) {
    if (!isDurableMismatch(err)) throw err;
    const fallback: ConsumerSpec = {
      ...spec,
      exchange:
        spec.exchange === undefined
          ? undefined
          : { ...spec.exchange, durable: false, autoDelete: spec.queue.autoDelete },
      queue: { ...spec.queue, durable: false },
    };
    // Recorded before the retry: the channel is being replaced, and the replacement
    // re-declares this spec (onReconnect) before the retry below runs.
    NON_DURABLE_FALLBACKS.set(spec, fallback);
    conn.logger.warn(
      '[%s] Queue %s could not be declared as configured (%s): declaring it non-durable, ' +
        'as the Python services do',
      conn.connectionName,
      spec.queue.name,
      err instanceof Error ? err.message : String(err),
    );
    await declareSpec(conn, fallback, bounds);
  }
}

async function declareSpec(
  conn: Declarer,
  spec: ConsumerSpec,
  bounds: PublishBounds,
): Promise<void> {
  const options = { retry: bounds.retry, timeoutMs: bounds.timeoutMs, signal: bounds.signal };
  if (spec.exchange !== undefined) {
    await conn.declareExchange(
      spec.exchange.name,
      spec.exchange.type,
      { durable: spec.exchange.durable, autoDelete: spec.exchange.autoDelete },
      options,
    );
  }
  await conn.declareQueue(
    spec.queue.name,
    {
      durable: spec.queue.durable,
      autoDelete: spec.queue.autoDelete,
      exclusive: spec.queue.exclusive,
      arguments: spec.queue.arguments,
    },
    options,
  );
  if (spec.binding !== undefined) {
    await conn.bindQueue(
      spec.binding.queue,
      spec.binding.exchange,
      spec.binding.routingKey,
      options,
    );
  }
}
