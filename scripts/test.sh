#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every check and
# every test (unit, functional on RabbitMQ, interop against Python oslo.messaging, and the
# fault tests on a private RabbitMQ cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund
# oslo.metrics' Unix datagrams need node-unix-socket, an optional peer dependency. It is not
# in the lock file: its package names optional platform builds that the registry does not
# serve, which `npm ci` refuses; `npm install` skips them and takes the linux-x64 build.
npm install --no-save --no-audit --no-fund node-unix-socket@0.2.7
npm run typecheck
npm run lint
npm run format:check
npm run build
# The public surface (etc/*.api.md) must match what the build declares: a change to it
# shows in review as a change to those files (`npm run api:update` rewrites them).
npm run api:check
npm run test:all
# The interop suite again against upstream HEAD (../shared/peers), classic and modern options.
npm run test:interop:head
# A private 3-node RabbitMQ cluster (its own nodes, ports and folder; the broker on 5672 is
# left alone): failover, crashes, partitions, silent brokers, memory alarms.
npm run test:cluster
