#!/usr/bin/python3
"""A small OpenStack-like service: oslo.messaging used the way Nova uses it.

The Python half of examples/openstack. It stands in for a nova-compute host:

- configuration is oslo.config's: the nova.conf next to this script (the
  same file the Node consumer reads: transport_url, control_exchange = nova,
  [oslo_messaging_notifications] driver = messagingv2), plus a generated
  nova.conf-style file for the command-line overrides, read last;
- an RPC server on topic "compute" with server = this host's name, whose
  endpoint implements version 5.0 of a small compute API: list_instances,
  get_instance and reboot_instance;
- a Notifier with publisher_id "compute.<host>" that sends Nova's legacy
  (unversioned) notifications compute.instance.reboot.start/end on the
  configured topics ("notifications");
- unknown instances raise nova_like_exception.InstanceNotFound, an expected
  exception, as Nova's compute manager declares it.

It prints "ready" once it is listening, then one line per request. It stops on
SIGTERM, SIGINT (Ctrl-C) or end of its standard input (Ctrl-D), and exits by
itself after --max-seconds. oslo's logs go to stderr (--debug for all of them).

Run with the interpreter that has oslo.messaging (Debian: /usr/bin/python3).
"""
import argparse
import copy
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# nova_like_exception sits next to this script and must be importable by name.
sys.path.insert(0, HERE)

from oslo_config import cfg  # noqa: E402
import oslo_messaging  # noqa: E402

import nova_like_exception as exception  # noqa: E402

LOG = logging.getLogger('nova_like_service')

# As Nova does, the service's own options live in the same ConfigOpts as
# oslo.messaging's (the global cfg.CONF, which oslo.messaging also reads).
CONF = cfg.CONF
CONF.register_opts([
    cfg.StrOpt('host', default=socket.gethostname(),
               help='Name of this host: the RPC server name and the end of '
                    'the notifications\' publisher_id.'),
])

RPC_API_VERSION = '5.0'
REBOOT_TYPES = ('SOFT', 'HARD')

# A fake hypervisor's instances, by uuid.
INSTANCES = {
    'f3b9c6a2-5d1e-4c8a-9f7b-2e6d4a1c8b35': {
        'display_name': 'web-1',
        'project_id': '6f70656e737461636b20697320636f6f',
        'user_id': '8a2c1e94f5b74d3fa0e6c1d2b3a49587',
        'image_ref': '5c2e9a4b-7d3f-4e1a-8b6c-0f9d2e4a7c13',
        'flavor': {'flavorid': '2', 'name': 'm1.small', 'vcpus': 1,
                   'memory_mb': 2048, 'root_gb': 20, 'ephemeral_gb': 0},
        'created_at': '2024-05-02T09:14:27Z',
        'launched_at': '2024-05-02T09:15:03Z',
    },
    '0c7e2d94-8a3b-4f61-b5d2-9e1a7c3f6d48': {
        'display_name': 'db-1',
        'project_id': '6f70656e737461636b20697320636f6f',
        'user_id': '8a2c1e94f5b74d3fa0e6c1d2b3a49587',
        'image_ref': '5c2e9a4b-7d3f-4e1a-8b6c-0f9d2e4a7c13',
        'flavor': {'flavorid': '3', 'name': 'm1.medium', 'vcpus': 2,
                   'memory_mb': 4096, 'root_gb': 40, 'ephemeral_gb': 0},
        'created_at': '2024-05-03T16:40:11Z',
        'launched_at': '2024-05-03T16:41:52Z',
    },
}

_print_lock = threading.Lock()


def say(message):
    """One line on stdout, flushed (the runner reads it line by line)."""
    with _print_lock:
        sys.stdout.write(message + '\n')
        sys.stdout.flush()


