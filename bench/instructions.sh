#!/usr/bin/env bash
# Instructions per simulated request, counted by valgrind (callgrind), for the first 20 minutes
# of the built-in day under cost-slo and for the four M/M/c queues of bench/simpy. The day runs
# 3 to 4 instructions a cycle, so its time follows its instruction count, and the count is the
# same run after run whatever else the machine is doing: compare two builds with it when their
# timings are within the machine's noise (docs/notes/speed-2026-12-03.md).
#
#   bench/instructions.sh                      # this checkout's build
#   SPEED_BIN=/tmp/old/speed bench/instructions.sh   # another build of the speed example
#
# Needs valgrind (Debian: apt-get install valgrind). Prints, per run: requests, instructions,
# instructions per request and the report digest (equal digests: the same simulation).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind > /dev/null; then
  echo "error: valgrind is not installed" >&2
  echo "  help: apt-get install valgrind" >&2
  exit 2
fi
if [ -n "${SPEED_BIN:-}" ]; then
  BIN=$SPEED_BIN
else
  cargo build --release --locked -q -p tokengrid-sim --example speed
  BIN=$PWD/target/release/examples/speed
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

count() { # label, then the speed example's arguments
  local label=$1
  shift
  if ! valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$BIN" "$@" \
    > "$WORK/out.txt" 2> "$WORK/err.txt"; then
    echo "error: $BIN $* failed under valgrind:" >&2
    tail -20 "$WORK/err.txt" >&2
    exit 1
  fi
  local refs requests digest
  refs=$(awk '/I *refs:/ {gsub(",", "", $NF); print $NF}' "$WORK/err.txt")
  requests=$(awk '{print $3}' "$WORK/out.txt")
  digest=$(awk '{print $NF}' "$WORK/out.txt")
  awk -v l="$label" -v n="$requests" -v i="$refs" -v d="$digest" 'BEGIN {
    printf "%-34s %9d requests %15.0f instructions %7.0f per request  digest %s\n", l, n, i, i / n, d
  }'
}

count "china-east-west cost-slo 1,200 s" china-east-west cost-slo 1200
count "mmc4 nearest (bench/simpy)" bench/simpy/mmc4.toml nearest
