#!/usr/bin/env bash
# A benchmark run that can be compared with another on a shared machine: its own virtual
# host (so nothing else's queues share the broker's bookkeeping), the machine's load before
# and after, every repetition kept (bench/run.ts interleaves implementations and rotates
# their order), then medians and spread, and the exact command with every table.
#
#   bash scripts/bench-reproducible.sh OUTDIR [bench/run.ts options...]
#
# The virtual host must exist; an operator creates it once:
#   rabbitmqctl add_vhost omtb && rabbitmqctl set_permissions -p omtb guest '.*' '.*' '.*'
# BENCH_URL overrides the broker (default rabbit://guest:guest@127.0.0.1:5672/omtb).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: bench-reproducible.sh OUTDIR [options]}"
shift
mkdir -p "$out"
url="${BENCH_URL:-rabbit://guest:guest@127.0.0.1:5672/omtb}"
npx tsx src/cli/main.ts queues --url "$url" --only-given > /dev/null || {
  echo "cannot use $url (see the message above); create the virtual host first" >&2
  exit 4
}
command="npx tsx bench/run.ts --url $url $*"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "cores: $(nproc)"
  echo "load before (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
# shellcheck disable=SC2086
npx tsx bench/run.ts --url "$url" --json "$out/run.json" "$@" > "$out/report.md"
echo "load after (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
npx tsx scripts/bench-spread.ts "$out/run.json" "$command" > "$out/spread.md"
cat "$out/machine.txt" "$out/spread.md"
