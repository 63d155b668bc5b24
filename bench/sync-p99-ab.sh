#!/usr/bin/env bash
# Sync p99 A/B (issue 20): each round, the plain Go handler, then every
# Weft binary given (each with a fresh data dir, bench/weft.yaml, the
# durable log), 2 s warm-up then wrk -t2 -c16 -d10s --latency each; prints
# p50/p90/p99 and requests/s per system and round, and for each Weft
# build its CPU time (user + system from /proc, over the 10-s window) per
# request, its peak RSS (VmHWM) and the size of its WAL file at the end of
# its load.
# Needs wrk and the peers' sink on :9000 (or $SINK_PORT) ($PEERS/start.sh, or
# $PEERS/sink/sink -addr 127.0.0.1:9000 alone), $PEERS with order.json and
# post.lua, and a build of bench/plain.
# Usage: PEERS=/path bench/sync-p99-ab.sh ROUNDS PLAIN_BIN NAME=WEFT_BIN... > out.txt
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
export PEERS
rounds=$1 plain=$2; shift 2
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
conf=$(benchconf "$tmp")
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # name url pid
  wrk -t2 -c16 -d2s -s "$PEERS/post.lua" "$2" >/dev/null
  local c0; c0=$(cputicks "$3")
  wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" "$2" >"$tmp/wrk"
  local c1; c1=$(cputicks "$3")
  printf 'round %s %s %s%s' "$r" "$1" "$(grep -E '^ +(50|90|99)%' "$tmp/wrk" | awk '{printf "%s=%s ", $1, $2}')" "$(grep Requests/sec "$tmp/wrk")"
  grep -i 'non-2xx' "$tmp/wrk" | sed 's/^/ /' | tr -d '\n' || true
  [ "$1" = plain ] && return
  awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '/requests in/ {printf "  cpu-us/req %.1f", t / hz * 1e6 / $1}' "$tmp/wrk"
  printf '  rss-peak-kib %s' "$(awk '/^VmHWM/ {print $2}' "/proc/$3/status")"
}
echo "# $(date -u) $(uptime)"
for r in $(seq 1 "$rounds"); do
  "$plain" -addr 127.0.0.1:$pport -sink http://127.0.0.1:$sport/orders >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 40); do [ "$(post http://127.0.0.1:$pport/order)" = 200 ] && break; sleep 0.25; done
  measure plain http://127.0.0.1:$pport/order $pid; echo
  kill $pid; wait $pid 2>/dev/null || true
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    d=$(mktemp -d)
    WEFT_ADDR=127.0.0.1:$wport "$bin" serve --config "$conf" --data-dir "$d" >"$d.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 80); do [ "$(post http://127.0.0.1:$wport/hooks/order-flow)" = 200 ] && break; sleep 0.25; done
    measure "$name" http://127.0.0.1:$wport/hooks/order-flow $pid
    echo "  wal bytes: $(stat -c %s "$(find "$d" -name weft.db-wal | head -1)" 2>/dev/null || echo 0)"
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$d" "$d.log"
  done
done
echo "# $(date -u) $(uptime)"
