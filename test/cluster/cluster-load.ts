/**
 * A steady load of notifications and calls through {@link Services}, with the counts a
 * fault scenario is judged by: sent, confirmed, received, duplicated, lost; calls
 * answered or failed with which typed error, and how long each took; and the longest
 * stretch without a successful call or a delivered notification (the service gap).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { MessageDeliveryFailure, MessagingTimeout } from '../../src/index.js';
import type { Services } from './cluster-services.js';

export interface LoadOptions {
  /** @default 20 */
  readonly notifyEveryMs?: number;
  /** @default 100 */
  readonly callEveryMs?: number;
  /** Each call's timeout. @default 4000 */
  readonly callTimeoutMs?: number;
  /** At most this many notifications and calls wait at once; the load pauses beyond. @default 2000 */
  readonly maxPending?: number;
}

export interface LoadCounts {
  notificationsSent: number;
  confirmed: number;
  publishFailed: number;
  receivedDistinct: number;
  receivedTotal: number;
  /** Deliveries beyond the first of a notification (not caught by the `_unique_id` cache). */
  duplicates: number;
  /** Duplicates the listener's `_unique_id` cache caught and dropped (its warnings). */
  duplicatesDropped: number;
  /** Confirmed and never delivered. */
  lost: number;
  /** Failed publishes that were delivered anyway. */
  failedButDelivered: number;
  calls: number;
  answered: number;
  timedOut: number;
  deliveryFailed: number;
  /** Calls that settled later than their timeout plus a second. */
  lateCalls: number;
  slowestCallMs: number;
  /** The longest time without an answered call, and without a delivered notification. */
  maxCallGapMs: number;
  maxNotifyGapMs: number;
  /** Notifications and calls still waiting when the load was finished. */
  pendingAtEnd: number;
  otherErrors: string[];
}

function maxGap(times: number[], from: number, to: number): number {
  const sorted = [...times].filter((x) => x >= from && x <= to).sort((a, b) => a - b);
  let gap = 0;
  let previous = from;
  for (const x of sorted) {
    gap = Math.max(gap, x - previous);
    previous = x;
  }
  return Math.max(gap, to - previous);
}

