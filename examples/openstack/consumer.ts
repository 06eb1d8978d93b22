/**
 * A Node service joining an OpenStack deployment over RabbitMQ: the Node half of
 * examples/openstack (see its README.md).
 *
 * It reads the deployment's nova.conf (here examples/openstack/nova.conf), then:
 * - listens to Nova's instance notifications in a pool of its own, so it gets a copy of
 *   every notification and takes none from the deployment's other consumers;
 * - calls the compute RPC API (version 5.0) of a Python oslo.messaging server through a
 *   typed client: list_instances, get_instance, reboot_instance, and sees the reboot's
 *   notifications arrive;
 * - gets the server's InstanceNotFound rebuilt as a local class (its module is allowed
 *   and the class registered), and a ValueError, from a module it does not allow, as
 *   RemoteError.
 *
 * Run the whole example (it starts the Python service first): npm run example:openstack
 * This file alone, with the service running: npx tsx examples/openstack/consumer.ts
 *
 * Options (all optional):
 *   --config-file PATH        nova.conf-style file, repeatable (default: ./nova.conf)
 *   --transport-url URL       overrides [DEFAULT] transport_url
 *   --exchange NAME           overrides [DEFAULT] control_exchange (nova)
 *   --topic NAME              the RPC topic of the compute service (compute)
 *   --host NAME               send RPC requests to this server only (default: any)
 *   --notification-topic T    repeatable (default: [oslo_messaging_notifications] topics)
 *   --pool NAME               the listener's pool (node-openstack-example)
 *   --listen SECONDS          only listen (no RPC), for SECONDS or, with 0, until Ctrl-C
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  Config,
  getNotificationListener,
  getNotificationTransport,
  getRpcClient,
  getRpcTransport,
  MessagingTimeout,
  NotificationFilter,
  RemoteError,
  Target,
  type NotificationMetadata,
  type NotificationPriority,
  type RemoteExceptionRegistry,
  type RequestContext,
} from '../../src/index.js';

const { values: args } = parseArgs({
  options: {
    'config-file': {
      type: 'string',
      multiple: true,
      default: [fileURLToPath(new URL('./nova.conf', import.meta.url))],
    },
    'transport-url': { type: 'string' },
    exchange: { type: 'string' },
    topic: { type: 'string', default: 'compute' },
    host: { type: 'string' },
    'notification-topic': { type: 'string', multiple: true },
    pool: { type: 'string', default: 'node-openstack-example' },
    listen: { type: 'string' },
  },
});

// ---------------------------------------------------------------------------------------
// The compute API of the Python service, as its clients see it

interface Flavor {
  flavorid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
}

interface Instance {
  uuid: string;
  display_name: string;
  host: string;
  vm_state: string;
  task_state: string | null;
  power_state: string;
  flavor: Flavor;
  project_id: string;
  user_id: string;
}

/** Each method takes the keyword arguments of the Python endpoint method, as one object. */
interface ComputeAPI {
  list_instances(): Promise<Instance[]>;
  get_instance(args: { instance_id: string }): Promise<Instance>;
  reboot_instance(args: { instance_id: string; reboot_type: 'SOFT' | 'HARD' }): Promise<Instance>;
}

/**
 * The local class for the service's `nova_like_exception.InstanceNotFound`. A failure is
 * rebuilt as `new InstanceNotFound(message, kwargs)`, with the Python exception's kwargs.
 */
class InstanceNotFound extends Error {
  readonly instanceId: unknown;
  readonly code: unknown;
  constructor(message: string, kwargs: Record<string, unknown> = {}) {
    super(message);
    this.name = 'InstanceNotFound';
    this.instanceId = kwargs['instance_id'];
    this.code = kwargs['code'];
  }
}

// Only errors from these modules may become local classes, and only the classes registered
// for them; any other remote error arrives as RemoteError.
const allowedRemoteExmods = ['nova_like_exception'];
const remoteExceptions: RemoteExceptionRegistry = { nova_like_exception: { InstanceNotFound } };

// ---------------------------------------------------------------------------------------
// Nova's instance notifications

