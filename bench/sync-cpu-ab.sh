#!/usr/bin/env bash
# CPU per request of Weft builds under wrk, alternated within every round:
# the peer benchmark's order flow (bench/flows/order-flow.yaml, pointed at
# a sink of its own: bench/sink on SINK_PORT), each build with a fresh
# data dir and the durable log, 2 s warm-up then wrk -t2 -c16 -d10s. For
# each measurement: requests/s, p50/p99 and Weft's own CPU time (user +
# system from /proc, sink and wrk excluded) per request. On a machine that
# other load shares, compare CPU per request within a round.
# Usage: PEERS=/path/with/order.json+post.lua bench/sync-cpu-ab.sh ROUNDS NAME=WEFT_BIN... > out.txt
# WEFT_PORT (8480) and SINK_PORT (9400) move it off ports in use.
set -euo pipefail
: "${PEERS:?set PEERS to a folder with order.json and post.lua (../shared/peers)}"
rounds=$1; shift
wport=${WEFT_PORT:-8480} sport=${SINK_PORT:-9400}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/sink" ./bench/sink
"$tmp/sink" -addr "127.0.0.1:$sport" & spid=$!
mkdir -p "$tmp/flows"
sed "s/127.0.0.1:9000/127.0.0.1:$sport/" bench/flows/order-flow.yaml > "$tmp/flows/order-flow.yaml"
printf 'addr: 127.0.0.1:%s\nlog_level: warn\ndeploy: [%s/flows/*.yaml]\nconnections:\n  sink: {connector: http, allow_private: true}\n' "$wport" "$tmp" > "$tmp/weft.yaml"
url="http://127.0.0.1:$wport/hooks/order-flow"
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "$url" || true; }
echo "# $(date -u) $(uptime)"
for r in $(seq 1 "$rounds"); do
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    d=$(mktemp -d "$tmp/data.XXXX")
    WEFT_ADDR="127.0.0.1:$wport" "$bin" serve --config "$tmp/weft.yaml" --data-dir "$d" >"$d.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 80); do [ "$(post)" = 200 ] && break; sleep 0.25; done
    wrk -t2 -c16 -d2s -s "$PEERS/post.lua" "$url" >/dev/null
    c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    wrk -t2 -c16 -d10s --latency -s "$PEERS/post.lua" "$url" > "$tmp/wrk"
    c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill $pid; wait $pid 2>/dev/null || true
    awk -v n="$name" -v r="$r" -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '
      /requests in/ {req = $1} /Requests\/sec/ {rps = $2} /Non-2xx/ {bad = $NF}
      $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
      END {printf "round %d %-8s req/s %8.0f  p50 %8s  p99 %8s  cpu-us/req %6.1f  non2xx %s\n", r, n, rps, p50, p99, t / hz * 1e6 / req, bad + 0}' "$tmp/wrk"
    rm -rf "$d" "$d.log"
  done
done
echo "# $(date -u) $(uptime)"
