/**
 * Medians and spread of a benchmark run: reads the `--json` file of `bench/run.ts` (every
 * repetition of every shape and implementation) and prints a Markdown table with the
 * median, the min-max range and the spread of throughput, median latencies, and the CPU
 * per message of client + server and of the broker as median (min-max).
 *
 *   npx tsx scripts/bench-spread.ts RUN.json ["COMMAND THAT PRODUCED IT"]
 */
import { readFileSync } from 'node:fs';

interface Measurement {
  rate: number;
  p50: number;
  p99: number;
  cpuUsPerMsg?: number;
  brokerCpuUsPerMsg?: number;
}

function median(values: number[]): number {
  const s = [...values].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
      ? (s[mid] ?? NaN)
      : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** `median (min-max)`, or `-` when nothing was measured. */
function range(values: (number | undefined)[], digits = 0): string {
  const xs = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (xs.length === 0) return '-';
  const f = (x: number): string => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
}

const [path, command] = process.argv.slice(2);
if (path === undefined) {
  process.stderr.write('usage: npx tsx scripts/bench-spread.ts RUN.json ["COMMAND"]\n');
  process.exit(2);
}
const run = JSON.parse(readFileSync(path, 'utf8')) as {
  runId: string;
  results: Record<string, Record<string, Measurement[]>>;
};
const rows = [
  '| shape | impl | reps | msg/s median | msg/s min-max | spread | p50 ms | p99 ms | CPU µs/msg (client + server) | broker CPU µs/msg |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const [shape, byImpl] of Object.entries(run.results)) {
  for (const [impl, ms] of Object.entries(byImpl)) {
    if (ms.length === 0) continue;
    const rates = ms.map((m) => m.rate);
    const med = median(rates);
    const min = Math.min(...rates);
    const max = Math.max(...rates);
    const spread = med > 0 ? `±${(((max - min) / 2 / med) * 100).toFixed(0)}%` : '-';
    rows.push(
      `| ${shape} | ${impl} | ${ms.length} | ${Math.round(med)} | ${Math.round(min)}-${Math.round(max)} | ${spread} | ${median(ms.map((m) => m.p50)).toFixed(2)} | ${median(ms.map((m) => m.p99)).toFixed(2)} | ${range(ms.map((m) => m.cpuUsPerMsg))} | ${range(ms.map((m) => m.brokerCpuUsPerMsg))} |`,
    );
  }
}
process.stdout.write(`${rows.join('\n')}\n`);
if (command !== undefined)
  process.stdout.write(`\nEvery row: \`${command}\` (run ${run.runId}).\n`);
