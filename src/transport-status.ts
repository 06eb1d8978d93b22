/**
 * A transport's status, folded from its driver's connection events, and the events a
 * transport emits.
 *
 * @module
 */
import type { ConnectionEvent } from './drivers/driver.js';

/**
 * Where a transport is, for health checks:
 * - `idle`: no connection opened yet (transports connect on first use);
 * - `connected`: every connection in use is up;
 * - `reconnecting`: a connection was lost and is being recovered (the broker is away);
 * - `blocked`: the broker blocked publishing (a memory or disk alarm): sends wait;
 * - `closed`: `cleanup()` was called.
 */
export type TransportStatus = 'idle' | 'connected' | 'reconnecting' | 'blocked' | 'closed';

/** The events a {@link Transport} emits, with their arguments. */
export interface TransportEventMap {
  /** A connection is up (first time or after a loss). */
  connected: [event: { readonly connection: string; readonly host: string | undefined }];
  /** A connection was lost; recovery follows. */
  disconnected: [event: { readonly connection: string; readonly reason: Error }];
  /** An attempt to (re)connect failed; the next follows after `retryInMs`. */
  reconnecting: [
    event: { readonly connection: string; readonly reason: Error; readonly retryInMs: number },
  ];
  /** The broker blocked publishing on a connection (resource alarm). */
  blocked: [event: { readonly connection: string; readonly reason: string }];
  /** The broker unblocked it. */
  unblocked: [event: { readonly connection: string }];
  /**
   * A delivered message was rejected without requeue because it is malformed (not
   * JSON, a bad envelope, not an oslo message): `kind` is `rpc`, `notification` or
   * `reply`; `reason` says why. Counted in {@link Transport.rejectedMessages}.
   */
  rejected: [
    event: {
      readonly connection: string;
      readonly kind: 'rpc' | 'notification' | 'reply';
      readonly exchange: string;
      readonly routingKey: string;
      readonly reason: Error;
    },
  ];
  /** {@link Transport.status} changed. */
  status: [status: TransportStatus];
  /** `cleanup()` finished. */
  closed: [];
}

/** The state of each of a driver's connections, folded into one {@link TransportStatus}. */
export class ConnectionStates {
  readonly #connections = new Map<string, 'up' | 'lost' | 'blocked'>();

  /** Record an event; returns the status it leaves the transport in. */
  apply(event: ConnectionEvent): TransportStatus {
    const connections = this.#connections;
    switch (event.type) {
      case 'connected':
        connections.set(event.connection, 'up');
        break;
      case 'disconnected':
      case 'reconnecting':
        connections.set(event.connection, 'lost');
        break;
      case 'blocked':
        connections.set(event.connection, 'blocked');
        break;
      case 'unblocked':
        if (connections.get(event.connection) === 'blocked')
          connections.set(event.connection, 'up');
        break;
      case 'closed':
        connections.delete(event.connection);
        break;
      case 'rejected':
        break;
    }
    return this.status();
  }

  /** `idle` without connections; `reconnecting` if one is lost; else `blocked` or `connected`. */
  status(): TransportStatus {
    let status: TransportStatus = this.#connections.size === 0 ? 'idle' : 'connected';
    for (const state of this.#connections.values()) {
      if (state === 'lost') return 'reconnecting';
      if (state === 'blocked') status = 'blocked';
    }
    return status;
  }

  clear(): void {
    this.#connections.clear();
  }
}

/** The public event (name and argument) for a connection event; `closed` has none. */
export function publicEvent(
  event: ConnectionEvent,
):
  | { [K in keyof TransportEventMap]: [K, ...TransportEventMap[K]] }[keyof TransportEventMap]
  | undefined {
  const connection = event.connection;
  switch (event.type) {
    case 'connected':
      return ['connected', { connection, host: event.host }];
    case 'disconnected':
      return ['disconnected', { connection, reason: event.reason }];
    case 'reconnecting':
      return ['reconnecting', { connection, reason: event.reason, retryInMs: event.retryInMs }];
    case 'blocked':
      return ['blocked', { connection, reason: event.reason }];
    case 'unblocked':
      return ['unblocked', { connection }];
    case 'rejected': {
      const { kind, exchange, routingKey, reason } = event;
      return ['rejected', { connection, kind, exchange, routingKey, reason }];
    }
    case 'closed':
      return undefined;
  }
}
