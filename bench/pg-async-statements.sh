#!/usr/bin/env bash
# Where an async 3-step run's database work goes on PostgreSQL, against
# River's no-op job: one measurement of each (bench/riverceiling, then one
# `weft serve` under bench/async) on a fresh cluster with pg_stat_statements,
# each on its own database, and for each the statements per run (calls,
# rows, execution time) and the rows inserted, updated and deleted per run
# and table. Counts, not rates: they do not move with the machine's load.
# Usage: bench/pg-async-statements.sh WEFT ASYNC_BIN CEILING_BIN SINK_BIN N
# PROCS_ST=K runs K `weft serve` processes on the one database (default 1).
set -euo pipefail
weft=$1 async=$2 ceiling=$3 sink=$4 n=$5
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
port=${PGPORT_AB:-55433} sinkport=${SINKPORT_AB:-19001}
dir=$(mktemp -d); chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=2000" -l "$dir/log" -w start >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$sink" -addr 127.0.0.1:$sinkport & pids+=($!)
sql() { "$bin/psql" -h 127.0.0.1 -p $port -U postgres -d "${2:-postgres}" -Atc "$1"; }
sql "CREATE EXTENSION pg_stat_statements" >/dev/null
report() { # DB
  sleep 1.5 # backends report as they exit
  echo "  statements per run (calls, rows, exec ms per 1000 runs), the top 15 by calls:"
  sql "SELECT round(s.calls::numeric / $n, 2), round(s.rows::numeric / $n, 2), round((s.total_exec_time / $n * 1000)::numeric, 1), left(regexp_replace(s.query, '\s+', ' ', 'g'), 110)
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$1' ORDER BY s.calls DESC LIMIT 15" | sed 's/^/    /'
  echo "  all statements: $(sql "SELECT round(sum(s.calls)::numeric / $n, 2) || ' calls/run, ' || round((sum(s.total_exec_time) / $n * 1000)::numeric, 1) || ' ms per 1000 runs' FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$1'")"
  echo "  transactions/run: $(sql "SELECT round((xact_commit + xact_rollback)::numeric / $n, 2) FROM pg_stat_database WHERE datname = '$1'")"
  echo "  rows per run by table (ins, upd, del, hot upd):"
  sql "SELECT relname, round(n_tup_ins::numeric / $n, 2), round(n_tup_upd::numeric / $n, 2), round(n_tup_del::numeric / $n, 2), round(n_tup_hot_upd::numeric / $n, 2) FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC" "$1" | sed 's/^/    /'
}
echo "river ceiling, $n no-op jobs  $(uptime)"
runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p $port ceil
"$ceiling" -url "postgres://postgres@127.0.0.1:$port/ceil?sslmode=disable" -n "$n" -c 32 -workers 100
report ceil
procs=${PROCS_ST:-1}
echo "weft, $procs process(es), $n async 3-step runs  $(uptime)"
runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p $port weft
printf 'log_level: warn\nconnections:\n  sink: {connector: http, allow_private: true}\n' > "$dir/weft.yaml"
dd=$(mktemp -d -p "$dir") servers="" ws=() # one data dir: the processes share its master key
for i in $(seq "$procs"); do
  WEFT_DATABASE_URL="postgres://postgres@127.0.0.1:$port/weft?sslmode=disable" "$weft" serve --config "$dir/weft.yaml" --addr 127.0.0.1:$((18190+i)) --data-dir "$dd" >"$dir/serve-$i.log" 2>&1 &
  ws+=($!); pids+=($!); servers+="${servers:+,}http://127.0.0.1:$((18190+i))"
done
for i in $(seq "$procs"); do for _ in $(seq 100); do curl -sf http://127.0.0.1:$((18190+i))/healthz >/dev/null && break; sleep 0.2; done; done
"$async" -server "$servers" -sink "http://127.0.0.1:$sinkport/orders" -n "$n" -c 32 | tail -1
for p in "${ws[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
report weft
