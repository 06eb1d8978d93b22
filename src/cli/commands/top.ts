/**
 * `oslo-messaging top`: a live view of message rates per topic, event type and publisher,
 * refreshed in place on a terminal (like `top`), from a tap on the control exchange.
 *
 * @module
 */
import type { RabbitOptions } from '../../index.js';
import { brokerOf, openConnection } from '../amqp/broker.js';
import { openTap } from '../amqp/tap.js';
import { connectionSettings, loadConfig, onInterrupt, unlessInterrupted } from '../connection.js';
import { CliFailure, ExitCode } from '../errors.js';
import {
  CONNECTION_OPTIONS,
  intOpt,
  listOpt,
  type CommandSpec,
  type ParsedArgs,
} from '../options.js';
import { formatTable } from '../table.js';
import { RateTable } from '../top/rates.js';
import { decodeDelivery, topicOf } from '../wire/decode.js';
import type { Command } from './command.js';

const spec: CommandSpec = {
  name: 'top',
  summary: 'Live message rates per topic, event type and publisher, refreshed in place.',
  description:
    'Taps the control exchange (and any --exchange) with a private queue bound to every routing\n' +
    "key ('#'), or to --topic's keys only, and shows what goes through: RPC requests and\n" +
    'notifications per topic, notifications per event type and per publisher, as messages per\n' +
    'second over the last --window seconds. The broker copies every message on those keys to\n' +
    'the tap while it runs; narrow it with --topic on a busy deployment. q or Ctrl-C quits.\n' +
    'When stdout is not a terminal, each refresh is printed after the last.',
  options: {
    ...CONNECTION_OPTIONS,
    exchange: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'exchange to watch (default: control_exchange)',
    },
    topic: {
      type: 'string',
      multiple: true,
      value: 'TOPIC',
      help: 'watch only this topic (its RPC and notification keys)',
    },
    interval: { type: 'string', value: 'MS', help: 'refresh every MS (default 1000)' },
    window: { type: 'string', value: 'S', help: 'rates over the last S seconds (default 5)' },
    iterations: { type: 'string', value: 'N', help: 'exit after N refreshes' },
  },
  examples: [
    'oslo-messaging top --config-file /etc/nova/nova.conf',
    'oslo-messaging top --topic notifications',
  ],
};

interface Tables {
  readonly topics: RateTable;
  readonly events: RateTable;
  readonly publishers: RateTable;
}

function section(title: string, table: RateTable, rows: number): string {
  const top = table.rows().slice(0, rows);
  return formatTable(
    [title, 'MSG/S', 'TOTAL'],
    top.map((r) => [r.key, r.rate.toFixed(1), String(r.total)]),
    [false, true, true],
  );
}

/** One screen of the view; `height` is the terminal's, to fit the tables in it. */
export function renderTop(header: string, t: Tables, height: number): string {
  const all = t.topics.sum();
  const per = Math.max(3, Math.floor((height - 9) / 3) - 1);
  return [
    header,
    `messages: ${all.rate.toFixed(1)}/s, ${all.total} in all`,
    '',
    section('TOPIC', t.topics, per),
    section('EVENT TYPE', t.events, per),
    section('PUBLISHER', t.publishers, per),
  ].join('\n');
}

async function run(args: ParsedArgs): Promise<ExitCode> {
  const { values } = args;
  const settings = connectionSettings(values);
  const intervalMs = intOpt(values, 'interval', { min: 100 }) ?? 1000;
  const windowS = intOpt(values, 'window', { min: 1, max: 3600 }) ?? 5;
  const iterations = intOpt(values, 'iterations', { min: 1 });
  const topics = listOpt(values, 'topic');
  const conf = await loadConfig(settings);
  const broker = brokerOf(conf, settings.url, 'top');
  const exchanges = listOpt(values, 'exchange');
  const watched = exchanges.length > 0 ? exchanges : [broker.controlExchange];
  const keys = topics.length === 0 ? ['#'] : topics.flatMap((t) => [t, `${t}.#`]);
  const rabbit = conf.group<RabbitOptions>('oslo_messaging_rabbit', broker.url.query);
  const tables: Tables = {
    topics: new RateTable(windowS),
    events: new RateTable(windowS),
    publishers: new RateTable(windowS),
  };
  const interrupt = onInterrupt();
  const conn = await unlessInterrupted(
    openConnection(broker, settings.connectTimeoutMs),
    interrupt,
  );
  const out = process.stdout;
  const tty = out.isTTY === true;
  const stdin = process.stdin;
  let quit: () => void = () => undefined;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const onKey = (data: Buffer): void => {
    const key = data.toString();
    if (key === 'q' || key === 'Q' || key === '\u0003') quit();
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const closed = new Promise<never>((_resolve, reject) => {
      conn.on('close', () => reject(new CliFailure('the broker closed the connection')));
    });
    closed.catch(() => undefined);
    const taps = [];
    for (const exchange of watched) {
      taps.push(
        await openTap(
          conn,
          {
            exchange,
            routingKeys: keys,
            declare: { durable: rabbit.amqp_durable_queues, autoDelete: rabbit.amqp_auto_delete },
          },
          'oslo-messaging-cli.top',
          (d) => {
            const m = decodeDelivery(d);
            tables.topics.add(`${d.exchange}/${topicOf(m)}`);
            if (m.kind === 'notification') {
              tables.events.add(m.event_type ?? '-');
              tables.publishers.add(m.publisher_id ?? '(none)');
            } else if (m.kind === 'rpc') {
              tables.events.add(`(rpc) ${m.method ?? '-'}`);
            }
          },
        ),
      );
    }
    const header = `oslo-messaging top: ${broker.url.toString()} exchanges ${watched.join(', ')}; q quits`;
    if (tty) {
      // The alternate screen, as top and less use, so the shell's screen comes back on exit.
      out.write('\x1b[?1049h\x1b[?25l');
      if (stdin.isTTY) {
        stdin.setRawMode(true);
        stdin.on('data', onKey);
        stdin.resume();
      }
    }
    let shown = 0;
    const draw = (): void => {
      const text = renderTop(header, tables, tty ? out.rows : 40);
      out.write(tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
      shown += 1;
      if (iterations !== undefined && shown >= iterations) quit();
    };
    draw();
    let elapsed = 0;
    timer = setInterval(() => {
      elapsed += intervalMs;
      while (elapsed >= 1000) {
        elapsed -= 1000;
        for (const t of Object.values(tables) as RateTable[]) t.tick();
      }
      draw();
    }, intervalMs);
    await Promise.race([quitting, interrupt.promise, closed]);
    for (const tap of taps) await tap.close();
    return ExitCode.OK;
  } finally {
    clearInterval(timer);
    interrupt.dispose();
    if (tty) {
      if (stdin.isTTY) {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      out.write('\x1b[?25h\x1b[?1049l');
    }
    await conn.close().catch(() => undefined);
  }
}

/** The `top` subcommand. */
export const topCommand: Command = { spec, run, handlesSignals: true };
