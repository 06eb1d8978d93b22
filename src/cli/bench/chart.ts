/**
 * A small SVG chart of a bench run: throughput per role on the left, latency percentiles
 * (p50, p90, p99) per role on the right, so one picture answers both questions. With a
 * raw-amqplib baseline, each bar is a pair: the baseline, then this library.
 *
 * @module
 */
import { ratiosOf, type ClientSummary, type ServerSummary } from './stats.js';

const W = 860;
const H = 320;
const PANEL = 380;
const TOP = 40;
const BOTTOM = 80;
const COLORS = ['#4c78a8', '#f58518', '#54a24b'];
/** Baseline and library: a light and a dark shade. */
const PAIR_COLORS = ['#9ecae9', '#4c78a8'];
const RAW = 'raw-amqplib';
const LIBRARY = 'oslo-messaging';

/** A bar series: its name in tooltips, its colour. */
interface Series {
  readonly name: string;
  readonly color: string;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

/** A round axis maximum at or above `n`. */
function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= n) ?? n;
}

function bars(
  x0: number,
  title: string,
  unit: string,
  groups: { label: string; values: number[] }[],
  series: readonly Series[],
  legend: readonly Series[] = series,
): string {
  const height = H - TOP - BOTTOM;
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values.map(finite))));
  const groupWidth = PANEL / Math.max(1, groups.length);
  const barWidth = Math.min(40, (groupWidth - 16) / Math.max(1, series.length));
  const out = [
    `<text x="${x0}" y="20" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${x0}" y1="${TOP + height}" x2="${x0 + PANEL}" y2="${TOP + height}" stroke="#333"/>`,
    `<text x="${x0}" y="${TOP - 6}" font-size="11">${esc(`${max} ${unit}`)}</text>`,
  ];
  groups.forEach((g, gi) => {
    const gx = x0 + gi * groupWidth + 8;
    g.values.forEach((v, si) => {
      const h = (finite(v) / max) * height;
      const x = gx + si * barWidth;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${(TOP + height - h).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${series[si]?.color ?? '#888'}"><title>${esc(`${g.label} ${series[si]?.name ?? ''}: ${finite(v).toFixed(2)} ${unit}`)}</title></rect>`,
      );
    });
    out.push(`<text x="${gx}" y="${TOP + height + 16}" font-size="11">${esc(g.label)}</text>`);
  });
  if (legend.length > 1) {
    const step = Math.max(70, ...legend.map((l) => 24 + l.name.length * 7));
    legend.forEach((l, si) => {
      const x = x0 + si * step;
      out.push(
        `<rect x="${x}" y="${H - 22}" width="10" height="10" fill="${l.color}"/>`,
        `<text x="${x + 14}" y="${H - 13}" font-size="11">${esc(l.name)}</text>`,
      );
    });
  }
  return out.join('\n');
}

function svg(body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const PERCENTILES = ['p50', 'p90', 'p99'] as const;

/** Baseline and library side by side, role by role, with the library/raw ratios. */
function comparisonChart(
  reports: readonly (ClientSummary | ServerSummary)[],
  title: string,
): string {
  const libs = reports.filter((r) => r.implementation === LIBRARY);
  const rawOf = (role: string): ClientSummary | ServerSummary | undefined =>
    reports.find((r) => r.implementation === RAW && r.role === role);
  const pair: Series[] = [
    { name: RAW, color: PAIR_COLORS[0] ?? '#888' },
    { name: LIBRARY, color: PAIR_COLORS[1] ?? '#888' },
  ];
  const ratios = ratiosOf(reports)
    .map((r) => `${r.role} ${Number.isFinite(r.throughput) ? r.throughput.toFixed(2) : '-'}x`)
    .join(', ');
  return svg([
    bars(
      20,
      `${title}: throughput`,
      'msg/s',
      libs.map((r) => ({ label: r.role, values: [rawOf(r.role)?.rate ?? NaN, r.rate] })),
      pair,
    ),
    bars(
      W / 2 + 20,
      'latency p50, p90, p99',
      'ms',
      libs.map((r) => ({
        label: r.role,
        values: PERCENTILES.flatMap((p) => [rawOf(r.role)?.latencyMs[p] ?? NaN, r.latencyMs[p]]),
      })),
      PERCENTILES.flatMap((p) => pair.map((s) => ({ name: `${p} ${s.name}`, color: s.color }))),
      pair,
    ),
    `<text x="20" y="${H - 46}" font-size="11">${esc(`${LIBRARY}/${RAW} throughput: ${ratios}`)}</text>`,
  ]);
}

/**
 * The chart of a run's reports, as an SVG document. Reports of a `--baseline` run (with an
 * `implementation`) are drawn in pairs, the raw-amqplib baseline beside the library.
 */
export function benchChart(
  reports: readonly (ClientSummary | ServerSummary)[],
  title: string,
): string {
  if (reports.some((r) => r.implementation === RAW)) return comparisonChart(reports, title);
  const groups = reports.map((r) => ({ r, label: r.role }));
  const color = (i: number): string => COLORS[i % COLORS.length] ?? '#888';
  return svg([
    bars(
      20,
      `${title}: throughput`,
      'msg/s',
      groups.map((g) => ({ label: g.label, values: [g.r.rate] })),
      [{ name: 'msg/s', color: color(0) }],
    ),
    bars(
      W / 2 + 20,
      'latency percentiles',
      'ms',
      groups.map((g) => ({
        label: g.label,
        values: [g.r.latencyMs.p50, g.r.latencyMs.p90, g.r.latencyMs.p99],
      })),
      PERCENTILES.map((name, i) => ({ name, color: color(i) })),
    ),
  ]);
}
