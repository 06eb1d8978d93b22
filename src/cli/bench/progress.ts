/**
 * A progress bar on stderr, redrawn a few times a second; drawn only when stderr is a
 * terminal, so logs and pipes stay clean.
 *
 * @module
 */

/** What the bar shows: done out of a total (messages), or elapsed out of a duration. */
export interface ProgressState {
  readonly label: string;
  readonly done: number;
  /** Expected messages; `undefined` when the run is bounded by time. */
  readonly total: number | undefined;
  readonly elapsedMs: number;
  /** The run's duration; `undefined` when bounded by a message count. */
  readonly durationMs: number | undefined;
}

const WIDTH = 30;

/** One line of the bar, without the carriage return. */
export function renderProgress(s: ProgressState): string {
  const fraction =
    s.total !== undefined && s.total > 0
      ? s.done / s.total
      : s.durationMs !== undefined && s.durationMs > 0
        ? s.elapsedMs / s.durationMs
        : 0;
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * WIDTH);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
  const rate = s.elapsedMs > 0 ? Math.round((s.done * 1000) / s.elapsedMs) : 0;
  const count = s.total === undefined ? `${s.done}` : `${s.done}/${s.total}`;
  const pct = `${Math.floor(clamped * 100)}%`.padStart(4);
  return `${s.label} [${bar}] ${pct} ${count} ${rate} msg/s`;
}

/**
 * Starts redrawing every 200 ms from `state()`, when `stream` is a TTY. `stop()` clears
 * the line and the timer.
 */
export function startProgress(
  state: () => ProgressState,
  stream: NodeJS.WriteStream = process.stderr,
): { stop: () => void } {
  if (stream.isTTY !== true) return { stop: () => undefined };
  const draw = (): void => {
    const columns = stream.columns > 0 ? stream.columns : 100;
    stream.write(`\r${renderProgress(state()).slice(0, columns - 1)}\x1b[K`);
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  draw();
  return {
    stop: () => {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}
