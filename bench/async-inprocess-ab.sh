#!/usr/bin/env bash
# Async 3-step runs in process on SQLite, old and new alternated, with the
# queue's own ceiling in every round: each round runs BenchmarkQueue of
# store/sqlite (QUEUE_TEST: record + enqueue from 16 callers, a no-op
# worker marks each run succeeded; River's completer completes its jobs),
# then BenchmarkAsyncThreeStep of the old and of the new engine test
# binary (old first in odd rounds, new first in even ones), and prints runs/s, the ratio of each to that round's ceiling,
# CPU per run and the writer's transactions and statements per run. CPU
# per run is the whole process's (user + system, getrusage), for the
# ceiling too when its binary reports it (cpu-us/run): the ratio of CPU per
# run moves far less with other load on the machine than the ratio of rates.
# Usage: bench/async-inprocess-ab.sh QUEUE_TEST OLD_ENGINE_TEST NEW_ENGINE_TEST ROUNDS N
#   go test -c -o /tmp/engine-new.test ./engine (engine-old.test from the old commit)
#   go test -c -o /tmp/sqlite.test ./store/sqlite
set -euo pipefail
q=$(realpath "$1") old=$(realpath "$2") new=$(realpath "$3") rounds=$4 n=$5
field() { awk -v k="$1" '{for (i = 2; i < NF; i++) if ($(i+1) == k) print $i}'; }
uptime
for r in $(seq "$rounds"); do
  ql=$(cd "$(dirname "$0")/../store/sqlite" && "$q" -test.run '^$' -test.bench '^BenchmarkQueue$' -test.benchtime "${n}x" | grep ^Bench)
  ceil=$(field runs/s <<<"$ql") ccpu=$(field cpu-us/run <<<"$ql")
  echo "round $r queue: $ql"
  order="old new"; [ $((r % 2)) = 0 ] && order="new old" # each goes first in every other round
  for b in $order; do
    bin=$old; [ $b = new ] && bin=$new
    l=$(cd "$(dirname "$0")/../engine" && "$bin" -test.run '^$' -test.bench '^BenchmarkAsyncThreeStep$' -test.benchtime "${n}x" | grep ^Bench)
    rate=$(field runs/s <<<"$l")
    cpu=$(field cpu-us/run <<<"$l")
    cr=n/a; [ -n "$ccpu" ] && cr=$(printf '%.2fx' "$(echo "$cpu / $ccpu" | bc -l)")
    printf 'round %s %s: %s runs/s = %.2fx the ceiling (%s runs/s); cpu-us/run %s = %s the ceiling'"'"'s (%s); wtx/run %s wstmt/run %s rstmt/run %s\n' \
      "$r" $b "$rate" "$(echo "$rate / $ceil" | bc -l)" "$ceil" "$cpu" "$cr" "${ccpu:-n/a}" "$(field wtx/run <<<"$l")" "$(field wstmt/run <<<"$l")" "$(field rstmt/run <<<"$l")"
  done
  uptime
done
