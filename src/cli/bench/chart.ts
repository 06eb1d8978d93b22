/**
 * A small SVG chart of a bench run: throughput per role on the left, latency percentiles
 * (p50, p90, p99) per role on the right, so one picture answers both questions.
 *
 * @module
 */
import type { ClientSummary, ServerSummary } from './stats.js';

const W = 860;
const H = 300;
const PANEL = 380;
const TOP = 40;
const BOTTOM = 60;
const COLORS = ['#4c78a8', '#f58518', '#54a24b'];

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
  series: string[],
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
        `<rect x="${x.toFixed(1)}" y="${(TOP + height - h).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[si % COLORS.length] ?? '#888'}"><title>${esc(`${g.label} ${series[si] ?? ''}: ${finite(v).toFixed(2)} ${unit}`)}</title></rect>`,
      );
    });
    out.push(`<text x="${gx}" y="${TOP + height + 16}" font-size="11">${esc(g.label)}</text>`);
  });
  if (series.length > 1) {
    series.forEach((name, si) => {
      const x = x0 + si * 70;
      out.push(
        `<rect x="${x}" y="${H - 22}" width="10" height="10" fill="${COLORS[si % COLORS.length] ?? '#888'}"/>`,
        `<text x="${x + 14}" y="${H - 13}" font-size="11">${esc(name)}</text>`,
      );
    });
  }
  return out.join('\n');
}

/** The chart of a run's reports, as an SVG document. */
export function benchChart(
  reports: readonly (ClientSummary | ServerSummary)[],
  title: string,
): string {
  const groups = reports.map((r) => ({ r, label: r.role }));
  const body = [
    bars(
      20,
      `${title}: throughput`,
      'msg/s',
      groups.map((g) => ({ label: g.label, values: [g.r.rate] })),
      ['msg/s'],
    ),
    bars(
      W / 2 + 20,
      'latency percentiles',
      'ms',
      groups.map((g) => ({
        label: g.label,
        values: [g.r.latencyMs.p50, g.r.latencyMs.p90, g.r.latencyMs.p99],
      })),
      ['p50', 'p90', 'p99'],
    ),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
