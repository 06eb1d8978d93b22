/**
 * oslo.metrics compatibility: with `[oslo_messaging_metrics] metrics_enabled`, the same
 * datagrams Python oslo.messaging sends to the collector's Unix socket
 * (`metrics_socket_file`), one JSON object per datagram, written as Python's
 * `json.dumps` writes it: `{"module": "oslo_messaging", "name": ..., "action": {"value":
 * ..., "action": "inc" | "observe"}, "labels": {...}}`.
 *
 * As in oslo, metrics wait in a buffer of `metrics_buffer_size` (a full buffer drops the
 * new metric with a warning) and a sender drains it in the background: a call never
 * waits for the collector and never fails because of it; a failed send is retried after
 * one second. Unix datagram sockets need the optional package `node-unix-socket`
 * (Node's `dgram` speaks UDP only).
 *
 * @module
 */
import { createRequire } from 'node:module';

import type { MetricsOptions } from '../config/types.js';
import type { RpcIncomingMessage } from '../drivers/driver.js';
import type { Logger } from '../log.js';
import type { Target } from '../target.js';
import type { DeliverEvent, SendEvent, TransportHook } from '../transport-hooks.js';
import { pyDumps } from '../wire/pyjson.js';
import { pyFloat } from '../wire/pynumbers.js';

type Labels = Record<string, string | boolean | number | null>;

/** One metric datagram, as oslo.metrics' `Metric.to_json()` writes it. */
export function metricDatagram(
  name: string,
  action: 'inc' | 'observe',
  value: number | null,
  labels: Labels,
): string {
  return pyDumps({
    module: 'oslo_messaging',
    name,
    action: { value: value === null ? null : pyFloat(value), action },
    labels,
  });
}

interface DgramSocketLike {
  sendTo(
    buf: Buffer,
    offset: number,
    length: number,
    path: string,
    cb?: (err?: Error) => void,
  ): void;
  close(): void;
}
type DgramSocketClass = new () => DgramSocketLike;

let socketClass: DgramSocketClass | null | undefined;

function loadSocketClass(): DgramSocketClass | undefined {
  if (socketClass === undefined) {
    try {
      const mod = createRequire(import.meta.url)('node-unix-socket') as {
        DgramSocket: DgramSocketClass;
      };
      socketClass = mod.DgramSocket;
    } catch {
      socketClass = null;
    }
  }
  return socketClass ?? undefined;
}

const RETRY_MS = 1000;

/** The buffer and the background sender to one collector socket. */
export class OsloMetricsSender {
  readonly #path: string;
  readonly #size: number;
  readonly #logger: Logger;
  readonly #queue: string[] = [];
  #draining = false;
  #warnedMissing = false;

  constructor(options: MetricsOptions, logger: Logger) {
    this.#path = options.metrics_socket_file;
    this.#size = options.metrics_buffer_size;
    this.#logger = logger;
  }

  /** How many metrics wait to be sent. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queue one datagram; never blocks, never throws. */
  put(datagram: string): void {
    if (this.#queue.length >= this.#size) {
      this.#logger.warn(
        'tx queues is already full(%s/%s). Fails to send the metrics(%s)',
        this.#queue.length,
        this.#size,
        datagram,
      );
      return;
    }
    this.#queue.push(datagram);
    if (!this.#draining) {
      this.#draining = true;
      setImmediate(() => this.#drain());
    }
  }

  #drain(): void {
    const Socket = loadSocketClass();
    if (Socket === undefined) {
      if (!this.#warnedMissing) {
        this.#warnedMissing = true;
        this.#logger.error(
          'metrics_enabled needs the optional package node-unix-socket (Unix datagrams); ' +
            'metrics are dropped',
        );
      }
      this.#queue.length = 0;
      this.#draining = false;
      return;
    }
    const socket = new Socket();
    const next = (): void => {
      const datagram = this.#queue[0];
      if (datagram === undefined) {
        socket.close();
        this.#draining = false;
        return;
      }
      const buf = Buffer.from(datagram);
      try {
        socket.sendTo(buf, 0, buf.length, this.#path, (err) => {
          if (err === undefined || err === null) {
            this.#queue.shift();
            next();
          } else {
            this.#retry(socket, err);
          }
        });
      } catch (err) {
        this.#retry(socket, err);
      }
    };
    next();
  }

  #retry(socket: DgramSocketLike, err: unknown): void {
    socket.close();
    this.#logger.error('Failed to send metrics: %s. Wait 1 seconds for next try.', String(err));
    setTimeout(() => this.#drain(), RETRY_MS).unref();
  }
}

/** Python's `Target` attribute: an unset field is `None` on the wire. */
const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** A hook that reports every RPC call and cast, sent and handled, as oslo does. */
export function osloMetricsHook(options: MetricsOptions, logger: Logger): TransportHook {
  const sender = new OsloMetricsSender(options, logger);
  const process = options.metrics_process_name;
  const emit = (name: string, action: 'inc' | 'observe', value: number | null, labels: Labels) =>
    sender.put(metricDatagram(name, action, value, { ...labels, process }));

  return {
    onSend(event: SendEvent) {
      const target = event.target;
      if (target === undefined || event.kind === 'notify' || event.kind === 'reply') {
        return undefined;
      }
      const labels = clientLabels(target, event.kind === 'call' ? 'call' : 'cast', event.method);
      const started = performance.now();
      emit('rpc_client_invocation_start_total', 'inc', null, labels);
      return (error) => {
        if (error !== undefined) {
          emit('rpc_client_exception_total', 'inc', null, {
            ...labels,
            exception: errorName(error),
          });
        }
        emit(
          'rpc_client_processing_seconds',
          'observe',
          (performance.now() - started) / 1000,
          labels,
        );
        emit('rpc_client_invocation_end_total', 'inc', null, labels);
      };
    },

    onDeliver(event: DeliverEvent) {
      if (event.kind !== 'rpc') return undefined;
      const labels = serverLabels(event);
      const started = performance.now();
      emit('rpc_server_invocation_start_total', 'inc', null, labels);
      return {
        end: ({ error }) => {
          if (error !== undefined) {
            emit('rpc_server_exception_total', 'inc', null, {
              ...labels,
              exception: errorName(error),
            });
          }
          emit(
            'rpc_server_processing_seconds',
            'observe',
            (performance.now() - started) / 1000,
            labels,
          );
          emit('rpc_server_invocation_end_total', 'inc', null, labels);
        },
      };
    },
  };
}

/** oslo's client labels, in its order; `timeout` is always `None` there (never passed). */
function clientLabels(
  target: Target,
  callType: 'call' | 'cast',
  method: string | undefined,
): Labels {
  return {
    call_type: callType,
    exchange: orNull(target.exchange),
    topic: orNull(target.topic),
    namespace: orNull(target.namespace),
    version: orNull(target.version),
    server: orNull(target.server),
    fanout: orNull(target.fanout),
    method: orNull(method),
    timeout: null,
  };
}

/** oslo's server labels, in its order. */
function serverLabels(event: DeliverEvent): Labels {
  const body = (event.message as RpcIncomingMessage).message;
  const target = event.target;
  const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    endpoint: null,
    namespace: str(body['namespace']),
    version: str(body['version']),
    method: str(body['method']),
    exchange: orNull(target?.exchange),
    topic: orNull(target?.topic),
    server: orNull(target?.server),
  };
}

/** The exception's class name, as Python's `ex.__class__.__name__`. */
export function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' && ctor !== '' && ctor !== 'Error' ? ctor : error.name;
}
