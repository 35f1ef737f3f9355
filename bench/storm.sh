#!/usr/bin/env bash
# Memory through a connection storm, measured from outside: `tokengrid serve` is given N
# keep-alive connections at once (each sends GET /healthz and stays open), then all close. Prints
# the dispatcher's resident memory idle, with the N connections open, and 3 s after they closed
# (the maintenance tick hands freed memory back within a second of a storm passing).
#
#   bench/storm.sh            # 15,000 connections
#   CONNECTIONS=5000 bench/storm.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${CONNECTIONS:-15000}
PORT=${PORT:-18095}
ulimit -n $((N + 2000))
cargo build --release --locked -q -p tokengrid
WORK=$(mktemp -d)
RUST_LOG=warn target/release/tokengrid serve --listen "127.0.0.1:$PORT" \
  --db "sqlite://$WORK/ledger.db" --admin-token bench-admin-token-0123456789 \
  --max-connections $((N + 1000)) --header-read-timeout 300s > "$WORK/tg.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null; wait 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break
  sleep 0.1
done
python3 - "$pid" "$PORT" "$N" << 'PY'
import socket, sys, time
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
idle = rss_mb()
socks = []
t0 = time.time()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: tokengrid\r\n\r\n")
    socks.append(s)
for s in socks:
    got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 200"), got[:60]
opened = time.time() - t0
held = rss_mb()
for s in socks:
    s.close()
time.sleep(3)
after = rss_mb()
print(f"{n} keep-alive connections opened and answered in {opened:.1f} s")
print(f"dispatcher RSS: idle {idle:.1f} MB, {n} connections open {held:.1f} MB, 3 s after they closed {after:.1f} MB")
PY