class ComputeManager(object):
    """The RPC endpoint: compute API 5.0 in the default namespace.

    Methods take the request context first, then the caller's keyword
    arguments, as every oslo.messaging endpoint does.
    """

    target = oslo_messaging.Target(version=RPC_API_VERSION)

    def __init__(self, host, notifier):
        self.host = host
        self.notifier = notifier
        self._lock = threading.Lock()
        self._instances = {}
        for uuid, record in INSTANCES.items():
            inst = copy.deepcopy(record)
            inst.update(uuid=uuid, host=host, node=host, vm_state='active',
                        task_state=None, power_state='running')
            self._instances[uuid] = inst

    def _get(self, instance_id):
        inst = self._instances.get(instance_id)
        if inst is None:
            raise exception.InstanceNotFound(instance_id=instance_id)
        return inst

    def _notify(self, ctxt, inst, event_suffix):
        # Nova's legacy notifications: event type
        # compute.instance.<action>.<phase>, priority info, and a flat payload
        # describing the instance.
        event_type = 'compute.instance.%s' % event_suffix
        self.notifier.info(ctxt, event_type, legacy_payload(inst))
        say('  notified %s (instance %s, task_state %s)'
            % (event_type, inst['uuid'], inst['task_state']))

    def list_instances(self, ctxt):
        say('list_instances() for request %s' % ctxt.get('request_id'))
        with self._lock:
            return [instance_view(inst) for inst in self._instances.values()]

    @oslo_messaging.expected_exceptions(exception.InstanceNotFound)
    def get_instance(self, ctxt, instance_id):
        say('get_instance(%s) for request %s'
            % (instance_id, ctxt.get('request_id')))
        with self._lock:
            return instance_view(self._get(instance_id))

    @oslo_messaging.expected_exceptions(exception.InstanceNotFound)
    def reboot_instance(self, ctxt, instance_id, reboot_type):
        say('reboot_instance(%s, %s) for request %s'
            % (instance_id, reboot_type, ctxt.get('request_id')))
        with self._lock:
            inst = self._get(instance_id)
            if reboot_type not in REBOOT_TYPES:
                # Not an expected exception: oslo logs it, and the caller
                # gets it as builtins.ValueError.
                raise ValueError('reboot_type must be one of %s, not %r'
                                 % (', '.join(REBOOT_TYPES), reboot_type))
            inst['task_state'] = ('rebooting_hard' if reboot_type == 'HARD'
                                  else 'rebooting')
            self._notify(ctxt, inst, 'reboot.start')
            inst['power_state'] = 'shutdown'
            time.sleep(0.2)  # the fake hypervisor reboots
            inst['power_state'] = 'running'
            inst['task_state'] = None
            self._notify(ctxt, inst, 'reboot.end')
            return instance_view(inst)


def instance_view(inst):
    """What get_instance returns: a plain dict (Nova would send an object)."""
    return {
        'uuid': inst['uuid'],
        'display_name': inst['display_name'],
        'host': inst['host'],
        'vm_state': inst['vm_state'],
        'task_state': inst['task_state'],
        'power_state': inst['power_state'],
        'flavor': dict(inst['flavor']),
        'project_id': inst['project_id'],
        'user_id': inst['user_id'],
    }


def legacy_payload(inst):
    """A payload shaped like Nova's legacy instance notifications."""
    flavor = inst['flavor']
    return {
        'tenant_id': inst['project_id'],
        'user_id': inst['user_id'],
        'instance_id': inst['uuid'],
        'display_name': inst['display_name'],
        'hostname': inst['display_name'],
        'host': inst['host'],
        'node': inst['node'],
        'availability_zone': 'nova',
        'instance_type': flavor['name'],
        'instance_flavor_id': flavor['flavorid'],
        'instance_type_id': int(flavor['flavorid']),
        'memory_mb': flavor['memory_mb'],
        'vcpus': flavor['vcpus'],
        'root_gb': flavor['root_gb'],
        'ephemeral_gb': flavor['ephemeral_gb'],
        'disk_gb': flavor['root_gb'] + flavor['ephemeral_gb'],
        'state': inst['vm_state'],
        'state_description': inst['task_state'] or '',
        'progress': '',
        'image_ref_url': 'http://glance.example.org:9292/images/%s'
                         % inst['image_ref'],
        'created_at': inst['created_at'],
        'launched_at': inst['launched_at'],
        'terminated_at': '',
        'deleted_at': '',
        'metadata': {},
    }


# -- configuration ---------------------------------------------------------

