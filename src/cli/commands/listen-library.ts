/**
 * `listen --pool` and `listen` on `fake://`: a library notification listener, which sees
 * what an endpoint sees (not the raw delivery).
 *
 * @module
 */
import {
  getNotificationListener,
  NotificationResult,
  Target,
  type NotificationListenerOptions,
  type NotificationMetadata,
  type NotificationPriority,
} from '../../index.js';
import {
  CliLogger,
  closeTransport,
  openNotificationTransport,
  unlessInterrupted,
  unreachable,
  withDeadline,
} from '../connection.js';
import type { WireMessage } from '../wire/decode.js';
import type { ListenPlan, Started } from './listen.js';

/** Start the listener; resolves once it consumes. */
export async function listenWithLibrary(
  plan: ListenPlan,
  interrupt: { promise: Promise<NodeJS.Signals> },
): Promise<Started> {
  const { settings, pool, printer } = plan;
  const logger = new CliLogger(settings.debug);
  const transport = await unlessInterrupted(
    openNotificationTransport(settings, logger, plan.exchange),
    interrupt,
  );
  const exchange = plan.exchange ?? transport.controlExchange;
  const targets = plan.topics.map((topic) => new Target({ topic, exchange: plan.exchange }));
  const handle = (
    priority: NotificationPriority,
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): NotificationResult => {
    // Delivered after the count was reached: give it back (to the pool) untouched.
    if (printer.full) return NotificationResult.REQUEUE;
    const context = { ...(ctxt as Record<string, unknown>) };
    // The receiver adds client_timeout (spec 3.4); it was not on the wire.
    if (context['client_timeout'] === null) delete context['client_timeout'];
    const message: WireMessage = {
      kind: 'notification',
      exchange,
      // The topic is known only when there is one: a pool is one queue for all of them.
      routing_key: `${plan.topics.length === 1 ? plan.topics[0] : '*'}.${priority}`,
      envelope: null,
      priority: priority.toUpperCase(),
      message_id: metadata.message_id,
      timestamp: metadata.timestamp,
      publisher_id: publisherId,
      event_type: eventType,
      payload,
      context,
    };
    printer.offer(message, undefined);
    return NotificationResult.HANDLED;
  };
  const endpoint: Record<string, unknown> = {};
  for (const priority of plan.priorities) {
    endpoint[priority] = (...a: [unknown, string | null, string, unknown, NotificationMetadata]) =>
      handle(priority, ...a);
  }
  const options: NotificationListenerOptions & { tap?: boolean } = {
    // One at a time, in arrival order: the output reads like a log.
    executor: 'blocking',
    // Only a pool member gives back what arrives after --count; a tap queue is private.
    allowRequeue: pool !== undefined,
    ...(pool === undefined ? { tap: true } : { pool }),
  };
  const listener = getNotificationListener(transport, targets, [endpoint], options);
  try {
    await unlessInterrupted(
      withDeadline(listener.start(), settings.connectTimeoutMs, () =>
        unreachable(transport, settings.connectTimeoutMs),
      ),
      interrupt,
    );
  } catch (err) {
    // A listener that never started has nothing to give back; close() would first wait
    // for the start that is still retrying.
    await closeTransport(transport, 1_000);
    throw err;
  }
  logger.live = true;
  if (!plan.quiet) {
    const keys = plan.topics.map((t) => `${t}.{${plan.priorities.join(',')}}`).join(' ');
    const how = pool === undefined ? 'tap' : `pool ${pool}`;
    process.stderr.write(`listening on ${exchange}: ${keys} (${how}); Ctrl-C to stop\n`);
  }
  return {
    failed: new Promise<never>(() => undefined),
    close: async () => {
      await withDeadline(listener.close(), 5_000, () => new Error('close timed out')).catch(
        () => undefined,
      );
      await closeTransport(transport, 5_000);
    },
  };
}
