#!/usr/bin/env bash
# The issue-23 figure in one command: the reference server's echo
# (@modelcontextprotocol/server-everything, Streamable HTTP) called directly
# and through Weft's gateway, in the same run (go run ./bench/mcpfed), RUNS
# times, with the median of the runs at the end.
#
#   bash bench/mcpfed.sh [RUNS]           this checkout (default RUNS=3)
#   BASE=/path/to/mcpfed bash bench/mcpfed.sh [RUNS]
#                                         also a baseline build of bench/mcpfed
#                                         (e.g. main's: go build -o /tmp/mcpfed.main
#                                         ./bench/mcpfed in a main checkout), the two
#                                         alternated run by run
#
# Each run: 5 alternating 2 s windows of 16 concurrent callers each way, then
# 1,000 interleaved sequential calls each way for the latency. About 35 s a
# run, plus the build (about a minute on the 2-core box, less when cached):
# RUNS=3 is about 2.5 minutes, 5 with BASE. Run it on a quiet machine: with
# other load, calls per second say more about the load than about Weft (the
# CPU-per-call line moves much less).
#
# MCPFED_ARGS replaces the windows' arguments (default "-rounds 5 -d 2s",
# the issue-23 figure as taken since session 17), e.g.
# MCPFED_ARGS="-order abba -rounds 20 -d 500ms": the same 10 s each way in
# 0.5-s pairs, through Weft first in every other pair (a BASE build must
# know -order: bench/mcpfed of session 24 or later). The summary adds the
# median of the runs' paired medians (each run's median of its rounds'
# ratios).
#
# Since session 25 the callers keep a connection each, on both sides
# (bench/mcpfed -agent pooled); MCPFED_ARGS="-agent default -rounds 5 -d 2s"
# gives the earlier http.DefaultClient agent (a BASE build older than
# session 25 has no -agent flag and is that agent).
#
# Needs `make tools` (.tools/everything: node and server-everything).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bin=$(mktemp -d)/mcpfed
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/mcpfed
builds=("this:$bin")
[ -n "${BASE:-}" ] && builds=("base:$BASE" "${builds[@]}")
out=$(dirname "$bin")/out
: > "$out"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for r in $(seq 1 "$runs"); do
  for b in "${builds[@]}"; do
    name=${b%%:*} exe=${b#*:}
    echo "== run $r, $name"
    "$exe" ${MCPFED_ARGS:--rounds 5 -d 2s} -n 1000 | tee -a /dev/stderr | sed "s/^/$name /" >> "$out" 2>/dev/null || exit 1
  done
done 2>&1
echo "== medians over $runs runs"
for b in "${builds[@]}"; do
  name=${b%%:*}
  ratio=$(grep "^$name throughput" "$out" | sed -E 's/.*\(([0-9.]+)×\).*/\1/' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  added=$(grep "^$name latency" "$out" | sed -E 's/.*added p50 (-?[0-9.]+)(µs|ms|s).*/\1 \2/' |
    awk '{v=$1; if ($2=="µs") v/=1000; if ($2=="s") v*=1000; print v}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  gw=$(grep "^$name CPU per call" "$out" | sed -E 's/.*gateway (-?[0-9]+) µs.*/\1/' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  paired=$(grep "^$name paired" "$out" | sed -E 's/.*ratios ([0-9.]+)×.*/\1/' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$name: through Weft / direct throughput ${ratio}× (target ≥ 0.7), added p50 ${added} ms (target < 1), gateway CPU ${gw} µs a call${paired:+; paired rounds ${paired}×}"
done
