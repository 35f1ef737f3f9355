#!/usr/bin/env bash
# The dispatcher's proxy measured from outside, as users will: wrk and hey against
# `tokengrid serve` with eight hubs registered, all served by one nginx instance returning a fixed
# OpenAI answer; a second nginx instance (a worker per core) as reverse proxy in front of the same
# backend for comparison. Everything runs on this machine in one run, each as its own process.
#
#   bench/router.sh            # build --release, run, print the table
#   DURATION=20 bench/router.sh
#   TOKENGRID_BIN=/tmp/old/tokengrid bench/router.sh   # measure another build
#
# Needs nginx, wrk and hey (Debian: apt-get install nginx-light wrk hey). Prints, for each of
# backend direct, nginx proxy and tokengrid: requests/s with 32 connections (wrk, median of RUNS
# runs), and p50 / p99 at about 2,000 requests/s, twice: wrk with 21 connections each waiting
# 10 ms between answer and next request (latency to the microsecond), and hey with 20 workers
# x 100 requests/s (hey prints to a tenth of a millisecond, so its added latency is a
# difference of rounded figures); then `POST /v1/dispatch` decisions/s (wrk, 32 connections)
# and the dispatcher's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
BASE_PORT=${BASE_PORT:-18080}
BACKEND=$((BASE_PORT + 1))
PROXY=$((BASE_PORT + 2))
TG=$((BASE_PORT + 3))
ADMIN=bench-admin-token-0123456789

for tool in nginx wrk hey; do
  if ! command -v "$tool" > /dev/null; then
    echo "error: $tool is not installed" >&2
    echo "  help: apt-get install nginx-light wrk hey" >&2
    exit 2
  fi
done

if [ -n "${TOKENGRID_BIN:-}" ]; then
  BIN=$TOKENGRID_BIN # another build, e.g. to compare two in the same minutes
else
  cargo build --release --locked -q -p tokengrid
  BIN=$PWD/target/release/tokengrid
fi

WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for conf in backend proxy; do
    [ -f "$WORK/$conf.pid" ] && kill "$(cat "$WORK/$conf.pid")" 2> /dev/null || true
  done
  wait 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ANSWER='{"id":"bench","object":"chat.completion","created":0,"model":"deepseek-v3","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}'

nginx_conf() { # name port body-of-server
  cat > "$WORK/$1.conf" << EOF
worker_processes auto;
pid $WORK/$1.pid;
error_log $WORK/$1.err warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $WORK/$1-body;
  proxy_temp_path $WORK/$1-proxy;
  fastcgi_temp_path $WORK/$1-fcgi;
  uwsgi_temp_path $WORK/$1-uwsgi;
  scgi_temp_path $WORK/$1-scgi;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  server {
    listen 127.0.0.1:$2 reuseport backlog=4096;
    $3
  }
}
EOF
  nginx -c "$WORK/$1.conf" -e "$WORK/$1.err"
}
nginx_conf backend "$BACKEND" "location / { default_type application/json; return 200 '$ANSWER'; }"
nginx_conf proxy "$PROXY" "location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"

. bench/lib/hubs.sh
write_hubs "$WORK/hubs.toml" "http://127.0.0.1:$BACKEND"

RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$TG" --db "sqlite://$WORK/ledger.db" \
  --admin-token "$ADMIN" --config "$WORK/hubs.toml" > "$WORK/tg.log" 2>&1 &
tg_pid=$!
pids+=("$tg_pid")
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$TG/readyz" > /dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$TG/readyz" > /dev/null || {
  echo "error: tokengrid serve did not become ready" >&2
  cat "$WORK/tg.log" >&2
  exit 1
}

CHAT='{"model":"deepseek-v3","messages":[{"role":"user","content":"How much does a token cost in Gansu at noon?"}],"max_tokens":16}'
DISPATCH='{"model":"deepseek-v3","origin":{"lat":31.2,"lon":121.5},"prompt_tokens":1000,"output_tokens":200,"ttft_slo_ms":2000}'
post_lua() { # file body
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$2" > "$1"
}
post_lua "$WORK/chat.lua" "$CHAT"
cp "$WORK/chat.lua" "$WORK/paced.lua"
printf 'function delay()\n  return 10\nend\n' >> "$WORK/paced.lua"
post_lua "$WORK/dispatch.lua" "$DISPATCH"
printf '%s' "$CHAT" > "$WORK/chat.json"

