/**
 * Notifications quick start, on the in-memory `fake://` transport (no broker needed).
 *
 * A "compute" service publishes notifications with a Notifier; a listener with three
 * endpoints (audit, errors, and active instances only, through a NotificationFilter)
 * consumes them, and a second listener in the `archive` pool gets its own copy of
 * everything. Against RabbitMQ, only the transport URL changes:
 * `rabbit://user:pass@host:5672/`.
 *
 * Run: npm run example
 */
import {
  getNotificationListener,
  getNotificationTransport,
  NotificationFilter,
  NotificationResult,
  Notifier,
  Target,
  type NotificationMetadata,
  type NotificationPriority,
} from '../src/index.js';

// The same options a service reads from its nova.conf, here as an object.
const transport = getNotificationTransport({
  DEFAULT: { transport_url: 'fake://', control_exchange: 'nova' },
  oslo_messaging_notifications: { driver: ['messagingv2'], topics: ['notifications'] },
});

interface Received {
  priority: NotificationPriority;
  publisherId: string | null;
  eventType: string;
  payload: unknown;
}

/** Counts what endpoints receive, so the example knows when everything arrived. */
class Tally {
  readonly byEndpoint = new Map<string, Received[]>();
  #waiting: { total: number; resolve: () => void } | undefined;

  record(endpoint: string, received: Received): void {
    const list = this.byEndpoint.get(endpoint) ?? [];
    list.push(received);
    this.byEndpoint.set(endpoint, list);
    console.log(
      `  ${endpoint.padEnd(8)} got ${received.priority.padEnd(8)} ${received.eventType} ` +
        `from ${String(received.publisherId)}: ${JSON.stringify(received.payload)}`,
    );
    if (this.#waiting !== undefined && this.total >= this.#waiting.total) this.#waiting.resolve();
  }

  get total(): number {
    let n = 0;
    for (const list of this.byEndpoint.values()) n += list.length;
    return n;
  }

  /** Resolves once `total` notifications were received; rejects after `timeoutMs`. */
  async waitFor(total: number, timeoutMs: number): Promise<void> {
    if (this.total >= total) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiting = { total, resolve };
        timer = setTimeout(
          () => reject(new Error(`only ${this.total} of ${total} notifications arrived`)),
          timeoutMs,
        );
      });
    } finally {
      clearTimeout(timer);
      this.#waiting = undefined;
    }
  }
}

const tally = new Tally();

// Endpoint methods are named after priorities and take oslo's arguments:
// (ctxt, publisherId, eventType, payload, metadata).
class AuditEndpoint {
  audit(_ctxt: unknown, publisherId: string | null, eventType: string, payload: unknown): void {
    tally.record('audit', { priority: 'audit', publisherId, eventType, payload });
  }
}

class ErrorEndpoint {
  error(_ctxt: unknown, publisherId: string | null, eventType: string, payload: unknown): void {
    tally.record('errors', { priority: 'error', publisherId, eventType, payload });
  }

  critical(_ctxt: unknown, publisherId: string | null, eventType: string, payload: unknown): void {
    tally.record('errors', { priority: 'critical', publisherId, eventType, payload });
  }
}

class ActiveInstanceEndpoint {
  // Only instance notifications whose payload says the instance is active. Patterns are
  // Python regular expressions, matched at the start of the value (re.match).
  readonly filterRule = new NotificationFilter({
    eventType: '^compute\\.instance\\.',
    payload: { state: '^active$' },
  });

  info(
    ctxt: unknown,
    publisherId: string | null,
    eventType: string,
    payload: unknown,
    metadata: NotificationMetadata,
  ): NotificationResult {
    tally.record('active', { priority: 'info', publisherId, eventType, payload });
    // The context arrives sanitised: the auth token never left the publisher.
    console.log(`  ${''.padEnd(8)}     context ${JSON.stringify(ctxt)}, id ${metadata.message_id}`);
    return NotificationResult.HANDLED;
  }
}

/** Every priority: the archive pool keeps a copy of everything. */
class ArchiveEndpoint {
  #keep(priority: NotificationPriority) {
    return (_ctxt: unknown, publisherId: string | null, eventType: string, payload: unknown) =>
      tally.record('archive', { priority, publisherId, eventType, payload });
  }
  audit = this.#keep('audit');
  debug = this.#keep('debug');
  info = this.#keep('info');
  warn = this.#keep('warn');
  error = this.#keep('error');
  critical = this.#keep('critical');
  sample = this.#keep('sample');
}

async function main(): Promise<void> {
  const targets = [new Target({ topic: 'notifications' })];
  const listener = getNotificationListener(transport, targets, [
    new AuditEndpoint(),
    new ErrorEndpoint(),
    new ActiveInstanceEndpoint(),
  ]);
  // A pool is a consumer group: its own queue, its own copy of every notification.
  const archive = getNotificationListener(transport, targets, [new ArchiveEndpoint()], {
    pool: 'archive',
  });
  await listener.start();
  await archive.start();

  // Drivers and topics come from [oslo_messaging_notifications].
  const compute = new Notifier(transport, { publisherId: 'compute.host1' });
  const keystone = compute.prepare({ publisherId: 'identity.host1' });
  const ctxt = { request_id: 'req-42', user_id: 'alice', project_id: 'demo', auth_token: 'SECRET' };

  console.log(
    'publishing 8 notifications on topic "notifications"; endpoints print what they get:',
  );
  await compute.info(ctxt, 'compute.instance.create.end', { instance_id: 'i-1', state: 'active' });
  await compute.info(ctxt, 'compute.instance.create.end', {
    instance_id: 'i-2',
    state: 'building',
  });
  await keystone.audit(ctxt, 'identity.authenticate', { user: 'alice', outcome: 'success' });
  await compute.warning(ctxt, 'compute.instance.resize.prep', { instance_id: 'i-1' });
  await compute.error(ctxt, 'compute.instance.create.error', {
    instance_id: 'i-3',
    reason: 'No valid host',
  });
  await compute.critical(ctxt, 'compute.host.down', { host: 'compute-7' });
  await compute.info(ctxt, 'network.port.create.end', { port_id: 'p-1', state: 'active' });
  await compute.sample(ctxt, 'compute.metrics.update', { cpu_percent: 70 });

  // 1 audit + 2 errors + 1 active instance, and all 8 in the archive pool.
  await tally.waitFor(12, 5000);

  console.log('\nsummary:');
  const rows: [string, string][] = [
    ['audit', 'listener (unpooled)'],
    ['errors', 'listener (unpooled)'],
    ['active', 'listener (unpooled, filtered)'],
    ['archive', 'pool "archive"'],
  ];
  for (const [endpoint, where] of rows) {
    const count = tally.byEndpoint.get(endpoint)?.length ?? 0;
    console.log(`  ${endpoint.padEnd(8)} ${String(count).padStart(2)}  ${where}`);
  }
  const unpooled = rows
    .filter(([, where]) => where.startsWith('listener'))
    .reduce((n, [endpoint]) => n + (tally.byEndpoint.get(endpoint)?.length ?? 0), 0);
  console.log(
    `  unpooled endpoints: ${unpooled}, pool: ${tally.byEndpoint.get('archive')?.length ?? 0}`,
  );

  // stop() + wait(): no new messages, in-flight handlers finish, then the listener closes.
  await listener.close();
  await archive.close();
  await transport.cleanup();
}

main().catch(async (err: unknown) => {
  console.error(err);
  process.exitCode = 1;
  await transport.cleanup();
});
