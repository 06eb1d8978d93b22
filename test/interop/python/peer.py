#!/usr/bin/python3
"""Python oslo.messaging peer for the interop suite.

Run with Debian's interpreter (``/usr/bin/python3``), which has
python3-oslo.messaging 14.0.3. One subcommand per role:

  rpc-server   an RPC server (echo, record, slow, errors, a namespaced and
               versioned endpoint, rpc_ping_enabled)
  rpc-client   an RPC client driven by commands on stdin
  notifier     a Notifier driven by commands on stdin
  listener     a notification listener (plain, pool, requeue, batch, filter)

Protocol: every line on stdout is one JSON object with an ``event`` key
(``ready``, ``dispatch``, ``result``, ``sent``, ``notification``, ``batch``,
``reply_queue``, ``heartbeat``, ``raw``, ``stopped``, ``fatal``, ``timeout``).
Interactive roles read one JSON command per line on stdin and answer with an
event carrying the command's ``id``. Every role stops cleanly on stdin EOF,
on the command ``{"op": "stop"}``, on SIGTERM or SIGINT, and exits by itself
after ``--max-seconds`` so that nothing can hang a test run. Logs go to stderr.
"""
import argparse
import concurrent.futures
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oslo_config import cfg  # noqa: E402
import oslo_messaging  # noqa: E402
from oslo_messaging import rpc  # noqa: E402

import interop_exc  # noqa: E402



def _number_corpus():
    """The numbers of test/fixtures/python/numbers.py (not importable by name)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                        'fixtures', 'python', 'numbers.py')
    spec = importlib.util.spec_from_file_location('omti_number_corpus', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CORPUS


NUMBER_CORPUS = _number_corpus()

LOG = logging.getLogger('omti.peer')
PRIORITIES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample']

_out_lock = threading.Lock()


def jsonable(value):
    """Make a value JSON-safe without losing what JSON can represent."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [jsonable(v) for v in value]
        return repr(value)


