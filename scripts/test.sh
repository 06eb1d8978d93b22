#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every check and
# every test (unit, functional on RabbitMQ, interop against Python oslo.messaging).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund
npm run typecheck
npm run lint
npm run format:check
npm run build
npm run test:all