# requests/s of wrk with 32 connections on 2 threads; median of RUNS runs.
rate() { # url lua
  local rates=()
  wrk -t2 -c32 -d2s -s "$2" "$1" > /dev/null # warm-up
  for _ in $(seq "$RUNS"); do
    out=$(wrk -t2 -c32 -d"${DURATION}s" -s "$2" "$1")
    if echo "$out" | grep -q "Non-2xx"; then
      echo "error: non-2xx answers from $1:" >&2
      echo "$out" >&2
      exit 1
    fi
    rates+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
  done
  printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}'
}

# p50 and p99 (ms) and the rate at about 2,000 requests/s: wrk, 21 connections, each sending
# its next request 10 ms after the last answer (wrk measures each request from its sending,
# so the pause is not counted).
paced() { # url
  local out
  out=$(wrk -t1 -c21 -d"${DURATION}s" --latency -s "$WORK/paced.lua" "$1")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "error: non-2xx answers from $1:" >&2
    echo "$out" >&2
    exit 1
  fi
  # wrk prints each percentile with its unit (us, ms or s).
  echo "$out" | awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      return v * 1000
    }
    / 50% / {p50 = ms($2)}
    / 99% / {p99 = ms($2)}
    /Requests\/sec/ {rate = $2}
    END {printf "%.3f %.3f %.0f", p50, p99, rate}'
}

# p50 and p99 (ms) at 2,000 requests/s: hey, 20 workers x 100 requests/s each.
fixed() { # url
  local out
  out=$(hey -z "${DURATION}s" -c 20 -q 100 -m POST -T application/json -D "$WORK/chat.json" "$1")
  if ! echo "$out" | grep -q '\[200\]'; then
    echo "error: hey got no 200 from $1" >&2
    exit 1
  fi
  local p50 p99
  p50=$(echo "$out" | awk '/ 50% in/ {print $3 * 1000}')
  p99=$(echo "$out" | awk '/ 99% in/ {print $3 * 1000}')
  echo "$p50 $p99"
}

declare -A RATE LAT PACED
for target in direct nginx tokengrid; do
  case $target in
    direct) url="http://127.0.0.1:$BACKEND/v1/chat/completions" ;;
    nginx) url="http://127.0.0.1:$PROXY/v1/chat/completions" ;;
    tokengrid) url="http://127.0.0.1:$TG/v1/chat/completions" ;;
  esac
  RATE[$target]=$(rate "$url" "$WORK/chat.lua")
  LAT[$target]=$(fixed "$url")
  PACED[$target]=$(paced "$url")
done
decisions=$(rate "http://127.0.0.1:$TG/v1/dispatch" "$WORK/dispatch.lua")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$tg_pid/status")

table() { # the name of an array of "p50 p99 [rate]" per target, then the column's title
  local -n lat=$1
  local d50 d99 p50 p99 rate label added at
  read -r d50 d99 _ <<< "${lat[direct]}"
  printf '| %-16s | %18s | %24s | %22s |\n' "" "requests/s (wrk)" "$2 p50 / p99" "added p50 / p99"
  printf '|%s|%s|%s|%s|\n' "------------------" "--------------------" "--------------------------" "------------------------"
  for target in direct nginx tokengrid; do
    read -r p50 p99 rate <<< "${lat[$target]}"
    case $target in
      direct) label="backend direct"; added="" ;;
      nginx) label="nginx proxy" ;;
      tokengrid) label="tokengrid" ;;
    esac
    if [ "$target" != direct ]; then
      added=$(awk -v a="$p50" -v b="$d50" -v c="$p99" -v d="$d99" 'BEGIN {printf "%.2f / %.2f ms", a - b, c - d}')
    fi
    at=$(printf '%.2f / %.2f ms' "$p50" "$p99")
    [ -n "$rate" ] && at="$at ($rate/s)"
    printf '| %-16s | %18s | %24s | %22s |\n' "$label" "${RATE[$target]}" "$at" "$added"
  done
}

echo
echo "$(nproc) cores; wrk -t2 -c32 -d${DURATION}s (median of $RUNS); wrk -t1 -c21 -d${DURATION}s paced 10 ms; hey -c20 -q100 -z${DURATION}s"
table PACED "wrk paced:"
echo
table LAT "hey 2,000/s:"
echo
echo "POST /v1/dispatch (wrk -c32): $decisions decisions/s"
echo "tokengrid peak RSS: $((rss_kb / 1024)) MiB"
echo "tokengrid / nginx requests/s: $(awk -v a="${RATE[tokengrid]}" -v b="${RATE[nginx]}" 'BEGIN {printf "%.2f", a / b}')"
