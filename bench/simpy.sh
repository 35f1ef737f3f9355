#!/usr/bin/env bash
# The simulator against SimPy on the same queues, in one run on this machine: four M/M/c hubs
# (8/16/32/64 servers at loads 0.5/0.7/0.8/0.9, about 1.13 million customers over 3.2 h;
# bench/simpy/mmc4.toml and bench/simpy/mmc.py). Times each whole process (start to exit,
# median of RUNS runs) and prints customers per wall second and the ratio. SimPy comes from a
# pinned virtual environment this script makes (target/simpy-venv).
#
#   bench/simpy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}

VENV=target/simpy-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import simpy" 2> /dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/simpy/requirements.txt
fi
cargo build --release --locked -q -p tokengrid

# Wall seconds of a command (its output to $2), median of RUNS.
timed() { # out-file command...
  local out=$1
  shift
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "$out"
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
simpy_s=$(timed "$WORK/simpy.txt" "$VENV/bin/python" bench/simpy/mmc.py)
tg_s=$(timed "$WORK/tg.txt" target/release/tokengrid simulate --scenario bench/simpy/mmc4.toml --policy nearest --format json)

simpy_n=$(awk '/^customers/ {print $2}' "$WORK/simpy.txt")
tg_n=$("$VENV/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['requests']['completed'])" "$WORK/tg.txt")
echo "SimPy $("$VENV/bin/python" -c 'import simpy; print(simpy.__version__)'): $simpy_n customers in $simpy_s s"
sed -n '1,4p' "$WORK/simpy.txt" | sed 's/^/  /'
echo "tokengrid: $tg_n customers in $tg_s s (whole process, median of $RUNS)"
awk -v a="$simpy_n" -v b="$simpy_s" -v c="$tg_n" -v d="$tg_s" 'BEGIN {
  printf "customers per wall second: SimPy %.0f, tokengrid %.0f; ratio %.1fx\n", a / b, c / d, (c / d) / (a / b)
}'
