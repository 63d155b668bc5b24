#!/usr/bin/env bash
# Async 3-step runs per second on SQLite (one `weft serve`), two weft
# binaries alternated (old, new, old, new ...), with the queue's own ceiling
# (BenchmarkQueue of store/sqlite: record + enqueue from 16 callers, a no-op
# worker marks each run succeeded) in the same rounds. Besides runs/s it
# prints the CPU each measured process used per run (user + system, from
# /proc or /usr/bin/time): on a shared machine that figure moves less with
# the other load than the rate does. The sink and the load generator are
# not counted in Weft's CPU; the ceiling has neither.
# Usage: bench/sqlite-async-ab.sh OLD_WEFT NEW_WEFT ASYNC_BIN SINK_BIN QUEUE_TEST ROUNDS N
#   QUEUE_TEST: go test -c -o /tmp/sqlite.test ./store/sqlite (from the old commit);
#   QUEUE_TEST_NEW=/tmp/sqlite-new.test also measures the new commit's queue.
set -euo pipefail
old=$1 new=$2 async=$3 sink=$4 qtest=$(realpath "$5") rounds=$6 n=$7
port=${PORT_AB:-18180} sinkport=${SINKPORT_AB:-19020}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
"$sink" -addr 127.0.0.1:$sinkport & pids+=($!)
cfg=$dir/weft.yaml
printf 'log_level: warn\nconnections:\n  sink: {connector: http, allow_private: true}\n' > "$cfg"
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
weft() { # BIN
  local dd; dd=$(mktemp -d -p "$dir")
  "$1" serve --config "$cfg" --addr 127.0.0.1:$port --data-dir "$dd" >"$dir/serve.log" 2>&1 &
  local p=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  local c0; c0=$(cpu $p)
  local out; out=$(timeout 300 "$async" -server "http://127.0.0.1:$port" -sink "http://127.0.0.1:$sinkport/orders" -n "$n" -c 16 2>&1 | tail -1 || true)
  local c1; c1=$(cpu $p)
  kill "$p"; wait "$p" 2>/dev/null || true
  echo "$out cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}') cpu_us_per_run=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN{printf "%.0f", (b-a)*1e6/n}')"
}
ceiling() { # TEST_BINARY
  local qtest=$1 qd; qd=$(mktemp -d -p "$dir")
  local out; out=$( { cd "$qd" && /usr/bin/time -f "cpu_s=%U+%S" "$qtest" -test.run '^$' -test.bench '^BenchmarkQueue$' -test.benchtime "${n}x" -test.count 1; } 2>&1 )
  local rate; rate=$(echo "$out" | grep -o '[0-9.]* runs/s' | head -1)
  local c; c=$(echo "$out" | grep -o 'cpu_s=[0-9.+]*' | tail -1 | cut -d= -f2)
  local s; s=$(awk -v x="$c" 'BEGIN{split(x,a,"+"); printf "%.2f", a[1]+a[2]}')
  echo "$rate cpu_s=$s cpu_us_per_run=$(awk -v s="$s" -v n="$n" 'BEGIN{printf "%.0f", s*1e6/n}') (whole test binary)"
}
for r in $(seq "$rounds"); do
  echo "round $r  $(uptime)"
  echo "  queue-ceiling  $(ceiling "$qtest")"
  if [ -n "${QUEUE_TEST_NEW:-}" ]; then echo "  queue-new      $(ceiling "$(realpath "$QUEUE_TEST_NEW")")"; fi
  echo "  old            $(weft "$old")"
  echo "  new            $(weft "$new")"
done
echo "end  $(uptime)"
