#!/usr/bin/env bash
# plain Go handler vs Weft (new), interleaved, wrk -t2 -c16 -d10s after 2 s warm-up
set -u
PEERS=/tmp/perf/peers; export PEERS
cd /work/wt-perf
/tmp/perf/peers/sink/sink -addr 127.0.0.1:9000 >/dev/null 2>&1 &
sink=$!
sleep 1
echo "# $(date -u) $(uptime)"
for r in 1 2 3; do
  /tmp/perf/plain >/dev/null 2>&1 & p=$!
  sleep 1
  wrk -t2 -c16 -d2s -s $PEERS/post.lua http://127.0.0.1:8090/order >/dev/null
  echo "## round $r plain"; wrk -t2 -c16 -d10s --latency -s $PEERS/post.lua http://127.0.0.1:8090/order
  kill $p; wait $p 2>/dev/null
  d=$(mktemp -d)
  /tmp/perf/weft-new2 serve --config bench/weft.yaml --data-dir $d >/dev/null 2>&1 & p=$!
  for _ in $(seq 1 60); do curl -s -o /dev/null http://127.0.0.1:8080/healthz && break; sleep 0.25; done
  wrk -t2 -c16 -d2s -s $PEERS/post.lua http://127.0.0.1:8080/hooks/order-flow >/dev/null
  echo "## round $r weft"; wrk -t2 -c16 -d10s --latency -s $PEERS/post.lua http://127.0.0.1:8080/hooks/order-flow
  kill $p; wait $p 2>/dev/null; rm -rf $d
done
kill $sink
echo "# $(date -u) $(uptime)"
