/**
 * `oslo-messaging notify`: send one notification, in the spirit of oslo's
 * `oslo-messaging-send-notification`.
 *
 * @module
 */
import { Notifier, PRIORITIES, type NotificationPriority } from '../../index.js';
import {
  CliLogger,
  closeTransport,
  connectionSettings,
  openNotificationTransport,
  unreachable,
  withDeadline,
} from '../connection.js';
import { CliFailure, ExitCode, UsageError } from '../errors.js';
import {
  choiceOpt,
  CONNECTION_OPTIONS,
  intOpt,
  jsonObjectOpt,
  jsonOpt,
  listOpt,
  nameOpt,
  stringOpt,
  type CommandSpec,
  type ParsedArgs,
} from '../options.js';
import type { Command } from './command.js';

const DRIVERS = ['messagingv2', 'messaging'] as const;

const spec: CommandSpec = {
  name: 'notify',
  summary: 'Send one notification.',
  description:
    'Publishes to <topic>.<priority> on the control exchange with publisher confirms, as an\n' +
    'OpenStack service does. The context goes through the notifier, which keeps only the\n' +
    "oslo 14.0.3 allow-list of keys (user_id, project_id, request_id, ...), as Python's does.",
  options: {
    ...CONNECTION_OPTIONS,
    topic: {
      type: 'string',
      multiple: true,
      value: 'TOPIC',
      help: 'topic to publish to (default: topics from the configuration, i.e. notifications)',
    },
    exchange: { type: 'string', value: 'NAME', help: 'exchange (default: control_exchange)' },
    'publisher-id': { type: 'string', value: 'ID', help: 'publisher_id, e.g. compute.host1' },
    'event-type': { type: 'string', value: 'TYPE', help: 'event_type (default test)' },
    priority: {
      type: 'string',
      value: 'PRIORITY',
      help: `one of ${PRIORITIES.join(', ')} (default info)`,
    },
    payload: { type: 'string', value: 'JSON', help: 'the payload, any JSON value (default {})' },
    context: {
      type: 'string',
      value: 'JSON',
      help: 'the request context, a JSON object (default {})',
    },
    driver: {
      type: 'string',
      value: 'NAME',
      help: 'messagingv2 (the 2.0 envelope, default) or messaging (bare 1.0 messages)',
    },
    retry: {
      type: 'string',
      value: 'N',
      help: 'connection retries before giving up: -1 forever, 0 none (default 0)',
    },
  },
  examples: [
    `oslo-messaging notify --event-type compute.instance.create.end --publisher-id compute.host1 \\`,
    `    --payload '{"instance_id": "i-1"}' --url rabbit://guest:guest@127.0.0.1:5672/`,
  ],
};

async function run(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const settings = connectionSettings(values);
  const priorityText = stringOpt(values, 'priority') ?? 'info';
  const priority = (priorityText === 'warning' ? 'warn' : priorityText) as NotificationPriority;
  if (!(PRIORITIES as readonly string[]).includes(priority)) {
    throw new UsageError(
      `--priority must be one of ${PRIORITIES.join(', ')}, got '${priorityText}'`,
    );
  }
  const eventType = nameOpt(values, 'event-type') ?? 'test';
  const payload = jsonOpt(values, 'payload') ?? {};
  const context = jsonObjectOpt(values, 'context');
  const topics = listOpt(values, 'topic');
  if (topics.some((t) => t === '')) throw new UsageError('--topic must not be empty');
  const driver = choiceOpt(values, 'driver', DRIVERS) ?? 'messagingv2';
  const retry = intOpt(values, 'retry', { min: -1 }) ?? 0;
  const publisherId = stringOpt(values, 'publisher-id');

  const logger = new CliLogger(settings.debug);
  const transport = await openNotificationTransport(settings, logger, nameOpt(values, 'exchange'));
  try {
    const notifier = new Notifier(transport, {
      driver,
      retry,
      ...(publisherId === undefined ? {} : { publisherId }),
      ...(topics.length === 0 ? {} : { topics }),
    });
    const before = logger.errors.length;
    await withDeadline(
      notifier[priority](context, eventType, payload),
      settings.connectTimeoutMs,
      () => unreachable(transport, settings.connectTimeoutMs),
    );
    // The notifier reports a failed send by logging it (as oslo's does), not by rejecting;
    // its line comes last and names the cause.
    if (logger.errors.length > before) {
      throw new CliFailure(logger.errors[logger.errors.length - 1] ?? 'send failed');
    }
    return ExitCode.OK;
  } finally {
    await closeTransport(transport);
  }
}

/** The `notify` subcommand. */
export const notifyCommand: Command = { spec, run };
