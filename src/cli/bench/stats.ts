/**
 * Benchmark bookkeeping: latency samples, percentiles, and the summaries printed at the
 * end of a run.
 *
 * @module
 */

/** Latency samples in ms, kept in a growable `Float64Array` (8 bytes a sample). */
export class Samples {
  #data = new Float64Array(1024);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  add(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  /** Percentiles (0-100) by nearest rank; `NaN` without samples. */
  percentiles(ps: readonly number[]): number[] {
    if (this.#length === 0) return ps.map(() => NaN);
    const sorted = this.#data.slice(0, this.#length).sort();
    return ps.map((p) => {
      const rank = Math.min(
        sorted.length - 1,
        Math.max(0, Math.ceil((p / 100) * sorted.length) - 1),
      );
      return sorted[rank] ?? NaN;
    });
  }
}

/** Latency percentiles in ms. */
export interface Latency {
  p50: number;
  p90: number;
  p99: number;
}

/** What a sending role reports. */
export interface ClientSummary {
  role: string;
  /** Requests that completed (confirmed by the broker, or answered for calls). */
  sent: number;
  errors: number;
  /** The first error, one line. */
  firstError: string | undefined;
  elapsedMs: number;
  /** `sent` per second of `elapsedMs`. */
  rate: number;
  /** Per-request latency: publish until confirmed, or call until answered. */
  latencyMs: Latency;
  /** With `--baseline`: which side of the comparison made this report. */
  implementation?: Implementation;
}

/** With `--baseline`: the raw-amqplib run, or this library's. */
export type Implementation = 'raw-amqplib' | 'oslo-messaging';

/** What a receiving role reports. */
export interface ServerSummary {
  role: string;
  received: number;
  /** Messages without the bench's fields (sent by something else). */
  malformed: number;
  /** From the first to the last message received. */
  elapsedMs: number;
  rate: number;
  /** Send to receipt, from the timestamp in each message (same-host clocks). */
  latencyMs: Latency;
  /** Deliveries the server gave back to the queue (requeue storms). */
  requeued?: number;
  /** With `--baseline`: which side of the comparison made this report. */
  implementation?: Implementation;
}

/** Milliseconds since the epoch with sub-ms precision: comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Percentiles of a sample set as a {@link Latency}. */
export function latencyOf(samples: Samples): Latency {
  const [p50 = NaN, p90 = NaN, p99 = NaN] = samples.percentiles([50, 90, 99]);
  return { p50, p90, p99 };
}

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

function rate(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value).toLocaleString('en-US')} msg/s` : '-';
}

/** A human-readable summary, a few lines. */
export function formatClientSummary(s: ClientSummary): string {
  const lines = [
    `${s.role}: ${s.sent} sent in ${(s.elapsedMs / 1000).toFixed(2)} s: ${rate(s.rate)}`,
    `  latency p50 ${ms(s.latencyMs.p50)}  p90 ${ms(s.latencyMs.p90)}  p99 ${ms(s.latencyMs.p99)}`,
    `  errors ${s.errors}${s.firstError === undefined ? '' : ` (first: ${s.firstError})`}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** A human-readable summary, a few lines. */
export function formatServerSummary(s: ServerSummary): string {
  const lines = [
    `${s.role}: ${s.received} received in ${(s.elapsedMs / 1000).toFixed(2)} s: ${rate(s.rate)}`,
    `  one-way latency p50 ${ms(s.latencyMs.p50)}  p90 ${ms(s.latencyMs.p90)}  p99 ${ms(s.latencyMs.p99)}`,
    `  errors ${s.malformed} (messages without the bench's fields)`,
    ...(s.requeued === undefined ? [] : [`  requeued ${s.requeued} deliveries`]),
  ];
  return `${lines.join('\n')}\n`;
}

/** The library's figures over the raw-amqplib baseline's, for one role. */
export interface Ratio {
  role: string;
  /** Library msg/s over raw msg/s: below 1 is slower. */
  throughput: number;
  /** Library latency over raw latency, per percentile: above 1 is slower. */
  p50: number;
  p90: number;
  p99: number;
}

/** Pairs each library report with the raw-amqplib report of the same role. */
export function ratiosOf(reports: readonly (ClientSummary | ServerSummary)[]): Ratio[] {
  const raw = new Map(
    reports.filter((r) => r.implementation === 'raw-amqplib').map((r) => [r.role, r]),
  );
  const div = (a: number, b: number): number => (b > 0 && Number.isFinite(a) ? a / b : NaN);
  return reports.flatMap((lib) => {
    const base = lib.implementation === 'oslo-messaging' ? raw.get(lib.role) : undefined;
    if (base === undefined) return [];
    return [
      {
        role: lib.role,
        throughput: div(lib.rate, base.rate),
        p50: div(lib.latencyMs.p50, base.latencyMs.p50),
        p90: div(lib.latencyMs.p90, base.latencyMs.p90),
        p99: div(lib.latencyMs.p99, base.latencyMs.p99),
      },
    ];
  });
}

function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}

/** One line per role: library/raw throughput and latency percentiles. */
export function formatRatios(ratios: readonly Ratio[]): string {
  return ratios
    .map(
      (r) =>
        `library/raw ${r.role}: throughput ${times(r.throughput)}  latency p50 ${times(r.p50)}  p90 ${times(r.p90)}  p99 ${times(r.p99)}\n`,
    )
    .join('');
}
