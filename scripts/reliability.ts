/**
 * Regenerates the figures of docs/reliability.md: runs the cluster tests
 * (test/cluster/, a private 3-node RabbitMQ cluster) with figure recording on, then
 * rewrites the part of the page between the `figures:start` and `figures:end` markers.
 *
 *   npm run reliability            # run the cluster tests, then update the page
 *   npm run reliability -- --from F  # only render the figures of an earlier run (JSON lines)
 *
 * The page is left untouched when a test fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { format, resolveConfig } from 'prettier';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PAGE = join(ROOT, 'docs', 'reliability.md');
const START = '<!-- figures:start -->';
const END = '<!-- figures:end -->';

type Figures = Record<string, unknown> & { scenario: string; at: string };

const { values } = parseArgs({ options: { from: { type: 'string' } } });

function runClusterTests(file: string): void {
  const result = spawnSync('npm', ['run', 'test:cluster'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, OMT_RELIABILITY_FIGURES: file },
  });
  if (result.status !== 0) {
    throw new Error(`the cluster tests failed (exit ${result.status}); docs not updated`);
  }
}

function read(file: string): Figures[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Figures);
}

const num = (f: Figures, key: string): number => {
  const value = f[key];
  return typeof value === 'number' ? value : NaN;
};
const s = (ms: number): string =>
  Number.isFinite(ms) && ms >= 0 ? `${(ms / 1000).toFixed(1)} s` : '–';

/** The scenarios in the page's order, with what their own column shows. */
const SCENARIOS: { key: string; title: string; special: (f: Figures) => string }[] = [
  {
    key: 'kill-9-client-node-quorum',
    title: 'kill -9 of the clients’ node, quorum queues',
    special: () => '',
  },
  {
    key: 'kill-9-client-node-classic',
    title: 'kill -9 of the clients’ node, classic durable queues',
    special: (f) => `node down ${s(num(f, 'nodeDownMs'))}, then restarted`,
  },
  {
    key: 'kill-9-quorum-leader',
    title: 'kill -9 of the notification queue’s quorum leader',
    special: () => 'clients on another node',
  },
  {
    key: 'slow-network',
    title: 'every client connection delayed',
    special: (f) =>
      `${String(f['delayMs'])} ms each way; slowest call ${s(num(f, 'slowestCallMs'))}`,
  },
  {
    key: 'black-holed-connections',
    title: 'client connections black-holed',
    special: (f) =>
      `detected after ${s(num(f, 'detectedMinMs'))}–${s(num(f, 'detectedMaxMs'))} ` +
      `(heartbeat ${String(f['heartbeatS'])} s)`,
  },
  {
    key: 'silent-node',
    title: 'a node gone silent (old and new connections black-holed)',
    special: (f) =>
      `detected after ${s(num(f, 'detectedMinMs'))}–${s(num(f, 'detectedMaxMs'))} ` +
      `(heartbeat ${String(f['heartbeatS'])} s)`,
  },
  {
    key: 'memory-alarm',
    title: 'memory alarm held, then cleared',
    special: (f) =>
      `held ${s(num(f, 'alarmHeldMs'))}; blocked after ${s(num(f, 'blockedAfterMs'))}; ` +
      `resumed ${s(num(f, 'resumeAfterClearMs'))} after clearing; retry-0 publishes waited ` +
      `${s(num(f, 'retry0NotificationMs'))}`,
  },
  {
    key: 'partition-pause-minority',
    title: 'partition of the clients’ node (pause_minority)',
    special: (f) =>
      `node paused after ${s(num(f, 'minorityPausedMs'))} (net_ticktime ` +
      `${String(f['netTicktimeS'])} s); rejoined ${s(num(f, 'rejoinedMs'))} after healing`,
  },
  {
    key: 'rolling-restart-quorum',
    title: 'rolling restart of the 3 nodes, quorum queues',
    special: (f) => {
      const restarts = Array.isArray(f['restartsMs']) ? (f['restartsMs'] as number[]) : [];
      return `each node back in ${restarts.map(s).join(', ')}`;
    },
  },
];

function render(figures: Figures[]): string {
  const byScenario = new Map(figures.map((f) => [f.scenario, f]));
  const rabbit = (() => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server']).toString();
    } catch {
      return 'unknown';
    }
  })();
  const when = figures[0]?.at.slice(0, 10) ?? 'unknown';
  const lines = [
    START,
    '',
    `Measured on ${when}: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, ` +
      `RabbitMQ ${rabbit} (3 nodes on the same machine), Node.js ${process.version}. ` +
      'Load: a notification every 20 ms and a call (timeout 4 s) every 100 ms.',
    '',
    '| scenario | notifications sent / confirmed / received | lost | duplicates delivered (dropped by the cache) | calls answered / timed out / failed | recovery | longest gap (calls / notifications) | details |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { key, title, special } of SCENARIOS) {
    const f = byScenario.get(key);
    if (f === undefined) {
      lines.push(`| ${title} | not run | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${title} | ${num(f, 'notificationsSent')} / ${num(f, 'confirmed')} / ` +
        `${num(f, 'receivedDistinct')} | ${num(f, 'lost')} | ${num(f, 'duplicates')} ` +
        `(${num(f, 'duplicatesDropped')}) | ${num(f, 'answered')} / ${num(f, 'timedOut')} / ` +
        `${num(f, 'deliveryFailed')} | ${key === 'rolling-restart-quorum' ? '–' : s(num(f, 'recoveryMs'))} | ` +
        `${s(num(f, 'maxCallGapMs'))} / ${s(num(f, 'maxNotifyGapMs'))} | ${special(f)} |`,
    );
  }
  const total = (key: string): number => figures.reduce((sum, f) => sum + (num(f, key) || 0), 0);
  lines.push(
    '',
    `Over all scenarios: ${total('notificationsSent')} notifications, ${total('lost')} lost; ` +
      `${total('duplicates')} delivered twice to an endpoint, ${total('duplicatesDropped')} ` +
      'repeats dropped by the `_unique_id` cache; ' +
      `${total('calls')} calls, ${total('lateCalls')} settled later than their timeout.`,
    '',
    END,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  let file = values.from;
  let dir: string | undefined;
  if (file === undefined) {
    dir = mkdtempSync(join(os.tmpdir(), 'omt-figures-'));
    file = join(dir, 'figures.jsonl');
    writeFileSync(file, '');
    runClusterTests(file);
  }
  try {
    const figures = read(file);
    const page = readFileSync(PAGE, 'utf8');
    const start = page.indexOf(START);
    const end = page.indexOf(END);
    if (start < 0 || end < start) throw new Error(`${PAGE} has no figures markers`);
    const updated = page.slice(0, start) + render(figures) + page.slice(end + END.length);
    // Formatted as `npm run format:check` wants it (tables padded).
    const options = (await resolveConfig(PAGE)) ?? {};
    writeFileSync(PAGE, await format(updated, { ...options, filepath: PAGE }));
    process.stdout.write(`docs/reliability.md: figures of ${figures.length} scenarios\n`);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
