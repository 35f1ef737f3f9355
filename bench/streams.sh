#!/usr/bin/env bash
# Memory with many streamed answers at once, measured from outside: `tokengrid serve` with the
# built-in scenario's eight hubs, all served by a slow hub (bench/streams/hub.py: a chunk every
# INTERVAL s, CHUNKS chunks), and N clients (bench/streams/client.py) each streaming a chat
# completion through it at once. Prints how many completed and the dispatcher's resident memory
# idle, at its peak with the streams open, and 3 s after they ended.
#
#   bench/streams.sh                 # 10,000 streams of 20 chunks, one a second
#   STREAMS=2000 CHUNKS=10 bench/streams.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${STREAMS:-10000}
CHUNKS=${CHUNKS:-20}
INTERVAL=${INTERVAL:-1}
PORT=${PORT:-18096}
HUB=$((PORT + 1))
# The dispatcher holds two descriptors per stream (the client's and the hub's connection).
want=$((2 * N + 100))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
  echo "error: $N streams need $want open files in the dispatcher; this machine allows $hard" >&2
  echo "  help: STREAMS=$(((hard - 100) / 2)) bench/streams.sh, or raise the hard limit (ulimit -Hn)" >&2
  exit 2
fi
ulimit -n "$want"
cargo build --release --locked -q -p tokengrid
WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 bench/streams/hub.py "$HUB" "$CHUNKS" "$INTERVAL" &
pids+=($!)
. bench/lib/hubs.sh
write_hubs "$WORK/hubs.toml" "http://127.0.0.1:$HUB"

RUST_LOG=warn target/release/tokengrid serve --listen "127.0.0.1:$PORT" \
  --db "sqlite://$WORK/ledger.db" --admin-token bench-admin-token-0123456789 \
  --config "$WORK/hubs.toml" --max-connections $((N + 1000)) > "$WORK/tg.log" 2>&1 &
tg=$!
pids+=("$tg")
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  sleep 0.1
done
python3 bench/streams/client.py "$tg" "$PORT" "$N"
