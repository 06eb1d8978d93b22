/**
 * Medians and spread of a benchmark run: reads the `--json` file of `bench/run.ts` (every
 * repetition of every shape and implementation) and prints a Markdown table with the
 * median, the min-max range and the spread of throughput, and median latencies.
 *
 *   npx tsx scripts/bench-spread.ts RUN.json ["COMMAND THAT PRODUCED IT"]
 */
import { readFileSync } from 'node:fs';

interface Measurement {
  rate: number;
  p50: number;
  p99: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
      ? (s[mid] ?? NaN)
      : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
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
  '| shape | impl | reps | msg/s median | msg/s min-max | spread | p50 ms | p99 ms |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const [shape, byImpl] of Object.entries(run.results)) {
  for (const [impl, ms] of Object.entries(byImpl)) {
    const rates = ms.map((m) => m.rate);
    const med = median(rates);
    const min = Math.min(...rates);
    const max = Math.max(...rates);
    const spread = med > 0 ? `±${(((max - min) / 2 / med) * 100).toFixed(0)}%` : '-';
    rows.push(
      `| ${shape} | ${impl} | ${ms.length} | ${Math.round(med)} | ${Math.round(min)}-${Math.round(max)} | ${spread} | ${median(ms.map((m) => m.p50)).toFixed(2)} | ${median(ms.map((m) => m.p99)).toFixed(2)} |`,
    );
  }
}
process.stdout.write(`${rows.join('\n')}\n`);
if (command !== undefined)
  process.stdout.write(`\nEvery row: \`${command}\` (run ${run.runId}).\n`);
