#!/usr/bin/env bash
# Two Weft binaries on the peer order flow (bench/weft.yaml), interleaved:
# ROUNDS x (2 s warm-up, then wrk -t2 -c16 -d10s) each, a fresh data dir per
# run. Needs wrk and the peers' sink and post.lua (../shared/peers/README.md).
# Usage: PEERS=/path bench/compare.sh OLD_BIN NEW_BIN [ROUNDS] > results.txt
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder (sink/sink built, post.lua)}"
old=$1 new=$2 rounds=${3:-3}
cd "$(dirname "$0")/.."
"$PEERS/sink/sink" -addr 127.0.0.1:9000 >/dev/null 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null' EXIT
sleep 1
echo "# $(date -u) wrk -t2 -c16 -d10s on /hooks/order-flow; old=$old new=$new"
for r in $(seq 1 "$rounds"); do
  for v in old new; do
    bin=$old; [ "$v" = new ] && bin=$new
    d=$(mktemp -d)
    "$bin" serve --config bench/weft.yaml --data-dir "$d" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 60); do curl -s -o /dev/null http://127.0.0.1:8080/healthz && break; sleep 0.25; done
    wrk -t2 -c16 -d2s -s "$PEERS/post.lua" http://127.0.0.1:8080/hooks/order-flow >/dev/null
    echo "## round $r $v"
    wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" http://127.0.0.1:8080/hooks/order-flow
    kill $pid; wait $pid 2>/dev/null || true; rm -rf "$d"
  done
done
