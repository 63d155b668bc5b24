#!/usr/bin/env bash
# Issue 20's sync target in one run: Weft binaries (each with a fresh data
# dir, bench/weft.yaml, the durable log) interleaved with the plain Go
# handler (bench/plain), Benthos and Node-RED, ROUNDS x (2 s warm-up, then
# wrk -t2 -c16 -d10s --latency) each. Needs the peers of
# ../shared/peers/README.md in $PEERS, started ($PEERS/start.sh: sink on
# :9000, Benthos on :4195, Node-RED on :1880; a peer that does not answer
# is left out) and wrk. Besides wrk's figures, each measurement prints the
# CPU time the system under test used (its process's user+system time from
# /proc, sink and load generator excluded) per request: on a machine that
# other load shares, throughput moves with that load, CPU per request much
# less. And the peak of its resident memory during the 10 s (VmRSS sampled
# every 0.2 s, with that sample's split: anonymous, file-backed — mostly the
# executable's own pages — and shared memory, in KiB).
# Usage: PEERS=/path bench/sync-peers.sh ROUNDS PLAIN_BIN NAME=WEFT_BIN... > results.txt
# WEFT_PORT (8080) and PLAIN_PORT (8090) move Weft and the plain handler
# off ports another process on the machine holds.
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
rounds=$1 plain=$2; shift 2
wport=${WEFT_PORT:-8080} pport=${PLAIN_PORT:-8090}
cd "$(dirname "$0")/.."
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "$1" || true; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user+system, clock ticks
rss() { awk '/^VmRSS/ {t=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} /^RssShmem/ {s=$2} END {print t+0, a+0, f+0, s+0}' "/proc/$1/status"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
load() { # name url pid
  wrk -t2 -c16 -d2s -s "$PEERS/post.lua" "$2" >/dev/null
  local before after c0 c1
  before=$(curl -s http://127.0.0.1:9000/stats)
  echo "## round $r $1 (sink before: $before)"
  c0=$(cpu "$3")
  wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" "$2" >"$out" &
  local w=$! peak="0 0 0 0" s
  while kill -0 $w 2>/dev/null; do
    s=$(rss "$3")
    [ "${s%% *}" -gt "${peak%% *}" ] && peak=$s
    sleep 0.2
  done
  wait $w
  c1=$(cpu "$3")
  cat "$out"
  echo "rss peak KiB (total anon file shmem): $peak"
  after=$(curl -s http://127.0.0.1:9000/stats)
  echo "sink after: $after"
  echo "cpu ticks: $((c1 - c0)) at $(getconf CLK_TCK)/s"
}
echo "# $(date -u) $(uptime)"
echo "# wrk -t2 -c16 -d10s --latency; rounds=$rounds; weft: $*"
for r in $(seq 1 "$rounds"); do
  "$plain" -addr "127.0.0.1:$pport" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 40); do [ "$(post "http://127.0.0.1:$pport/order")" = 200 ] && break; sleep 0.25; done
  load plain "http://127.0.0.1:$pport/order" $pid
  kill $pid; wait $pid 2>/dev/null || true
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    d=$(mktemp -d)
    WEFT_ADDR="127.0.0.1:$wport" "$bin" serve --config bench/weft.yaml --data-dir "$d" >"$d.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 80); do [ "$(post "http://127.0.0.1:$wport/hooks/order-flow")" = 200 ] && break; sleep 0.25; done
    load "weft-$name" "http://127.0.0.1:$wport/hooks/order-flow" $pid
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$d" "$d.log"
  done
  [ "$(post http://127.0.0.1:4195/order)" = 200 ] && load benthos http://127.0.0.1:4195/order "$(cat "$PEERS/pids/benthos.pid")"
  [ "$(post http://127.0.0.1:1880/order)" = 200 ] && load nodered http://127.0.0.1:1880/order "$(cat "$PEERS/pids/nodered.pid")"
done
echo "# $(date -u) $(uptime)"
