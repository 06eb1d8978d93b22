#!/usr/bin/env bash
# The whole benchmark report of issue 15 (and issue 12's tracing row) in one command, in a
# form that can be compared with another run on a shared machine: its own virtual host (so
# nothing else's queues share the broker's bookkeeping), the machine's load before and
# after, every repetition kept (bench/run.ts interleaves implementations and rotates their
# order), medians with spread, the exact command with every table, and the AMQP frames per
# message (bench/frames.ts).
#
#   bash scripts/bench-reproducible.sh OUTDIR [bench/run.ts options...]
#
# Default: every shape, ours, oslo and raw, 5 repetitions of 3 s, --tracing, the memory
# checks over 1,000,000 messages (about 35 minutes on 2 cores: 10 for the shapes, 20 for
# the memory checks). Options given are added after the defaults (bench/run.ts takes the
# last of a repeated option): for a quick check,
#   bash scripts/bench-reproducible.sh OUTDIR --quick
#
# The virtual host `omtb` is created (with permissions for guest) when it is missing and
# rabbitmqctl can do it; BENCH_URL overrides the broker
# (default rabbit://guest:guest@127.0.0.1:5672/omtb).
#
# Writes OUTDIR/machine.txt (date, cores, load before and after), report.md (bench/run.ts's
# report: issue 15's table with its goals, tracing, memory), run.json (every measurement),
# spread.md (median, min-max and spread of every metric per shape and implementation),
# frames.md (bench/frames.ts), and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: bench-reproducible.sh OUTDIR [options]}"
shift
mkdir -p "$out"
url="${BENCH_URL:-rabbit://guest:guest@127.0.0.1:5672/omtb}"
if [ -z "${BENCH_URL:-}" ] && command -v rabbitmqctl > /dev/null; then
  if ! rabbitmqctl -q list_vhosts 2> /dev/null | grep -qx omtb; then
    rabbitmqctl -q add_vhost omtb
    rabbitmqctl -q set_permissions -p omtb guest '.*' '.*' '.*'
  fi
fi
npx tsx src/cli/main.ts queues --url "$url" --only-given > /dev/null || {
  echo "cannot use $url (see the message above); create the virtual host first:" >&2
  echo "  rabbitmqctl add_vhost omtb && rabbitmqctl set_permissions -p omtb guest '.*' '.*' '.*'" >&2
  exit 4
}
args=(--url "$url" --tracing "$@")
command="npx tsx bench/run.ts ${args[*]}"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "cores: $(nproc)"
  echo "load before (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: $command --json $out/run.json"
} > "$out/machine.txt"
npx tsx bench/run.ts "${args[@]}" --json "$out/run.json" > "$out/report.md"
npx tsx bench/frames.ts --url "$url" > "$out/frames.md"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load after (1/5/15 min): $load_after" >> "$out/machine.txt"
if awk -v l="${load_after%% *}" -v c="$(nproc)" 'BEGIN { exit !(l > c) }'; then
  echo "the load average was above the core count: others were busy; read the ratios" >> "$out/machine.txt"
fi
npx tsx scripts/bench-spread.ts "$out/run.json" "$command" > "$out/spread.md"
cat "$out/machine.txt" && echo && cat "$out/report.md" && echo && cat "$out/spread.md" && echo && cat "$out/frames.md"
