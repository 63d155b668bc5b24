#!/usr/bin/env bash
# Async 3-step runs per second on PostgreSQL, two weft binaries alternated
# (old, new, old, new ...) with one and with two `weft serve` processes per
# run, and River's own no-op ceiling (bench/riverceiling) in the same rounds.
# A fresh cluster (default settings: fsync and synchronous_commit on) in a
# temp dir, a fresh database per measurement. Needs root (runs PostgreSQL as
# the postgres user) and the PostgreSQL binaries.
# Besides the rate, every measurement prints its CPU per run: the measured
# processes' (the `weft serve` processes from their /proc stat after start-up,
# or the ceiling's whole binary from /usr/bin/time), PostgreSQL's (the
# postmaster, its live children and the children it reaped, from /proc), and
# their sum; and from pg_stat_database the database's transactions and rows
# inserted, updated and deleted per run, and the WAL written per run. On a
# shared machine the CPU per run moves far less with the other load than the
# rate. The load generator and the sink are counted in neither.
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
tck=$(getconf CLK_TCK)
pm=$(head -1 "$dir/data/postmaster.pid")
cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; } # seconds, one process
pgcpu() { # seconds: the postmaster, its reaped children and its live ones
  { awk '{print $14+$15+$16+$17}' "/proc/$pm/stat"; for c in $(ps -o pid= --ppid "$pm"); do awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || true; done; } |
    awk -v t="$tck" '{s += $1} END {printf "%.2f", s/t}'
}
sql() { "$bin/psql" -h 127.0.0.1 -p $port -U postgres -d postgres -Atc "$1"; }
walnow() { sql "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"; }
newdb() { local d=ab$(date +%s%N); runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p $port "$d"; echo "postgres://postgres@127.0.0.1:$port/$d?sslmode=disable"; }
counts() { # DBURL PG_CPU0 WAL0 MEASURED_CPU_S: the per-run figures once the backends have exited
  local db=${1##*/}; db=${db%%\?*}
  sleep 1.5 # backends report their counters as they exit
  local pc; pc=$(awk -v a="$2" -v b="$(pgcpu)" 'BEGIN{printf "%.2f", b-a}')
  local w; w=$(walnow)
  sql "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = '$db'" |
    awk -F'|' -v n="$n" -v m="$4" -v pc="$pc" -v w0="$3" -v w1="$w" '{printf "cpu_us/run: measured %.0f pg %.0f sum %.0f | per run: xact %.2f ins %.2f upd %.2f del %.2f wal_B %.0f", m*1e6/n, pc*1e6/n, (m+pc)*1e6/n, $1/n, $2/n, $3/n, $4/n, (w1-w0)/n}'
}
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
  local c0=0 pc0 w0; for p in "${ps[@]}"; do c0=$(awk -v a="$c0" -v b="$(cpu "$p")" 'BEGIN{print a+b}'); done
  pc0=$(pgcpu) w0=$(walnow)
  local out; out=$(timeout 180 "$async" -server "$servers" -sink "http://127.0.0.1:$sinkport/orders" -n "$n" -c 32 ${LATENCY_AB:+-latency $LATENCY_AB} 2>&1 | tail -1 || true)
  local c1=0; for p in "${ps[@]}"; do c1=$(awk -v a="$c1" -v b="$(cpu "$p" 2>/dev/null || echo 0)" 'BEGIN{print a+b}'); done
  for p in "${ps[@]}"; do kill "$p" 2>/dev/null || echo "serve $p had exited: $(tail -3 $dir/serve-*.log)" >&2; wait "$p" 2>/dev/null || true; done
  echo "$out | $(counts "$url" "$pc0" "$w0" "$(awk -v a="$c0" -v b="$c1" 'BEGIN{print b-a}')")"
}
river() {
  local url; url=$(newdb); local pc0 w0; pc0=$(pgcpu) w0=$(walnow)
  local out; out=$( { /usr/bin/time -f "cpu_s=%U+%S" "$ceiling" -url "$url" -n "$n" -c 32 -workers 100; } 2>&1 )
  local s; s=$(echo "$out" | grep -o 'cpu_s=[0-9.+]*' | tail -1 | cut -d= -f2 | awk '{split($0, a, "+"); print a[1]+a[2]}')
  echo "$(echo "$out" | grep '^jobs=') | $(counts "$url" "$pc0" "$w0" "$s")"
}
for r in $(seq "$rounds"); do
  echo "round $r  $(uptime)"
  echo "  river-ceiling      $(river)"
  for procs in ${PROCS_AB:-1 2}; do
    echo "  old procs=$procs  $(weft "$old" $procs)"
    echo "  new procs=$procs  $(weft "$new" $procs)"
  done
done
echo "end  $(uptime)"
