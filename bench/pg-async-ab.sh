#!/usr/bin/env bash
# Async 3-step runs per second on PostgreSQL, two weft binaries alternated
# (old, new, old, new ...) with one and with two `weft serve` processes per
# run, and River's own no-op ceiling (bench/riverceiling) in the same rounds.
# A fresh cluster (default settings: fsync and synchronous_commit on) in a
# temp dir, a fresh database per measurement. Needs root (runs PostgreSQL as
# the postgres user) and the PostgreSQL binaries.
# Usage: bench/pg-async-ab.sh OLD_WEFT NEW_WEFT ASYNC_BIN CEILING_BIN SINK_BIN ROUNDS N
# PROCS_AB="1 2" (default) sets the process counts; LATENCY_AB=K measures instead
# the latency of K runs one at a time on an idle queue (bench/async -latency).
set -euo pipefail
old=$1 new=$2 async=$3 ceiling=$4 sink=$5 rounds=$6 n=$7
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
port=${PGPORT_AB:-55432} sinkport=${SINKPORT_AB:-19000}
dir=$(mktemp -d); chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" -l "$dir/log" -w start >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$sink" -addr 127.0.0.1:$sinkport & pids+=($!)
newdb() { local d=ab$(date +%s%N); runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p $port "$d"; echo "postgres://postgres@127.0.0.1:$port/$d?sslmode=disable"; }
cfg=$dir/weft.yaml
printf 'log_level: warn\nconnections:\n  sink: {connector: http, allow_private: true}\n' > "$cfg"
weft() { # BIN PROCS
  local url; url=$(newdb); local servers="" ps=() dd; dd=$(mktemp -d) # one data dir: the processes share its master key
  for i in $(seq "$2"); do
    local p=$((18080+i))
    WEFT_DATABASE_URL=$url "$1" serve --config "$cfg" --addr 127.0.0.1:$p --data-dir "$dd" >"$dir/serve-$i.log" 2>&1 & ps+=($!)
    servers+="${servers:+,}http://127.0.0.1:$p"
  done
  for i in $(seq "$2"); do for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((18080+i))/healthz" >/dev/null && break; sleep 0.2; done; done
  local out; out=$(timeout 180 "$async" -server "$servers" -sink "http://127.0.0.1:$sinkport/orders" -n "$n" -c 32 ${LATENCY_AB:+-latency $LATENCY_AB} 2>&1 | tail -1 || true)
  for p in "${ps[@]}"; do kill "$p" 2>/dev/null || echo "serve $p had exited: $(tail -3 $dir/serve-*.log)" >&2; wait "$p" 2>/dev/null || true; done
  echo "$out"
}
for r in $(seq "$rounds"); do
  echo "round $r  $(uptime)"
  echo "  river-ceiling      $("$ceiling" -url "$(newdb)" -n "$n" -c 32 -workers 100)"
  for procs in ${PROCS_AB:-1 2}; do
    echo "  old procs=$procs  $(weft "$old" $procs)"
    echo "  new procs=$procs  $(weft "$new" $procs)"
  done
done
echo "end  $(uptime)"
