#!/usr/bin/env bash
# CPU profile and CPU time a request of one `weft serve` under the sync
# load: the order flow against a sink of its own (bench/sink on :9401),
# serve on :8481 with pprof on 127.0.0.1:6061, 2 s warm-up, then wrk -t2
# -c16 -d12s with a 10-s profile inside it. Writes OUT.cpu.pprof and
# OUT.wrk; prints load, CPU-us a request (user + system from /proc over the
# 12 s), throughput and p99.
# Usage: PEERS=/path/with/order.json+post.lua bench/sync-profile.sh BIN OUTPREFIX
set -euo pipefail
: "${PEERS:?set PEERS to a folder with order.json and post.lua}"
export PEERS
bin=$1 out=$(realpath -m "$2")
cd "$(dirname "$0")/.."
tmp=$(mktemp -d) pid= spid=
trap 'kill $pid $spid 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o $tmp/sink ./bench/sink
$tmp/sink -addr 127.0.0.1:9401 & spid=$!
mkdir -p $tmp/flows
sed "s/127.0.0.1:9000/127.0.0.1:9401/" bench/flows/order-flow.yaml > $tmp/flows/order-flow.yaml
printf 'addr: 127.0.0.1:8481\nlog_level: warn\ndeploy: [%s/flows/*.yaml]\nconnections:\n  sink: {connector: http, allow_private: true}\n' "$tmp" > $tmp/weft.yaml
url=http://127.0.0.1:8481/hooks/order-flow
WEFT_DEBUG_ADDR=127.0.0.1:6061 WEFT_ADDR=127.0.0.1:8481 $bin serve --config $tmp/weft.yaml --data-dir $tmp/d > $tmp/log 2>&1 & pid=$!
for _ in $(seq 80); do c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" $url || true); [ "$c" = 200 ] && break; sleep 0.25; done
(cd "$PEERS" && wrk -t2 -c16 -d2s -s post.lua $url) >/dev/null
uptime
c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
( sleep 1; curl -s -o $out.cpu.pprof "http://127.0.0.1:6061/debug/pprof/profile?seconds=10" ) & cpid=$!
(cd "$PEERS" && wrk -t2 -c16 -d12s --latency -s post.lua $url) > $out.wrk
c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
wait $cpid
uptime
req=$(awk '/requests in/{print $1}' $out.wrk)
echo "cpu-us/req $(echo "($c1-$c0)*1000000/$(getconf CLK_TCK)/$req" | bc -l)"
grep -E "Non-2xx|Requests/sec|99%" $out.wrk
