#!/usr/bin/env bash
# Two compiled test binaries of one package, their benchmarks alternated
# (old, new, old, new ...) so that both see the same machine load, then
# benchstat (go install golang.org/x/perf/cmd/benchstat@latest).
# Usage: bench/ab-inprocess.sh OLD.test NEW.test PKGDIR BENCH_RE ROUNDS BENCHTIME OUTPREFIX
# e.g.   go test -c -o /tmp/new.test ./engine   (and OLD.test from the old commit)
#        bench/ab-inprocess.sh /tmp/old.test /tmp/new.test engine 'OrderFlowSync' 6 3000x /tmp/ab
set -euo pipefail
old=$1 new=$2 dir=$3 re=$4 rounds=$5 bt=$6 out=$7
: > "$out.old"; : > "$out.new"
cd "$dir"
for _ in $(seq "$rounds"); do
  "$old" -test.run '^$' -test.bench "$re" -test.benchmem -test.benchtime "$bt" -test.count 1 | grep ^Bench >> "$out.old"
  "$new" -test.run '^$' -test.bench "$re" -test.benchmem -test.benchtime "$bt" -test.count 1 | grep ^Bench >> "$out.new"
done
uptime
"${BENCHSTAT:-benchstat}" "$out.old" "$out.new"