def load_config(a):
    """Read the nova.conf files, then the command-line overrides.

    oslo.config reads options from files, later files winning; the overrides
    go into a generated nova.conf-style file read last, so they take
    precedence over every file and the rest of the code reads CONF only.
    """
    defaults, notifications = [], []
    if a.transport_url:
        defaults.append('transport_url = %s' % a.transport_url)
    if a.exchange:
        defaults.append('control_exchange = %s' % a.exchange)
    if a.host:
        defaults.append('host = %s' % a.host)
    if a.notification_topic:
        notifications.append('topics = %s' % a.notification_topic)
    args = []
    for path in a.config_file or [os.path.join(HERE, 'nova.conf')]:
        args += ['--config-file', path]
    tmpdir = tempfile.mkdtemp(prefix='nova-like-')
    try:
        if defaults or notifications:
            path = os.path.join(tmpdir, 'overrides.conf')
            with open(path, 'w') as f:
                f.write('\n'.join(['[DEFAULT]'] + defaults +
                                  ['[oslo_messaging_notifications]'] +
                                  notifications) + '\n')
            args += ['--config-file', path]
        CONF(args, project='nova', default_config_files=[])
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return CONF


# -- lifecycle -------------------------------------------------------------

def stop_on_signals_and_eof(max_seconds):
    """An Event set on SIGTERM, SIGINT or stdin EOF; exit hard at the limit."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def read_stdin():
        try:
            for _ in sys.stdin:
                pass  # input is ignored: only its end matters
        finally:
            done.set()

    threading.Thread(target=read_stdin, name='stdin', daemon=True).start()

    def deadline():
        say('time limit of %s s reached: exiting' % max_seconds)
        os._exit(3)

    timer = threading.Timer(max_seconds, deadline)
    timer.daemon = True
    timer.start()
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--config-file', action='append',
                    help='a nova.conf-style file (repeatable; default: the '
                         'nova.conf next to this script)')
    ap.add_argument('--transport-url',
                    help='overrides [DEFAULT] transport_url')
    ap.add_argument('--exchange',
                    help='overrides [DEFAULT] control_exchange (nova)')
    ap.add_argument('--host', help='overrides [DEFAULT] host (the host name)')
    ap.add_argument('--topic', default='compute',
                    help='RPC topic (default: %(default)s)')
    ap.add_argument('--notification-topic',
                    help='overrides [oslo_messaging_notifications] topics '
                         '(notifications)')
    ap.add_argument('--max-seconds', type=float, default=600,
                    help='exit after this long whatever happens '
                         '(default: %(default)s)')
    ap.add_argument('--debug', action='store_true',
                    help="oslo.messaging's debug logs on stderr")
    a = ap.parse_args()
    logging.basicConfig(
        stream=sys.stderr, level=logging.DEBUG if a.debug else logging.WARNING,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    if not a.debug:
        # py-amqp warns about frames that arrive while oslo closes a channel at
        # shutdown (harmless): keep them for --debug.
        logging.getLogger('amqp').addFilter(
            lambda record: 'during closing channel' not in record.getMessage())
    done = stop_on_signals_and_eof(a.max_seconds)

    conf = load_config(a)
    host = conf.host
    # As Nova: one transport for RPC, one for notifications (which may point
    # to another broker: [oslo_messaging_notifications] transport_url).
    transport = oslo_messaging.get_rpc_transport(conf)
    notification_transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(
        notification_transport, publisher_id='compute.%s' % host,
        serializer=oslo_messaging.JsonPayloadSerializer())
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=a.topic, server=host),
        [ComputeManager(host, notifier)], executor='threading')
    server.start()
    say('nova-like compute service on host %s: exchange %s, RPC topic %s '
        '(version %s); notifications via %s on topic(s) %s'
        % (host, conf.control_exchange, a.topic, RPC_API_VERSION,
           ','.join(conf.oslo_messaging_notifications.driver) or 'nothing',
           ','.join(conf.oslo_messaging_notifications.topics)))
    say('ready')

    while not done.wait(0.5):
        pass
    say('stopping')
    server.stop()
    server.wait()
    transport.cleanup()
    notification_transport.cleanup()
    say('stopped')
    sys.stdout.flush()
    sys.stderr.flush()
    # kombu may leave non-daemon threads behind: never hang on them.
    os._exit(0)


if __name__ == '__main__':
    try:
        main()
    except Exception:
        LOG.exception('nova-like service failed')
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(2)
