#!/usr/bin/env bash
# The plans of an async run's slow statements on PostgreSQL: one `weft serve`
# under bench/async on a fresh cluster with auto_explain (ANALYZE, BUFFERS)
# logging every statement slower than MIN_MS (default 8), then river_job's
# live and dead tuples. The log is copied to OUT (default ./pg-explain.log).
# Needs root (runs PostgreSQL as the postgres user).
# Usage: bench/pg-async-explain.sh WEFT ASYNC_BIN SINK_BIN N
set -euo pipefail
weft=$1 async=$2 sink=$3 n=$4 out=${OUT:-$PWD/pg-explain.log}
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
port=${PGPORT_AB:-55439} sinkport=${SINKPORT_AB:-19009}
dir=$(mktemp -d); chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=${MIN_MS:-8} -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on" -l "$dir/log" -w start >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; cp "$dir/log" "$out"; rm -rf "$dir"; }
trap cleanup EXIT
"$sink" -addr 127.0.0.1:$sinkport & pids+=($!)
runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p $port weft
printf 'log_level: warn\nconnections:\n  sink: {connector: http, allow_private: true}\n' > "$dir/weft.yaml"
dd=$(mktemp -d -p "$dir")
WEFT_DATABASE_URL="postgres://postgres@127.0.0.1:$port/weft?sslmode=disable" "$weft" serve --config "$dir/weft.yaml" --addr 127.0.0.1:18299 --data-dir "$dd" >"$dir/serve.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:18299/healthz >/dev/null && break; sleep 0.2; done
"$async" -server http://127.0.0.1:18299 -sink "http://127.0.0.1:$sinkport/orders" -n "$n" -c 32 | tail -1
"$bin/psql" -h 127.0.0.1 -p $port -U postgres -d weft -c "SELECT relname, n_live_tup, n_dead_tup, last_autoanalyze FROM pg_stat_user_tables WHERE relname = 'river_job'"
