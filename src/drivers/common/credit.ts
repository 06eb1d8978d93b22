/**
 * A listener's credit: at most `limit` messages handed to its server and not yet settled,
 * across all of the listener's queues (the server's `maxUnsettled`). Every driver bounds
 * what a process holds with it: the fake broker stops delivering to a listener without
 * credit (as RabbitMQ's prefetch does), the rabbit listener keeps what arrives beyond it
 * in a buffer bounded by its consumers' prefetch and hands it over as credit comes back.
 *
 * @module
 */
export class Credit {
  /** The most unsettled messages. */
  readonly limit: number;
  #unsettled = 0;

  /** @throws RangeError unless `limit` is a positive integer or `Infinity` */
  constructor(limit: number) {
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
      throw new RangeError(`maxUnsettled must be a positive integer, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Messages handed over and not settled. */
  get unsettled(): number {
    return this.#unsettled;
  }

  /** Whether one more message may be handed over. */
  get available(): boolean {
    return this.#unsettled < this.limit;
  }

  /** One message handed over. */
  take(): void {
    this.#unsettled++;
  }

  /** One message settled (a settle without a take is ignored). */
  give(): void {
    if (this.#unsettled > 0) this.#unsettled--;
  }
}
