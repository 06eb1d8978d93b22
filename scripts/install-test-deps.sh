#!/usr/bin/env bash
# Installs and starts what the functional and interop tests need on a Debian machine:
# RabbitMQ on 127.0.0.1:5672 (guest/guest), Python oslo.messaging (Debian's
# python3-oslo.messaging, the interop peer) and the oslo.metrics collector
# (python3-oslo.metrics). Safe to run again: it only does what is
# missing. Needs root (or sudo) for apt-get.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "install-test-deps: need root to run: $*" >&2
    return 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -q
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

if ! dpkg -s python3-oslo.messaging >/dev/null 2>&1; then
  echo "install-test-deps: installing python3-oslo.messaging"
  apt_install python3-oslo.messaging
fi

# The oslo.metrics collector, for test/interop/oslo-metrics.test.ts.
if ! dpkg -s python3-oslo.metrics >/dev/null 2>&1; then
  echo "install-test-deps: installing python3-oslo.metrics"
  apt_install python3-oslo.metrics
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "install-test-deps: installing rabbitmq-server"
  apt_install rabbitmq-server
fi

if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
  echo "install-test-deps: starting RabbitMQ"
  as_root rabbitmq-server -detached
fi
# Wait until the broker answers (at most 120 s).
for _ in $(seq 1 120); do
  if as_root rabbitmqctl -q await_startup >/dev/null 2>&1; then break; fi
  sleep 1
done
as_root rabbitmqctl -q await_startup
echo "install-test-deps: RabbitMQ is up; python3-oslo.messaging $(dpkg-query -W -f='${Version}' python3-oslo.messaging)"