interface InstanceEvent {
  priority: NotificationPriority;
  eventType: string;
  publisherId: string | null;
  requestId: unknown;
  instanceId: unknown;
  payload: unknown;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A payload value as text: strings as they are, `-` for nothing, JSON otherwise. */
function text(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * What an instance notification says, from a legacy payload (flat: `instance_id`,
 * `state`, `state_description`) or a versioned one (`nova_object.data` with `uuid`,
 * `state`, `task_state`).
 */
function describeInstance(payload: unknown): { id: unknown; summary: string } {
  const versioned = field(payload, 'nova_object.data');
  const data = versioned ?? payload;
  const id = versioned === undefined ? field(data, 'instance_id') : field(data, 'uuid');
  const task =
    versioned === undefined ? field(data, 'state_description') : field(data, 'task_state');
  const summary =
    `${text(field(data, 'display_name'))} (${text(id)}) on ${text(field(data, 'host'))}: ` +
    `state ${text(field(data, 'state'))}, task ${text(task)}`;
  return { id, summary };
}

/** The listener's endpoint: prints every instance event and lets the code wait for some. */
class InstanceEvents {
  // Legacy event types start with `compute.instance.`, versioned ones with `instance.`.
  readonly filterRule = new NotificationFilter({ eventType: '^(compute\\.)?instance\\.' });
  readonly received: InstanceEvent[] = [];
  readonly #waiters = new Set<(event: InstanceEvent) => void>();

  info = this.#handler('info');
  warn = this.#handler('warn');
  error = this.#handler('error');
  critical = this.#handler('critical');

  #handler(priority: NotificationPriority) {
    return (
      ctxt: unknown,
      publisherId: string | null,
      eventType: string,
      payload: unknown,
      metadata: NotificationMetadata,
    ): void => {
      const instance = describeInstance(payload);
      const event: InstanceEvent = {
        priority,
        eventType,
        publisherId,
        requestId: field(ctxt, 'request_id'),
        instanceId: instance.id,
        payload,
      };
      console.log(
        `notification ${eventType} [${priority}] from ${String(publisherId)} ` +
          `at ${metadata.timestamp}: ${instance.summary}; request ${text(event.requestId)}`,
      );
      console.log(`  payload: ${JSON.stringify(payload)}`);
      this.received.push(event);
      for (const waiter of this.#waiters) waiter(event);
    };
  }

  /** Resolves with the first event (received so far or later) that matches. */
  async waitFor(matches: (event: InstanceEvent) => boolean, timeoutMs: number) {
    const seen = this.received.find(matches);
    if (seen !== undefined) return seen;
    let waiter: ((event: InstanceEvent) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<InstanceEvent>((resolve, reject) => {
        waiter = (event) => {
          if (matches(event)) resolve(event);
        };
        this.#waiters.add(waiter);
        timer = setTimeout(
          () => reject(new Error(`no matching notification within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
    } finally {
      if (waiter !== undefined) this.#waiters.delete(waiter);
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Configuration and transports

// Command-line overrides beat every file, as oslo.config's set_override (undefined: not set).
const conf = await Config.fromFiles(args['config-file'], {
  DEFAULT: { transport_url: args['transport-url'], control_exchange: args.exchange },
});

const rpcTransport = getRpcTransport(conf, { allowedRemoteExmods, remoteExceptions });
// [oslo_messaging_notifications] transport_url if set, else [DEFAULT] transport_url.
const notificationTransport = getNotificationTransport(conf);
const notificationTopics = args['notification-topic'] ?? conf.notifications().topics;

console.log(
  `config ${args['config-file'].join(', ')}: broker ${String(rpcTransport.url)}, ` +
    `control_exchange ${rpcTransport.controlExchange}`,
);

/** A request context as OpenStack services send it; a new request id for each request. */
function requestContext(): RequestContext {
  return {
    request_id: `req-${randomUUID()}`,
    user_id: 'node-consumer',
    project_id: 'admin',
    roles: ['admin'],
    is_admin: true,
  };
}

async function rpcDemo(events: InstanceEvents): Promise<void> {
  const target = new Target({ topic: args.topic, version: '5.0' });
  let compute = getRpcClient<ComputeAPI>(rpcTransport, target, { timeout: 20_000 });
  // Nova's clients address a compute host: prepare(server=host). Without --host, any
  // server on the topic takes the request.
  if (args.host !== undefined) compute = compute.prepare({ server: args.host });

  const instances = await compute.call(requestContext(), 'list_instances');
  console.log(`rpc list_instances: ${JSON.stringify(instances)}`);
  const first = instances[0];
  if (first === undefined) throw new Error('the compute service has no instances');

  const instance = await compute.call(requestContext(), 'get_instance', {
    instance_id: first.uuid,
  });
  console.log(`rpc get_instance: ${JSON.stringify(instance)}`);

  // The service notifies reboot.start and reboot.end with the context of the request.
  const ctxt = requestContext();
  const ofThisReboot = (phase: string) => (event: InstanceEvent) =>
    event.eventType === `compute.instance.reboot.${phase}` &&
    event.requestId === ctxt['request_id'];
  const rebooted = await compute.call(ctxt, 'reboot_instance', {
    instance_id: first.uuid,
    reboot_type: 'HARD',
  });
  console.log(`rpc reboot_instance (${String(ctxt['request_id'])}): ${JSON.stringify(rebooted)}`);
  await events.waitFor(ofThisReboot('start'), 20_000);
  await events.waitFor(ofThisReboot('end'), 20_000);
  console.log('the reboot notifications arrived');

  // An error from an allowed module, with a registered class: rebuilt locally.
  const missing = '00000000-0000-4000-8000-000000000000';
  try {
    await compute.call(requestContext(), 'get_instance', { instance_id: missing });
    throw new Error('get_instance of a missing instance succeeded');
  } catch (err) {
    if (!(err instanceof InstanceNotFound)) throw err;
    console.log(
      `InstanceNotFound rebuilt locally: ${err.message} ` +
        `(instanceId ${String(err.instanceId)}, code ${String(err.code)})`,
    );
  }

  // ComputeAPI allows SOFT and HARD only; an untyped client can send anything. The
  // server's ValueError comes from `builtins`, which this transport does not allow.
  const untyped = getRpcClient(rpcTransport, target, { timeout: 20_000 });
  try {
    await untyped
      .prepare(args.host === undefined ? {} : { server: args.host })
      .call(requestContext(), 'reboot_instance', { instance_id: first.uuid, reboot_type: 'WARM' });
    throw new Error('a WARM reboot succeeded');
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    console.log(
      `RemoteError (module ${String(err.module)} not allowed): ${err.excType}: ${err.value}`,
    );
    console.log(`  remote traceback ends: ${JSON.stringify(err.traceback.at(-1))}`);
  }
}

/** Resolves after `seconds` (0: never), or on SIGINT/SIGTERM. */
function listenFor(seconds: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      process.off('SIGINT', done).off('SIGTERM', done);
      resolve();
    };
    const timer = seconds > 0 ? setTimeout(done, seconds * 1000) : undefined;
    process.once('SIGINT', done).once('SIGTERM', done);
  });
}

const events = new InstanceEvents();
// A pool is a consumer group with a queue of its own (named after the pool), bound to
// `<topic>.<priority>` for each priority the endpoints handle: this listener gets a copy
// of each notification, and the deployment's other consumers (Ceilometer...) still get
// theirs.
const listener = getNotificationListener(
  notificationTransport,
  notificationTopics.map((topic) => new Target({ topic })),
  [events],
  { pool: args.pool },
);
try {
  await listener.start();
  console.log(
    `listening to ${notificationTopics.join(', ')} on exchange ` +
      `${notificationTransport.controlExchange}, pool ${args.pool}`,
  );
  if (args.listen !== undefined) {
    const seconds = Number(args.listen);
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new Error(`--listen takes a number of seconds, not ${args.listen}`);
    }
    await listenFor(seconds);
  } else {
    await rpcDemo(events);
  }
  console.log(`done: ${events.received.length} instance notification(s) received`);
} catch (err) {
  if (err instanceof MessagingTimeout) {
    console.error(
      `no compute service answered on topic ${args.topic}` +
        `${args.host === undefined ? '' : ` for host ${args.host}`}: is it running, ` +
        'on the same broker and exchange?',
    );
  }
  console.error('consumer failed:', err);
  process.exitCode = 1;
} finally {
  // stop() + wait(): no new notifications, handlers finish; then close the connections.
  await listener.close();
  await rpcTransport.cleanup();
  await notificationTransport.cleanup();
}
