/**
 * A progress bar on stderr for bench runs longer than a few seconds, drawn by cli-progress
 * (a widely used, maintained terminal progress bar) and only when stderr is a terminal,
 * so logs and pipes stay clean.
 *
 * @module
 */
import { SingleBar } from 'cli-progress';

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

/** Runs shorter than this get no bar: it would only flash. */
export const PROGRESS_DELAY_MS = 2_000;

/** Position and total of the bar: messages, or tenths of a second for timed runs. */
function scale(s: ProgressState): { value: number; total: number } {
  if (s.total !== undefined) return { value: Math.min(s.done, s.total), total: s.total };
  const total = Math.max(1, Math.round((s.durationMs ?? 0) / 100));
  return { value: Math.min(total, Math.round(s.elapsedMs / 100)), total };
}

/**
 * Starts updating the bar every 200 ms from `state()` once the run has lasted
 * {@link PROGRESS_DELAY_MS}, when `stream` is a terminal. `stop()` removes it.
 */
export function startProgress(
  state: () => ProgressState,
  stream: NodeJS.WriteStream = process.stderr,
): { stop: () => void } {
  if (stream.isTTY !== true) return { stop: () => undefined };
  let bar: SingleBar | undefined;
  const payload = (s: ProgressState): Record<string, string> => ({
    label: s.label,
    count: s.total === undefined ? String(s.done) : `${s.done}/${s.total}`,
    rate: String(s.elapsedMs > 0 ? Math.round((s.done * 1000) / s.elapsedMs) : 0),
  });
  const update = (): void => {
    const s = state();
    const { value, total } = scale(s);
    if (bar === undefined) {
      if (s.elapsedMs < PROGRESS_DELAY_MS) return;
      bar = new SingleBar({
        stream,
        format: '{label} [{bar}] {percentage}% {count} {rate} msg/s',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: true,
        // The bench's own timer drives updates: one clock for the bar and the numbers.
        noTTYOutput: false,
      });
      bar.start(total, value, payload(s));
      return;
    }
    bar.setTotal(total);
    bar.update(value, payload(s));
  };
  const timer = setInterval(update, 200);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      bar?.stop();
    },
  };
}
