#!/usr/bin/env bash
# The interop suite against upstream HEAD oslo.messaging, under both option profiles
# (classic, modern), with the peer from ../shared/peers/oslo.messaging-head beside the
# repository. Where that folder is absent (a user's own clone) it reports the run skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f ../shared/peers/oslo.messaging-head/oslo_messaging/__init__.py ]; then
  echo "interop against upstream HEAD: skipped: ../shared/peers/oslo.messaging-head is absent"
  exit 0
fi
# wire-interop compares bytes with 14.0.3's notifications (HEAD's carry no context), and
# head-interop / queue-manager-interop already run HEAD in the default run.
FILES=(
  test/interop/python-peers.test.ts
  test/interop/rpc-interop.test.ts
  test/interop/notify-interop.test.ts
)
run() {
  echo "interop against upstream HEAD, $1 options"
  OMTI_PEER=head OMTI_PROFILE="$1" node --import tsx --test --test-concurrency=1 \
    --test-reporter=spec --test-timeout=180000 "${@:2}"
}
# The variants set options of their own, some of which the modern profile excludes
# (rabbit_ha_queues): they run with the classic one.
run classic "${FILES[@]}" test/interop/variants-interop.test.ts
run modern "${FILES[@]}"
