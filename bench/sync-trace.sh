#!/usr/bin/env bash
# Execution trace of `weft serve` under the sync load (issue 20): a fresh
# data dir, bench/weft.yaml, 2 s warm-up, then wrk -t2 -c16 -d10s --latency
# while /debug/pprof/trace records 5 s from the 3rd second; then
# bench/tracetail says where the webhook calls' time went (all calls and
# the slowest 1%). Extra environment (GOGC=…) passes through to weft.
# Needs wrk, the peers' sink on :9000 (or $SINK_PORT) and $PEERS with order.json and post.lua.
# Usage: PEERS=/path bench/sync-trace.sh WEFT_BIN OUT_PREFIX
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
bin=$1 out=$2
cd "$(dirname "$0")/.."
# Ports (defaults as before; set them to run beside other benchmarks):
# WEFT_PORT (8080), PLAIN_PORT (8090), SINK_PORT (9000, the sink the
# flow and the plain handler post to), DEBUG_PORT (6061).
wport=${WEFT_PORT:-8080} pport=${PLAIN_PORT:-8090} sport=${SINK_PORT:-9000} dport=${DEBUG_PORT:-6061}
# A config whose flow posts to the sink's port (bench/weft.yaml as is on 9000).
benchconf() { # dir -> prints the config path
  if [ "$sport" = 9000 ]; then echo bench/weft.yaml; return; fi
  mkdir -p "$1/flows"
  sed "s/127.0.0.1:9000/127.0.0.1:$sport/" bench/flows/order-flow.yaml >"$1/flows/order-flow.yaml"
  sed "s|bench/flows/\*.yaml|$1/flows/*.yaml|" bench/weft.yaml >"$1/weft.yaml"
  echo "$1/weft.yaml"
}
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "$1" || true; }
d=$(mktemp -d)
conf=$(benchconf "$d.conf")
WEFT_ADDR=127.0.0.1:$wport WEFT_DEBUG_ADDR=127.0.0.1:$dport "$bin" serve --config "$conf" --data-dir "$d" >"$d.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$d" "$d.log" "$d.conf"' EXIT
for _ in $(seq 1 80); do [ "$(post http://127.0.0.1:$wport/hooks/order-flow)" = 200 ] && break; sleep 0.25; done
echo "# $(date -u) $(uptime)"
wrk -t2 -c16 -d2s -s "$PEERS/post.lua" http://127.0.0.1:$wport/hooks/order-flow >/dev/null
wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" http://127.0.0.1:$wport/hooks/order-flow >"$out.wrk" &
w=$!
sleep 3
curl -s -o "$out.trace" "http://127.0.0.1:$dport/debug/pprof/trace?seconds=5"
wait $w
grep -E '^ +(50|90|99)%|Requests/sec|Non-2xx' "$out.wrk"
echo "# $(date -u) $(uptime)"
(cd bench/tracetail && go run . "$out.trace")
