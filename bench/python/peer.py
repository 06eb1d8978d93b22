#!/usr/bin/python3
"""Bench peer on Python oslo.messaging (Debian's 14.0.3), through its public API.

Run with /usr/bin/python3, driven by bench/run.ts over stdin/stdout (one JSON
object per line; see bench/protocol.ts):

  peer.py server --url URL --exchange X --rpc-topic T --notify-topic N --server S
  peer.py client --url URL --exchange X --rpc-topic T --notify-topic N

server: an RPC server (method ``bench`` echoes ``data``) and a notification
listener (``info``), both with the threading executor, counting what arrives.
client: runs shapes on command with N messages in flight, one thread each (how
a Python service sends concurrently). CPU and peak RSS come from getrusage.
Stock oslo.messaging: nothing is patched or tuned.
"""
import argparse
import itertools
import json
import logging
import resource
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging as om

_out = threading.Lock()


def reply(message):
    line = json.dumps(message)
    with _out:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def epoch_ms():
    return time.time() * 1000.0


def usage(since):
    r = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r.ru_utime - since.ru_utime) + (r.ru_stime - since.ru_stime)
    return {
        'cpuMs': cpu * 1000.0,
        'systemMs': (r.ru_stime - since.ru_stime) * 1000.0,
        'maxRssKb': r.ru_maxrss,
    }


def rss_kb():
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() // 1024


class Counter(object):
    """A count and the first and last arrival, as the Node peers keep."""

    def __init__(self):
        self.cond = threading.Condition()
        self.reset()

    def reset(self):
        with self.cond:
            self.received = 0
            self.first_at = 0.0
            self.last_at = 0.0
            self.cpu = resource.getrusage(resource.RUSAGE_SELF)
            self.samples = []
            self.sample_every = 0

    def record(self):
        now = epoch_ms()
        with self.cond:
            if self.received == 0:
                self.first_at = now
            self.last_at = now
            self.received += 1
            if self.sample_every and self.received % self.sample_every == 0:
                self.samples.append({'received': self.received, 'rssKb': rss_kb()})
            self.cond.notify_all()

    def expect(self, count, timeout_ms, sample_every=0):
        deadline = time.monotonic() + timeout_ms / 1000.0
        with self.cond:
            self.sample_every = sample_every
            while self.received < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            result = {'received': self.received, 'firstAt': self.first_at,
                      'lastAt': self.last_at}
            if sample_every:
                result['samples'] = list(self.samples)
        result.update(usage(self.cpu))
        return result


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1,
                      int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[rank]


def make_transports(a):
    cfg.CONF([], project='omtb_bench')
    om.set_transport_defaults(control_exchange=a.exchange)
    return (om.get_rpc_transport(cfg.CONF, url=a.url),
            om.get_notification_transport(cfg.CONF, url=a.url))


def serve_commands(handle):
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            result = handle(command) or {}
            result.update({'id': command['id'], 'ok': True})
        except Exception as e:  # report, keep serving
            result = {'id': command['id'], 'ok': False,
                      'error': '%s: %s' % (type(e).__name__, e)}
        reply(result)
        if command['cmd'] == 'quit':
            break


def server(a):
    counter = Counter()
    transport, ntransport = make_transports(a)

    class RpcEndpoint(object):
        def bench(self, ctxt, seq=None, ts=None, data=None):
            counter.record()
            return data

    class NotifyEndpoint(object):
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            counter.record()

    rpc = om.get_rpc_server(
        transport, om.Target(exchange=a.exchange, topic=a.rpc_topic, server=a.server),
        [RpcEndpoint()], executor='threading')
    listener = om.get_notification_listener(
        ntransport, [om.Target(exchange=a.exchange, topic=a.notify_topic)],
        [NotifyEndpoint()], executor='threading')
    rpc.start()
    listener.start()
    reply({'event': 'ready'})

    def handle(command):
        if command['cmd'] == 'reset':
            counter.reset()
        elif command['cmd'] == 'expect':
            return counter.expect(command['count'], command['timeoutMs'],
                                  command.get('sampleEvery', 0))
        return {}

    serve_commands(handle)
    for s in (rpc, listener):
        s.stop()
        s.wait()
    transport.cleanup()
    ntransport.cleanup()


def client(a):
    transport, ntransport = make_transports(a)
    rpc = om.get_rpc_client(transport, om.Target(exchange=a.exchange, topic=a.rpc_topic),
                            timeout=60)
    notifier = om.Notifier(ntransport, publisher_id='bench', driver='messagingv2',
                           topics=[a.notify_topic])
    send = {
        'notify': lambda p: notifier.info({}, 'oslo_messaging.bench', p),
        'cast': lambda p: rpc.cast({}, 'bench', **p),
        'call': lambda p: rpc.call({}, 'bench', **p),
    }
    reply({'event': 'ready'})

    def run(command):
        fn = send[command['shape']]
        data = 'x' * command['payloadSize']
        seqs = itertools.count()
        since = resource.getrusage(resource.RUSAGE_SELF)
        start_at = epoch_ms()
        # A number of messages (bench/frames.ts), or else a duration.
        limit = command.get('messages')
        deadline = (float('inf') if limit is not None
                    else time.perf_counter() + command['durationMs'] / 1000.0)
        latencies = []
        errors = []

        def worker():
            mine = []
            while time.perf_counter() < deadline:
                seq = next(seqs)
                if limit is not None and seq >= limit:
                    break
                payload = {'seq': seq, 'ts': epoch_ms(), 'data': data}
                t0 = time.perf_counter()
                try:
                    fn(payload)
                    mine.append((time.perf_counter() - t0) * 1000.0)
                except Exception as e:
                    errors.append('%s: %s' % (type(e).__name__, e))
            latencies.extend(mine)

        threads = [threading.Thread(target=worker)
                   for _ in range(command['concurrency'])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        latencies.sort()
        result = {'sent': len(latencies), 'errors': len(errors),
                  'startAt': start_at, 'endAt': epoch_ms(),
                  'p50': percentile(latencies, 50), 'p90': percentile(latencies, 90),
                  'p99': percentile(latencies, 99)}
        if errors:
            result['firstError'] = errors[0]
        result.update(usage(since))
        return result

    def handle(command):
        if command['cmd'] == 'run':
            return run(command)
        return {}

    serve_commands(handle)
    transport.cleanup()
    ntransport.cleanup()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=['server', 'client'])
    p.add_argument('--url', required=True)
    p.add_argument('--exchange', required=True)
    p.add_argument('--rpc-topic', required=True)
    p.add_argument('--notify-topic', required=True)
    p.add_argument('--server', default='bench')
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    if a.role == 'server':
        server(a)
    else:
        client(a)


if __name__ == '__main__':
    main()
