/**
 * Sending RPC replies and call-monitor heartbeats (spec §4.3, §4.4): to the default
 * exchange `""` with the caller's `_reply_q` as routing key, `mandatory` per
 * `direct_mandatory_flag`, no exchange declare, a fresh `_unique_id` on every message.
 *
 * A reply whose queue is missing (`basic.return` NO_ROUTE) is retried every 250 ms for
 * `kombu_missing_consumer_retry_timeout`; then the server gives up with oslo's log line
 * and remembers the queue as obsolete for a minute, dropping later replies to it at once.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { MessageDeliveryFailure, MessageUndeliverable } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RpcReply } from '../../wire/messages.js';
import { buildRpcReply, encodeEnvelope } from '../../wire/envelope.js';
import { ObsoleteReplyQueues } from './caches.js';
import type { RabbitDriverSettings } from './options.js';
import type { Publisher } from './publisher.js';

/** Pause between two tries of a reply whose queue is missing (oslo: 0.25 s). */
export const MISSING_QUEUE_RETRY_INTERVAL_MS = 250;

/** See the module comment. */
export class ReplySender {
  readonly #settings: RabbitDriverSettings;
  readonly #logger: Logger;
  readonly #publisher: () => Publisher;
  readonly #obsolete = new ObsoleteReplyQueues();

  constructor(settings: RabbitDriverSettings, logger: Logger, publisher: () => Publisher) {
    this.#settings = settings;
    this.#logger = logger;
    this.#publisher = publisher;
  }

  /**
   * Send the final reply (`ending: true`). Resolves once the broker confirmed it, or once
   * the reply was abandoned because its queue is gone (logged). Rejects with TypeError
   * for a result JSON can't carry (before anything is sent) and with
   * `MessageDeliveryFailure`/`MessagingTimeout` when the broker stays away.
   */
  async sendReply(
    replyQ: string,
    msgId: string,
    reply: RpcReply,
    signal?: AbortSignal,
  ): Promise<void> {
    const result = reply.failure === undefined ? reply.result : null;
    const failure = reply.failure ?? null;
    // Encoded up front so an unserialisable result fails before any publish; the first
    // try sends this body, later tries a fresh one (a new _unique_id each, as oslo).
    let body: string | undefined = encodeEnvelope(
      buildRpcReply({ result, failure, ending: true, msgId }),
    );
    if (!this.#valid(replyQ, msgId)) return;
    const retryFor = this.#settings.missingConsumerRetryTimeoutMs;
    const started = Date.now();
    // Connection waits are bounded too: a server must not hang in wait() on a reply.
    const bound = Math.max(retryFor, this.#settings.rpcResponseTimeoutMs);
    for (;;) {
      const remaining = started + bound - Date.now();
      try {
        const first = body;
        body = undefined;
        await this.#publish(
          replyQ,
          first ?? encodeEnvelope(buildRpcReply({ result, failure, ending: true, msgId })),
          Math.max(1, remaining),
          signal,
        );
        return;
      } catch (err) {
        if (!(err instanceof MessageUndeliverable)) throw err;
        if (Date.now() - started >= retryFor) {
          this.#obsolete.add(replyQ);
          this.#logger.error(
            'The reply %s failed to send after %d seconds due to a missing queue (%s). Abandoning...',
            msgId,
            Math.round(retryFor / 1000),
            replyQ,
          );
          this.#logger.warn("%s doesn't exist, drop reply to %s", replyQ, msgId);
          return;
        }
        this.#logger.debug(
          'The reply %s could not be sent due to a missing queue (%s). Retrying...',
          msgId,
          replyQ,
        );
        await sleep(MISSING_QUEUE_RETRY_INTERVAL_MS, undefined, signal ? { signal } : undefined);
      }
    }
  }

  /**
   * Send a call-monitor heartbeat (`result: null, ending: false`). Rejects with
   * `MessageDeliveryFailure` when the reply queue is missing (the caller is gone), as
   * oslo, which ends the server's watchdog.
   */
  async sendHeartbeat(replyQ: string, msgId: string, timeoutMs: number): Promise<void> {
    if (!this.#valid(replyQ, msgId)) {
      throw new MessageDeliveryFailure('Heartbeat send failed. Missing queue');
    }
    try {
      const body = encodeEnvelope(
        buildRpcReply({ result: null, failure: null, ending: false, msgId }),
      );
      await this.#publish(replyQ, body, timeoutMs, undefined);
    } catch (err) {
      if (err instanceof MessageUndeliverable) {
        throw new MessageDeliveryFailure('Heartbeat send failed. Missing queue', { cause: err });
      }
      throw err;
    }
  }

  #valid(replyQ: string, msgId: string): boolean {
    if (!this.#obsolete.has(replyQ)) return true;
    this.#logger.warn("%s doesn't exist, drop reply to %s", replyQ, msgId);
    return false;
  }

  #publish(
    replyQ: string,
    body: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return this.#publisher().publish(
      {
        exchange: undefined,
        exchangeName: '',
        routingKey: replyQ,
        mandatory: this.#settings.directMandatory,
      },
      Buffer.from(body, 'utf8'),
      { timeoutMs, signal },
    );
  }
}
