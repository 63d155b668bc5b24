#!/usr/bin/env bash
# Who makes the executable's pages resident in `weft serve` (issue 20,
# BENCHMARKS.md §55): runs BIN under `perf record -e page-faults -c 1 -d -g`
# (every page fault, its address and call chain) on a fresh data dir with
# bench/weft.yaml, lets it start, sends one order, then LOAD_S seconds of
# wrk -t2 -c16 (0: none), stops it, and attributes the faults on the
# binary's own mappings by region and cause (bench/rss-faults.py). Prints
# VmRSS/RssAnon/RssFile at the end of start-up and of the load too. Needs
# perf (perf_event_paranoid ≤ 2 is enough for one's own process), wrk, the
# sink of ../shared/peers on :9000 and $PEERS/order.json, $PEERS/post.lua.
# Usage: PEERS=/path bench/rss-faults.sh BIN [LOAD_S] > out.txt
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
bin=$(readlink -f "$1") load=${2:-10} port=${WEFT_PORT:-8080}
cd "$(dirname "$0")/.."
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
status() { grep -E 'VmRSS|RssAnon|RssFile' "/proc/$1/status" | tr -s ' \t\n' ' '; echo; }
echo "# $(date -u) $(uptime)"
WEFT_ADDR="127.0.0.1:$port" perf record -q -c 1 -e page-faults -d -g -o "$d/perf.data" -- \
  "$bin" serve --config bench/weft.yaml --data-dir "$d/data" >"$d/log" 2>&1 &
perf=$!
pid=
for _ in $(seq 1 80); do
  pid=$(pgrep -P "$perf" -n || true)
  [ -n "$pid" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "http://127.0.0.1:$port/hooks/order-flow" || true)" = 200 ] && break
  sleep 0.25
done
sleep 1
echo "started, one order: $(status "$pid")"
if [ "$load" -gt 0 ]; then
  wrk -t2 -c16 -d"${load}s" -s "$PEERS/post.lua" "http://127.0.0.1:$port/hooks/order-flow" | grep -E 'Requests/sec'
  echo "after the load: $(status "$pid")"
fi
kill -INT "$pid"
wait "$perf" || true
perf script -i "$d/perf.data" -F addr,ip,sym 2>/dev/null >"$d/script.txt"
python3 bench/rss-faults.py "$bin" "$d/script.txt" "${TOP:-30}"
echo "# $(date -u) $(uptime)"