/** See the module comment. */
export class Load {
  readonly startedAt = Date.now();
  readonly callTimeoutMs: number;
  readonly #services: Services;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #confirmed = new Set<number>();
  readonly #answeredAt: number[] = [];
  /** Call seq -> when its answer came. */
  readonly #answers = new Map<number, number>();
  readonly #sentAt = new Map<number, number>();
  readonly #callSentAt = new Map<number, number>();
  readonly #maxPending: number;
  readonly #timers: NodeJS.Timeout[];
  #stoppedAt: number | undefined;
  readonly #c = {
    notificationsSent: 0,
    publishFailed: 0,
    calls: 0,
    answered: 0,
    timedOut: 0,
    deliveryFailed: 0,
    lateCalls: 0,
    slowestCallMs: 0,
    otherErrors: [] as string[],
  };

  constructor(services: Services, options: LoadOptions = {}) {
    this.#services = services;
    this.callTimeoutMs = options.callTimeoutMs ?? 4000;
    this.#maxPending = options.maxPending ?? 2000;
    this.#timers = [
      setInterval(() => this.#notify(), options.notifyEveryMs ?? 20),
      setInterval(() => this.#call(), options.callEveryMs ?? 100),
    ];
  }

  /** Notifications and calls waiting now. */
  get pending(): number {
    return this.#pending.size;
  }

  /** When the first call sent at or after `since` was answered (undefined: none yet). */
  firstAnswerSentAfter(since: number): number | undefined {
    let first: number | undefined;
    for (const [seq, at] of this.#callSentAt) {
      const answered = this.#answers.get(seq);
      if (at >= since && answered !== undefined) first = Math.min(first ?? Infinity, answered);
    }
    return first;
  }

  /** When the first notification published at or after `since` was delivered. */
  firstDeliverySentAfter(since: number): number | undefined {
    let first: number | undefined;
    for (const [seq, at] of this.#sentAt) {
      const delivered = this.#services.receivedAt.get(seq);
      if (at >= since && delivered !== undefined) first = Math.min(first ?? Infinity, delivered);
    }
    return first;
  }

  /**
   * Time from `since` until both a call and a notification sent after it succeeded
   * (undefined while either has not).
   */
  recoveredAfter(since: number): number | undefined {
    const call = this.firstAnswerSentAfter(since);
    const notification = this.firstDeliverySentAfter(since);
    if (call === undefined || notification === undefined) return undefined;
    return Math.max(call, notification) - since;
  }

  /** The counts so far (gaps measured from the start of the load to now or its stop). */
  counts(): LoadCounts {
    const received = this.#services.received;
    let distinct = 0;
    let total = 0;
    let lost = 0;
    let failedButDelivered = 0;
    for (const [seq, n] of received) {
      if (seq < 0) continue;
      distinct += 1;
      total += n;
      if (!this.#confirmed.has(seq)) failedButDelivered += 1;
    }
    for (const seq of this.#confirmed) if (!received.has(seq)) lost += 1;
    const end = this.#stoppedAt ?? Date.now();
    const deliveredAt = [...this.#services.receivedAt]
      .filter(([seq]) => seq >= 0)
      .map(([, at]) => at);
    return {
      ...this.#c,
      otherErrors: [...this.#c.otherErrors],
      confirmed: this.#confirmed.size,
      receivedDistinct: distinct,
      receivedTotal: total,
      duplicates: total - distinct,
      duplicatesDropped: this.#services.log.find(/ignoring duplicate message/, this.startedAt)
        .length,
      lost,
      failedButDelivered,
      maxCallGapMs: maxGap(this.#answeredAt, this.startedAt, end),
      maxNotifyGapMs: maxGap(deliveredAt, this.startedAt, end),
      pendingAtEnd: this.#pending.size,
    };
  }

  /**
   * Stops sending, then waits (at most `settleMs`) for every outstanding publish and call
   * to settle and every confirmed notification to arrive.
   */
  async finish(settleMs: number): Promise<LoadCounts> {
    if (this.#stoppedAt === undefined) {
      this.#stoppedAt = Date.now();
      for (const timer of this.#timers) clearInterval(timer);
    }
    const deadline = Date.now() + settleMs;
    while (this.#pending.size > 0 && Date.now() < deadline) await sleep(50);
    while (this.counts().lost > 0 && Date.now() < deadline) await sleep(100);
    // Late duplicates (redeliveries) arrive within a moment of the rest.
    await sleep(500);
    return this.counts();
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #notify(): void {
    if (this.#pending.size >= this.#maxPending) return;
    const seq = this.#c.notificationsSent++;
    this.#sentAt.set(seq, Date.now());
    this.#track(
      this.#services.notify(seq).then(
        (confirmed) => {
          if (confirmed) this.#confirmed.add(seq);
          else this.#c.publishFailed++;
        },
        (err: unknown) => this.#c.otherErrors.push(`notify ${seq}: ${String(err)}`),
      ),
    );
  }

  #call(): void {
    if (this.#pending.size >= this.#maxPending) return;
    const seq = this.#c.calls++;
    const started = Date.now();
    this.#callSentAt.set(seq, started);
    const settled = (): void => {
      const took = Date.now() - started;
      this.#c.slowestCallMs = Math.max(this.#c.slowestCallMs, took);
      if (took > this.callTimeoutMs + 1000) this.#c.lateCalls++;
    };
    this.#track(
      this.#services.call(seq, this.callTimeoutMs).then(
        (result) => {
          settled();
          if (result !== seq) {
            this.#c.otherErrors.push(`call ${seq}: wrong result ${String(result)}`);
            return;
          }
          this.#c.answered++;
          const now = Date.now();
          this.#answeredAt.push(now);
          this.#answers.set(seq, now);
        },
        (err: unknown) => {
          settled();
          if (err instanceof MessagingTimeout) this.#c.timedOut++;
          else if (err instanceof MessageDeliveryFailure) this.#c.deliveryFailed++;
          else this.#c.otherErrors.push(`call ${seq}: ${String(err)}`);
        },
      ),
    );
  }
}

/** The numbers of `counts` (without the error texts), for {@link recordFigures}. */
export function figuresOf(counts: LoadCounts): Record<string, number> {
  const { otherErrors: _ignored, ...numbers } = counts;
  return numbers;
}

/**
 * The guarantees every scenario keeps: no confirmed notification lost, every call
 * settled (answer or typed error) within its timeout, nothing left waiting, no untyped
 * error. `allowPublishFailures`: notifications the notifier gave up on (logged) are
 * allowed (they were never confirmed).
 */
export function assertGuarantees(
  counts: LoadCounts,
  options: { allowPublishFailures?: boolean; minAnsweredRatio?: number } = {},
): void {
  assert.deepEqual(counts.otherErrors.slice(0, 5), [], 'no untyped or unexpected error');
  assert.equal(counts.lost, 0, 'no confirmed notification is lost');
  if (options.allowPublishFailures !== true) {
    assert.equal(counts.publishFailed, 0, 'with retry -1 every notification is confirmed');
  }
  assert.equal(
    counts.confirmed + counts.publishFailed,
    counts.notificationsSent,
    'every publish settled',
  );
  assert.equal(
    counts.answered + counts.timedOut + counts.deliveryFailed,
    counts.calls,
    'every call settled with a reply or a typed error',
  );
  assert.equal(
    counts.lateCalls,
    0,
    `every call settled within its timeout (slowest ${counts.slowestCallMs} ms)`,
  );
  assert.equal(counts.pendingAtEnd, 0, 'nothing is left waiting');
  const ratio = options.minAnsweredRatio ?? 0.5;
  assert.ok(
    counts.answered >= counts.calls * ratio,
    `answered ${counts.answered} of ${counts.calls} calls (at least ${ratio * 100}%)`,
  );
}
