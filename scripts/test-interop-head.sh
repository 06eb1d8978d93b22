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
FILES=(
  test/interop/python-peers.test.ts
  test/interop/rpc-interop.test.ts
  test/interop/notify-interop.test.ts
)
for profile in classic modern; do
  echo "interop against upstream HEAD, ${profile} options"
  OMTI_PEER=head OMTI_PROFILE="$profile" node --import tsx --test --test-concurrency=1 \
    --test-reporter=spec --test-timeout=180000 "${FILES[@]}"
done
