#!/usr/bin/env bash
# Issue 20's sync target in one run: Weft binaries (each with a fresh data
# dir, bench/weft.yaml, the durable log) interleaved with the plain Go
# handler (bench/plain), Benthos and Node-RED, ROUNDS x (2 s warm-up, then
# wrk -t2 -c16 -d10s --latency) each. Needs the peers of
# ../shared/peers/README.md in $PEERS, started ($PEERS/start.sh: sink on
# :9000, Benthos on :4195, Node-RED on :1880; a peer that does not answer
# is left out) and wrk.
# Usage: PEERS=/path bench/sync-peers.sh ROUNDS PLAIN_BIN NAME=WEFT_BIN... > results.txt
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
rounds=$1 plain=$2; shift 2
cd "$(dirname "$0")/.."
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "$1" || true; }
load() { # name url
  wrk -t2 -c16 -d2s -s "$PEERS/post.lua" "$2" >/dev/null
  local before after
  before=$(curl -s http://127.0.0.1:9000/stats)
  echo "## round $r $1 (sink before: $before)"
  wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" "$2"
  after=$(curl -s http://127.0.0.1:9000/stats)
  echo "sink after: $after"
}
echo "# $(date -u) $(uptime)"
echo "# wrk -t2 -c16 -d10s --latency; rounds=$rounds; weft: $*"
for r in $(seq 1 "$rounds"); do
  "$plain" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 40); do [ "$(post http://127.0.0.1:8090/order)" = 200 ] && break; sleep 0.25; done
  load plain http://127.0.0.1:8090/order
  kill $pid; wait $pid 2>/dev/null || true
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    d=$(mktemp -d)
    "$bin" serve --config bench/weft.yaml --data-dir "$d" >"$d.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 80); do [ "$(post http://127.0.0.1:8080/hooks/order-flow)" = 200 ] && break; sleep 0.25; done
    load "weft-$name" http://127.0.0.1:8080/hooks/order-flow
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$d" "$d.log"
  done
  [ "$(post http://127.0.0.1:4195/order)" = 200 ] && load benthos http://127.0.0.1:4195/order
  [ "$(post http://127.0.0.1:1880/order)" = 200 ] && load nodered http://127.0.0.1:1880/order
done
echo "# $(date -u) $(uptime)"
