/**
 * `oslo-messaging queues`: the oslo queues and exchanges of a virtual host, with depth,
 * consumers and type, using AMQP only (no management plugin). AMQP cannot list queues,
 * so the tool checks the names oslo gives them, for the topics of common OpenStack
 * services and for the ones given: passive declares, which create nothing.
 *
 * @module
 */
import { PRIORITIES } from '../../index.js';
import { brokerOf, openConnection } from '../amqp/broker.js';
import { exchangeExists, inspectQueue, type QueueInfo } from '../amqp/inspect.js';
import { connectionSettings, loadConfig } from '../connection.js';
import { ExitCode } from '../errors.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  flagOpt,
  listOpt,
  type CommandSpec,
  type ParsedArgs,
} from '../options.js';
import { formatTable } from '../table.js';
import type { Command } from './command.js';

/** Control exchanges of OpenStack services (their `control_exchange` defaults). */
const KNOWN_EXCHANGES = [
  'openstack',
  'nova',
  'neutron',
  'cinder',
  'glance',
  'heat',
  'keystone',
  'ironic',
  'octavia',
  'designate',
  'magnum',
  'manila',
  'barbican',
  'trove',
  'aodh',
  'ceilometer',
  'zaqar',
  'watcher',
];

/** RPC topics of OpenStack services. */
const KNOWN_RPC_TOPICS = [
  'compute',
  'conductor',
  'scheduler',
  'consoleauth',
  'cert',
  'cinder-volume',
  'cinder-scheduler',
  'cinder-backup',
  'q-plugin',
  'q-l3-plugin',
  'q-reports-plugin',
  'dhcp_agent',
  'l3_agent',
  'q-server-resource-versions',
  'engine',
  'ironic.conductor_manager',
  'octavia_prov',
  'central',
  'worker',
  'producer',
  'magnum-conductor',
  'manila-share',
  'manila-scheduler',
  'manila-data',
  'alarm_notifier',
  'decision-engine',
];

/** Notification topics OpenStack services publish to. */
const KNOWN_NOTIFICATION_TOPICS = [
  'notifications',
  'versioned_notifications',
  'notifications_designate',
];

const spec: CommandSpec = {
  name: 'queues',
  summary: 'List the oslo queues and exchanges of a virtual host: depth, consumers, type.',
  description:
    'AMQP has no way to list queues, and this uses AMQP only (the management plugin is not\n' +
    'needed): it checks the names oslo.messaging gives queues, with passive declares that never\n' +
    'create anything: <topic> and <topic>.<server> for RPC, <topic>.<priority> for notifications\n' +
    'and pool queues, for the topics of common OpenStack services, the configured notification\n' +
    'topics, and any --topic, --server, --pool or --queue given. The type (classic, quorum,\n' +
    'stream) is what the broker answers to a declaration that cannot succeed. Reply and fanout\n' +
    'queues have random names: `rabbitmqctl list_queues` shows those.',
  options: {
    ...CONNECTION_OPTIONS,
    topic: {
      type: 'string',
      multiple: true,
      value: 'TOPIC',
      help: 'an RPC or notification topic to check as well',
    },
    server: {
      type: 'string',
      multiple: true,
      value: 'HOST',
      help: 'check <topic>.<HOST> for each RPC topic',
    },
    pool: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'a notification pool queue to check',
    },
    queue: { type: 'string', multiple: true, value: 'NAME', help: 'any other queue to check' },
    exchange: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'an exchange to check as well',
    },
    'only-given': {
      type: 'boolean',
      help: "check only what the options name, not OpenStack's usual names",
    },
    format: { type: 'string', value: 'FORMAT', help: 'table (default) or json' },
  },
  examples: [
    'oslo-messaging queues --config-file /etc/nova/nova.conf',
    'oslo-messaging queues --topic compute --server compute-1 --server compute-2 --format json',
  ],
};

interface Candidate {
  readonly name: string;
  readonly kind: 'rpc' | 'rpc-server' | 'notifications' | 'pool' | 'given';
}

function candidates(args: ParsedArgs, notificationTopics: readonly string[]): Candidate[] {
  const { values } = args;
  const onlyGiven = flagOpt(values, 'only-given');
  const topics = listOpt(values, 'topic');
  const rpc = onlyGiven ? topics : [...KNOWN_RPC_TOPICS, ...topics];
  const notif = onlyGiven
    ? topics
    : [...KNOWN_NOTIFICATION_TOPICS, ...notificationTopics, ...topics];
  const out = new Map<string, Candidate>();
  const add = (name: string, kind: Candidate['kind']): void => {
    if (!out.has(name)) out.set(name, { name, kind });
  };
  for (const q of listOpt(values, 'queue')) add(q, 'given');
  for (const t of rpc) add(t, 'rpc');
  for (const t of rpc) for (const s of listOpt(values, 'server')) add(`${t}.${s}`, 'rpc-server');
  for (const t of notif) for (const p of PRIORITIES) add(`${t}.${p}`, 'notifications');
  for (const p of listOpt(values, 'pool')) add(p, 'pool');
  return [...out.values()];
}

async function run(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const settings = connectionSettings(values);
  const format = choiceOpt(values, 'format', ['table', 'json'] as const) ?? 'table';
  const conf = await loadConfig(settings);
  const broker = brokerOf(conf, settings.url, 'queues');
  const wanted = candidates(args, conf.notifications().topics);
  const exchangeNames = [
    ...new Set([
      broker.controlExchange,
      ...(flagOpt(values, 'only-given') ? [] : KNOWN_EXCHANGES),
      ...listOpt(values, 'exchange'),
    ]),
  ];
  const conn = await openConnection(broker, settings.connectTimeoutMs);
  try {
    const queues: (QueueInfo & { kind: string })[] = [];
    for (const c of wanted) {
      const info = await inspectQueue(conn, c.name);
      if (info !== undefined) queues.push({ ...info, kind: c.kind });
    }
    const exchanges: { name: string; kind: string }[] = [];
    for (const name of exchangeNames) {
      if (await exchangeExists(conn, name)) exchanges.push({ name, kind: 'control (topic)' });
      const fanouts = wanted.filter((c) => c.kind === 'rpc').map((c) => `${c.name}_fanout`);
      if (name === broker.controlExchange) {
        for (const f of fanouts) {
          if (await exchangeExists(conn, f)) exchanges.push({ name: f, kind: 'fanout' });
        }
      }
    }
    const vhost = broker.url.effectiveVirtualHost();
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ vhost, queues, exchanges })}\n`);
      return ExitCode.OK;
    }
    const count = (n: number): string => (Number.isNaN(n) ? '?' : String(n));
    process.stdout.write(
      `virtual host ${vhost}: ${queues.length} oslo queues of ${wanted.length} names checked\n\n` +
        formatTable(
          ['QUEUE', 'TYPE', 'MESSAGES', 'CONSUMERS', 'KIND'],
          queues.map((q) => [q.name, q.type, count(q.messages), count(q.consumers), q.kind]),
          [false, false, true, true, false],
        ) +
        '\n' +
        formatTable(
          ['EXCHANGE', 'KIND'],
          exchanges.map((x) => [x.name, x.kind]),
          [false, false],
        ),
    );
    return ExitCode.OK;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The `queues` subcommand. */
export const queuesCommand: Command = { spec, run };
