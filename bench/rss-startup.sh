#!/usr/bin/env bash
# What start-up leaves resident (issue 20, BENCHMARKS.md §41): for each Weft
# binary, ROUNDS times alternated, (1) the package initialisers' totals
# (GODEBUG=inittrace=1 BIN version: clock ms, heap bytes and allocations of
# every package's init together), and (2) the idle server's resident memory
# (serve with bench/weft.yaml and a fresh data dir, one order through the
# flow, then /proc/PID/smaps: anonymous, and file-backed split into the
# executable's text (r-xp), its read-only data and pclntab (r--p) and its
# data (rw-p)), in KiB. Needs the sink of ../shared/peers on :9000 (the flow
# calls it) and $PEERS/order.json.
# Usage: PEERS=/path bench/rss-startup.sh ROUNDS NAME=WEFT_BIN... > results.txt
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
rounds=$1; shift
port=${WEFT_PORT:-8080}
cd "$(dirname "$0")/.."
echo "# $(date -u) $(uptime)"
for r in $(seq 1 "$rounds"); do
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    it=$(GODEBUG=inittrace=1 "$bin" version 2>&1 | awk '/^init / {ms+=$5; b+=$8; a+=$10; n++} END {printf "inits=%d init_ms=%.1f init_bytes=%d init_allocs=%d", n, ms, b, a}')
    d=$(mktemp -d)
    WEFT_ADDR="127.0.0.1:$port" "$bin" serve --config bench/weft.yaml --data-dir "$d" >"$d.log" 2>&1 &
    pid=$!
    ok=0
    for _ in $(seq 1 120); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "http://127.0.0.1:$port/hooks/order-flow" || true)" = 200 ] && { ok=1; break; }
      sleep 0.25
    done
    sleep 1
    mem=$(awk -v exe="$(readlink -f "$bin")" '/^[0-9a-f]+-[0-9a-f]+ / {file=$6; perm=$2} /^Rss:/ {t+=$2; if (file == exe) x[perm]+=$2} /^Anonymous:/ {a+=$2} END {printf "rss=%d anon=%d exe_text=%d exe_rodata=%d exe_data=%d", t, a, x["r-xp"], x["r--p"], x["rw-p"]}' "/proc/$pid/smaps")
    echo "round=$r weft-$name ok=$ok $mem $it"
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$d" "$d.log"
  done
done
echo "# $(date -u) $(uptime)"
