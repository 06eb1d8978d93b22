/**
 * Stable names for reply and fanout queues (`use_queue_manager`, upstream HEAD): the random
 * uuid in `reply_<uuid>` and `<topic>_fanout_<uuid>` becomes `<hostname>:<processname>:<n>`,
 * where `n` counts the queues this process has named, from 1. A service that restarts and
 * creates its transports and servers in the same order gets the same names back, so its
 * queues (and the messages sent to them meanwhile) are found again instead of piling up.
 *
 * Python keeps the counter in a shared-memory file so that the forked workers of one
 * service share it and a restart (new process group) starts it over. A Node process has
 * no forked workers sharing a transport, so the counter lives in the process, shared by
 * every transport with the same hostname and processname, and starts over with the
 * process. Two processes on one host must therefore use different `processname`s, as two
 * Python services must.
 *
 * @module
 */
import { hex32 } from '../../wire/envelope.js';

/** Gives the unique part of a new reply or fanout queue name. */
export type QueueUniqueSource = () => string;

const counters = new Map<string, number>();

/** The random source: a uuid4 as 32 hex digits, as oslo without the queue manager. */
export const randomQueueUnique: QueueUniqueSource = () => hex32();

/**
 * The queue manager's source for `hostname` and `processname`: `host:proc:1`, `host:proc:2`,
 * ... shared by every caller in this process with the same pair.
 * @param counterScope - tests pass a fresh map to simulate a restarted process
 */
export function queueManagerUnique(
  hostname: string,
  processname: string,
  counterScope: Map<string, number> = counters,
): QueueUniqueSource {
  const key = `${hostname}:${processname}`;
  return () => {
    const next = (counterScope.get(key) ?? 0) + 1;
    counterScope.set(key, next);
    return `${key}:${next}`;
  };
}
