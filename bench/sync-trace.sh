#!/usr/bin/env bash
# Execution trace of `weft serve` under the sync load (issue 20): a fresh
# data dir, bench/weft.yaml, 2 s warm-up, then wrk -t2 -c16 -d10s --latency
# while /debug/pprof/trace records 5 s from the 3rd second; then
# bench/tracetail says where the webhook calls' time went (all calls and
# the slowest 1%). Extra environment (GOGC=…) passes through to weft.
# Needs wrk, the peers' sink on :9000 and $PEERS with order.json and post.lua.
# Usage: PEERS=/path bench/sync-trace.sh WEFT_BIN OUT_PREFIX
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
bin=$1 out=$2
cd "$(dirname "$0")/.."
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "$1" || true; }
d=$(mktemp -d)
WEFT_ADDR=127.0.0.1:8080 WEFT_DEBUG_ADDR=127.0.0.1:6061 "$bin" serve --config bench/weft.yaml --data-dir "$d" >"$d.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$d" "$d.log"' EXIT
for _ in $(seq 1 80); do [ "$(post http://127.0.0.1:8080/hooks/order-flow)" = 200 ] && break; sleep 0.25; done
echo "# $(date -u) $(uptime)"
wrk -t2 -c16 -d2s -s "$PEERS/post.lua" http://127.0.0.1:8080/hooks/order-flow >/dev/null
wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" http://127.0.0.1:8080/hooks/order-flow >"$out.wrk" &
w=$!
sleep 3
curl -s -o "$out.trace" 'http://127.0.0.1:6061/debug/pprof/trace?seconds=5'
wait $w
grep -E '^ +(50|90|99)%|Requests/sec|Non-2xx' "$out.wrk"
echo "# $(date -u) $(uptime)"
(cd bench/tracetail && go run . "$out.trace")