def emit(event, **fields):
    rec = {'event': event}
    rec.update(fields)
    if event == 'ready':
        # Which oslo.messaging runs: upstream HEAD has the queue manager, 14.0.3 not.
        from oslo_messaging._drivers import amqpdriver
        rec['oslo_head'] = hasattr(amqpdriver, 'QManager')
    line = json.dumps(jsonable(rec))
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def exact_equal(a, b):
    """Equal values of the same types: int is not float, NaN equals NaN, -0.0 is not 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(exact_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(exact_equal(a[k], b[k]) for k in a)
    return a == b


def describe_exception(e):
    d = {
        'class': type(e).__name__,
        'module': type(e).__module__,
        'mro': [c.__module__ + '.' + c.__name__ for c in type(e).__mro__],
        'str': str(e),
        'args': jsonable(list(e.args)),
        'kwargs': jsonable(getattr(e, 'kwargs', None)),
    }
    if isinstance(e, oslo_messaging.RemoteError):
        d['remote'] = {'exc_type': e.exc_type, 'value': e.value,
                       'traceback': jsonable(e.traceback)}
    return d


# -- configuration ---------------------------------------------------------

def load_conf(a):
    """Load cfg.CONF from an ini file, as a real service does.

    Real services use the global cfg.CONF: oslo.messaging reads some options
    (rpc_ping_enabled, [oslo_messaging_metrics]) only from there.
    """
    lines = ['[DEFAULT]',
             'transport_url = %s' % a.url,
             'control_exchange = %s' % a.exchange,
             'rpc_response_timeout = %d' % a.rpc_response_timeout,
             'rpc_ping_enabled = true',
             'executor_thread_pool_size = %d' % a.thread_pool_size]
    for kv in a.default_opt:
        lines.append('%s = %s' % tuple(kv.split('=', 1)))
    lines.append('[oslo_messaging_rabbit]')
    rabbit = {}
    for kv in a.rabbit_opt:  # a later --rabbit-opt of the same option wins
        key, value = kv.split('=', 1)
        rabbit[key] = value
    for key, value in rabbit.items():
        lines.append('%s = %s' % (key, value))
    # HEAD's queue manager takes a file lock there (ignored by 14.0.3).
    lock_path = os.path.join(tempfile.gettempdir(), 'omti-peer-locks')
    os.makedirs(lock_path, exist_ok=True)
    lines += ['[oslo_concurrency]', 'lock_path = %s' % lock_path]
    tmpdir = tempfile.mkdtemp(prefix='omti-peer-')
    try:
        path = os.path.join(tmpdir, 'peer.conf')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        cfg.CONF(['--config-file', path], project='omti_interop')
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return cfg.CONF


def shorten_poll_backoff(a):
    """Make stop() and acks prompt.

    oslo's listeners poll the socket with a back-off that grows to 5 s when
    idle, so stop() and notification acks can lag by up to 5 s. A shorter
    cap changes no frame or message, only how soon the peer notices.
    """
    if a.stock_poll:
        return
    # impl_rabbit derives an option's bound from the constant at import
    # time, so import it (with the stock value) first.
    from oslo_messaging._drivers import amqpdriver
    from oslo_messaging._drivers import impl_rabbit  # noqa: F401
    amqpdriver.ACK_REQUEUE_EVERY_SECONDS_MAX = 0.25


def python_format(body, outer, inner):
    """Whether a body is byte for byte what oslo (Python's json.dumps) writes.

    Checks every JSON level: the outer body, the envelope's oslo.message
    string and an RPC reply's failure string. Key order is the sender's
    (json.loads keeps it), so this checks separators, escapes and number
    formatting. Returns the first level that differs, or True.
    """
    if outer is None:
        return 'not JSON'
    if json.dumps(outer) != body:
        return 'outer'
    if isinstance(outer, dict) and 'oslo.message' in outer:
        if json.dumps(inner) != outer['oslo.message']:
            return 'oslo.message'
    if isinstance(inner, dict) and isinstance(inner.get('failure'), str):
        try:
            if json.dumps(json.loads(inner['failure'])) != inner['failure']:
                return 'failure'
        except ValueError:
            return 'failure is not JSON'
    return True


def install_raw_hook(a, role):
    """See every AMQP message the rabbit driver receives, before decoding.

    Used to report the reply queues of requests (so the test can delete
    them), heartbeats received by a client, and (with --raw) whole messages.
    """
    from oslo_messaging._drivers import impl_rabbit
    orig = impl_rabbit.RabbitMessage.__init__
    seen_reply_queues = set()

    def inspect(raw):
        body = raw.body
        if isinstance(body, bytes):
            body = body.decode('utf-8', 'replace')
        try:
            outer = json.loads(body)
            inner = outer
            if isinstance(outer, dict) and 'oslo.message' in outer:
                inner = json.loads(outer['oslo.message'])
        except (TypeError, ValueError):
            outer = inner = None
        if a.raw:
            di = dict(raw.delivery_info or {})
            emit('raw', role=role, exchange=di.get('exchange'),
                 routing_key=di.get('routing_key'),
                 redelivered=di.get('redelivered'),
                 properties=jsonable(dict(raw.properties)),
                 headers=jsonable(dict(raw.headers or {})), body=body,
                 envelope=isinstance(outer, dict) and 'oslo.message' in outer,
                 inner_keys=(list(inner) if isinstance(inner, dict)
                             else None),
                 python_format=python_format(body, outer, inner))
        if not isinstance(inner, dict):
            return
        reply_q = inner.get('_reply_q')
        if reply_q and reply_q not in seen_reply_queues:
            seen_reply_queues.add(reply_q)
            emit('reply_queue', name=reply_q)
        if ('ending' in inner and not inner.get('ending') and
                inner.get('result') is None and inner.get('failure') is None):
            emit('heartbeat', msg_id=inner.get('_msg_id'))

    def wrapped(self, raw_message):
        try:
            inspect(raw_message)
        except Exception:  # never break the driver
            LOG.exception('raw hook failed')
        return orig(self, raw_message)

    impl_rabbit.RabbitMessage.__init__ = wrapped


# -- lifecycle -------------------------------------------------------------

class Lifecycle:
    """Stop on stdin EOF / {"op": "stop"} / signals; hard exit on deadline."""

    def __init__(self, a):
        self.done = threading.Event()
        self.commands = None
        signal.signal(signal.SIGTERM, lambda *_: self.done.set())
        signal.signal(signal.SIGINT, lambda *_: self.done.set())
        t = threading.Timer(a.max_seconds, self._deadline)
        t.daemon = True
        t.start()

    def _deadline(self):
        emit('timeout', message='peer reached its --max-seconds limit')
        os._exit(3)

    def read_stdin(self, on_command=None):
        def loop():
            try:
                for line in sys.stdin:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        cmd = json.loads(line)
                    except ValueError:
                        emit('error', message='bad command line: %r' % line)
                        continue
                    if cmd.get('op') == 'stop':
                        break
                    if cmd.get('op') == 'ping':
                        emit('pong', id=cmd.get('id'))
                        continue
                    if on_command is None:
                        emit('error', id=cmd.get('id'),
                             message='this role takes no commands')
                        continue
                    on_command(cmd)
            finally:
                self.done.set()

        threading.Thread(target=loop, name='stdin', daemon=True).start()

    def wait(self):
        while not self.done.wait(0.5):
            pass


def finish(code=0):
    emit('stopped')
    sys.stdout.flush()
    sys.stderr.flush()
    # oslo/kombu may leave non-daemon threads behind; never hang on them.
    os._exit(code)


# -- trace context ---------------------------------------------------------

# OpenTelemetry's instrumentation of oslo.messaging carries W3C trace context in the
# RPC request context under this key: a dict with traceparent and, when set,
# tracestate. Only the key and its format matter on the wire; the peer reproduces
# them without installing the instrumentation.
TRACE_CONTEXT_KEY = '_trace_context'


def inject_trace_context(ctxt, tracestate=None):
    trace_id = os.urandom(16).hex()
    span_id = os.urandom(8).hex()
    carrier = {'traceparent': '00-%s-%s-01' % (trace_id, span_id)}
    if tracestate:
        carrier['tracestate'] = tracestate
    ctxt = dict(ctxt)
    ctxt[TRACE_CONTEXT_KEY] = carrier
    return ctxt, {'trace_id': trace_id, 'span_id': span_id}


def read_trace_context(ctxt):
    carrier = (ctxt or {}).get(TRACE_CONTEXT_KEY) or {}
    parts = str(carrier.get('traceparent', '')).split('-')
    if len(parts) != 4:
        return {'trace_id': None, 'parent_span_id': None, 'tracestate': None}
    return {'trace_id': parts[1], 'parent_span_id': parts[2],
            'tracestate': carrier.get('tracestate')}


# -- RPC server ------------------------------------------------------------

class MainEndpoint(object):
    """Default namespace, no target: version 1.0."""

    def __init__(self, name):
        self.name = name

    def _dispatched(self, method, ctxt, args):
        emit('dispatch', server=self.name, method=method, ctxt=ctxt,
             args=args)

    def echo(self, ctxt, **kwargs):
        self._dispatched('echo', ctxt, kwargs)
        return {'server': self.name, 'args': kwargs, 'ctxt': ctxt}

    def echo_numbers(self, ctxt, **kwargs):
        self._dispatched('echo_numbers', ctxt, kwargs)
        return {'args': kwargs,
                'same_as_corpus': exact_equal(kwargs, NUMBER_CORPUS)}

    def record(self, ctxt, **kwargs):
        self._dispatched('record', ctxt, kwargs)

    def slow(self, ctxt, seconds, value=None):
        self._dispatched('slow', ctxt, {'seconds': seconds, 'value': value})
        time.sleep(seconds)
        return {'slept': seconds, 'value': value}

    def fail_builtin(self, ctxt, message):
        self._dispatched('fail_builtin', ctxt, {'message': message})
        raise ValueError(message)

    def fail_custom(self, ctxt, message=None, **kwargs):
        self._dispatched('fail_custom', ctxt,
                         dict(kwargs, message=message))
        raise interop_exc.InteropConflict(message, **kwargs)

    @rpc.expected_exceptions(KeyError)
    def fail_expected(self, ctxt, key):
        self._dispatched('fail_expected', ctxt, {'key': key})
        raise KeyError(key)

    def trace_echo(self, ctxt, **kwargs):
        # Read the request context as OpenTelemetry's oslo.messaging instrumentation
        # extracts it: W3C trace context under the context key _trace_context.
        self._dispatched('trace_echo', ctxt, kwargs)
        return dict(read_trace_context(ctxt), server=self.name)

    def _private(self, ctxt):
        self._dispatched('_private', ctxt, {})
        return 'private methods must not be reachable'


class NamespacedEndpoint(object):
    target = oslo_messaging.Target(namespace='interop_ns', version='1.3')

    def __init__(self, name):
        self.name = name

    def ns_echo(self, ctxt, **kwargs):
        emit('dispatch', server=self.name, method='ns_echo', ctxt=ctxt,
             args=kwargs, namespace='interop_ns')
        return {'server': self.name, 'namespace': 'interop_ns',
                'version': '1.3', 'args': kwargs}


def run_rpc_server(a):
    life = Lifecycle(a)
    conf = load_conf(a)
    install_raw_hook(a, 'rpc-server')
    transport = oslo_messaging.get_rpc_transport(conf)
    target = oslo_messaging.Target(topic=a.topic, server=a.server,
                                   exchange=a.target_exchange)
    server = oslo_messaging.get_rpc_server(
        transport, target,
        [MainEndpoint(a.server), NamespacedEndpoint(a.server)],
        executor=a.executor)
    server.start()
    emit('ready', role='rpc-server', pid=os.getpid(), topic=a.topic,
         server=a.server)
    life.read_stdin()
    life.wait()
    server.stop()
    server.wait()
    transport.cleanup()
    finish()


# -- RPC client ------------------------------------------------------------

def run_rpc_client(a):
    life = Lifecycle(a)
    conf = load_conf(a)
    install_raw_hook(a, 'rpc-client')
    transports = {
        'plain': oslo_messaging.get_rpc_transport(conf),
        'allowed': oslo_messaging.get_rpc_transport(
            conf, allowed_remote_exmods=a.allowed_exmods),
    }
    base = oslo_messaging.Target(topic=a.topic, exchange=a.target_exchange)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)

    def execute(cmd):
        cid = cmd.get('id')
        op = cmd.get('op')
        transport = transports[cmd.get('transport', 'plain')]
        t0 = time.monotonic()
        try:
            client = oslo_messaging.get_rpc_client(
                transport, base, **(cmd.get('client') or {}))
            if cmd.get('prepare'):
                client = client.prepare(**cmd['prepare'])
            ctxt = cmd.get('ctxt') or {}
            traced = None
            if cmd.get('trace'):
                ctxt, traced = inject_trace_context(ctxt, cmd.get('tracestate'))
            args = cmd.get('args') or {}
            if cmd.get('corpus') == 'numbers':
                args = dict(NUMBER_CORPUS)
            if op == 'call':
                value = client.call(ctxt, cmd['method'], **args)
            elif op == 'cast':
                value = client.cast(ctxt, cmd['method'], **args)
            elif op == 'can_send_version':
                value = client.can_send_version(cmd.get('version'))
            else:
                raise ValueError('unknown op %r' % (op,))
            rec = {'ok': True, 'value': value}
            if traced:
                rec['trace'] = traced
            if cmd.get('corpus') == 'numbers':
                rec['same_as_sent'] = exact_equal(value, NUMBER_CORPUS)
        except Exception as e:
            rec = {'ok': False, 'error': describe_exception(e)}
            LOG.info('command %s failed:\n%s', cid, traceback.format_exc())
        rec['elapsed'] = round(time.monotonic() - t0, 3)
        rec['reply_queue'] = getattr(transport._driver, '_reply_q', None)
        emit('result', id=cid, **rec)

    def on_command(cmd):
        pool.submit(execute, cmd)

    emit('ready', role='rpc-client', pid=os.getpid())
    life.read_stdin(on_command)
    life.wait()
    pool.shutdown(wait=True)
    queues = [getattr(t._driver, '_reply_q', None) for t in
              transports.values()]
    emit('reply_queues', names=[q for q in queues if q])
    for t in transports.values():
        t.cleanup()
    finish()


# -- notifier --------------------------------------------------------------

def run_notifier(a):
    life = Lifecycle(a)
    conf = load_conf(a)
    transport = oslo_messaging.get_notification_transport(conf)
    lock = threading.Lock()

    def on_command(cmd):
        cid = cmd.get('id')
        try:
            if cmd.get('op') != 'notify':
                raise ValueError('unknown op %r' % (cmd.get('op'),))
            ctxt = cmd.get('ctxt') or {}
            if cmd.get('request_context'):
                from oslo_context import context as o_context
                ctxt = o_context.RequestContext(**ctxt)
            notifier = oslo_messaging.Notifier(
                transport, publisher_id=cmd.get('publisher_id'),
                driver=cmd.get('driver', 'messagingv2'),
                topics=cmd['topics'], retry=cmd.get('retry'))
            payload = cmd.get('payload')
            if cmd.get('corpus') == 'numbers':
                payload = NUMBER_CORPUS
            traced = None
            if cmd.get('trace'):
                # The Notifier keeps only allow-listed context keys (14.x) or
                # none of a dict (15.0.0+), so the trace context is added below
                # it, where the transport sends the notification, as an
                # instrumentation of oslo.messaging has to.
                carrier, traced = inject_trace_context({}, cmd.get('tracestate'))
            with lock:  # keep the publish order of the commands
                if traced:
                    send = transport._send_notification

                    def traced_send(target, c, message, *args, **kwargs):
                        c = dict(c or {}, **carrier)
                        return send(target, c, message, *args, **kwargs)
                    transport._send_notification = traced_send
                try:
                    getattr(notifier, cmd['priority'])(
                        ctxt, cmd['event_type'], payload)
                finally:
                    if traced:
                        del transport._send_notification
            if traced:
                emit('sent', id=cid, ok=True, trace=traced)
            else:
                emit('sent', id=cid, ok=True)
        except Exception as e:
            emit('sent', id=cid, ok=False, error=describe_exception(e))

    emit('ready', role='notifier', pid=os.getpid())
    life.read_stdin(on_command)
    life.wait()
    transport.cleanup()
    finish()


# -- notification listener -------------------------------------------------

def make_endpoint(name, priorities, requeue_events=(), raise_events=(),
                  filter_rule=None):
    """An endpoint implementing the given priorities.

    For an event type in ``requeue_events`` it returns REQUEUE the first time
    it sees a message_id and HANDLED afterwards; ``raise_events`` likewise
    raise once.
    """
    state = {'requeued': set(), 'raised': set()}
    lock = threading.Lock()

    def handle(self, prio, ctxt, publisher_id, event_type, payload,
               metadata):
        mid = (metadata or {}).get('message_id')
        outcome = 'handled'
        with lock:
            if event_type in requeue_events and \
                    mid not in state['requeued']:
                state['requeued'].add(mid)
                outcome = 'requeue'
            elif event_type in raise_events and mid not in state['raised']:
                state['raised'].add(mid)
                outcome = 'raise'
        emit('notification', endpoint=name, priority=prio, ctxt=ctxt,
             publisher_id=publisher_id, event_type=event_type,
             payload=payload, metadata=metadata, outcome=outcome,
             same_as_corpus=exact_equal(payload, NUMBER_CORPUS))
        if outcome == 'requeue':
            return oslo_messaging.NotificationResult.REQUEUE
        if outcome == 'raise':
            raise RuntimeError('interop endpoint failure')
        return oslo_messaging.NotificationResult.HANDLED

    def method(prio):
        def m(self, ctxt, publisher_id, event_type, payload, metadata):
            return handle(self, prio, ctxt, publisher_id, event_type,
                          payload, metadata)
        m.__name__ = prio
        return m

    attrs = {p: method(p) for p in priorities}
    if filter_rule is not None:
        attrs['filter_rule'] = filter_rule
    return type('Endpoint_' + name, (object,), attrs)()


def make_batch_endpoint(name, priorities):
    def method(prio):
        def m(self, messages):
            emit('batch', endpoint=name, priority=prio, count=len(messages),
                 messages=messages)
            return oslo_messaging.NotificationResult.HANDLED
        m.__name__ = prio
        return m

    return type('BatchEndpoint_' + name, (object,),
                {p: method(p) for p in priorities})()


def run_listener(a):
    life = Lifecycle(a)
    conf = load_conf(a)
    install_raw_hook(a, 'listener')
    transport = oslo_messaging.get_notification_transport(conf)
    targets = [oslo_messaging.Target(topic=t, exchange=a.target_exchange)
               for t in a.topics.split(',')]
    priorities = a.priorities.split(',')
    if a.batch_size:
        listener = oslo_messaging.get_batch_notification_listener(
            transport, targets, [make_batch_endpoint('batch', priorities)],
            executor=a.executor, allow_requeue=a.allow_requeue,
            pool=a.pool, batch_size=a.batch_size,
            batch_timeout=a.batch_timeout)
    else:
        endpoints = []
        if a.filter:
            # First, so that once "all" has reported a message, "filtered"
            # has already decided about it.
            rule = oslo_messaging.NotificationFilter(**json.loads(a.filter))
            endpoints.append(make_endpoint('filtered', priorities,
                                           filter_rule=rule))
        endpoints.append(make_endpoint(
            'all', priorities,
            requeue_events=set(a.requeue_once_event),
            raise_events=set(a.raise_once_event)))
        listener = oslo_messaging.get_notification_listener(
            transport, targets, endpoints, executor=a.executor,
            allow_requeue=a.allow_requeue, pool=a.pool)
    listener.start()
    emit('ready', role='listener', pid=os.getpid(), topics=a.topics,
         pool=a.pool)
    life.read_stdin()
    life.wait()
    listener.stop()
    listener.wait()
    transport.cleanup()
    finish()


# -- main ------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('role', choices=['rpc-server', 'rpc-client', 'notifier',
                                     'listener'])
    ap.add_argument('--url', default='rabbit://guest:guest@127.0.0.1:5672/')
    ap.add_argument('--exchange', required=True,
                    help='[DEFAULT] control_exchange')
    ap.add_argument('--target-exchange', default=None,
                    help='Target.exchange (default: the control exchange)')
    ap.add_argument('--topic', help='RPC topic')
    ap.add_argument('--server', default=None, help='RPC server name')
    ap.add_argument('--topics', help='notification topics, comma separated')
    ap.add_argument('--priorities', default=','.join(PRIORITIES))
    ap.add_argument('--pool', default=None)
    ap.add_argument('--allow-requeue', action='store_true')
    ap.add_argument('--requeue-once-event', action='append', default=[])
    ap.add_argument('--raise-once-event', action='append', default=[])
    ap.add_argument('--filter', default=None,
                    help='JSON kwargs of a NotificationFilter for an extra '
                         '"filtered" endpoint')
    ap.add_argument('--batch-size', type=int, default=0)
    ap.add_argument('--batch-timeout', type=float, default=None)
    ap.add_argument('--allowed-exmods', default='interop_exc',
                    type=lambda s: [m for m in s.split(',') if m],
                    help='allowed_remote_exmods of the "allowed" transport')
    ap.add_argument('--executor', default='threading')
    ap.add_argument('--thread-pool-size', type=int, default=64)
    ap.add_argument('--rpc-response-timeout', type=int, default=30)
    ap.add_argument('--rabbit-opt', action='append', default=[],
                    help='name=value for [oslo_messaging_rabbit]')
    ap.add_argument('--default-opt', action='append', default=[],
                    help='name=value for [DEFAULT]')
    ap.add_argument('--raw', action='store_true',
                    help='emit every received AMQP message')
    ap.add_argument('--stock-poll', action='store_true',
                    help="keep oslo's 5 s idle poll back-off")
    ap.add_argument('--max-seconds', type=float, default=120)
    ap.add_argument('--log-level', default='WARNING')
    a = ap.parse_args()
    logging.basicConfig(
        stream=sys.stderr, level=getattr(logging, a.log_level.upper()),
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    if a.role == 'rpc-server' and not (a.topic and a.server):
        ap.error('rpc-server needs --topic and --server')
    if a.role == 'rpc-client' and not a.topic:
        ap.error('rpc-client needs --topic')
    if a.role == 'listener' and not a.topics:
        ap.error('listener needs --topics')
    run = {'rpc-server': run_rpc_server, 'rpc-client': run_rpc_client,
           'notifier': run_notifier, 'listener': run_listener}[a.role]
    shorten_poll_backoff(a)
    try:
        run(a)
    except Exception as e:
        LOG.exception('peer failed')
        emit('fatal', error=describe_exception(e))
        sys.stdout.flush()
        os._exit(2)


if __name__ == '__main__':
    main()
