#!/usr/bin/env bash
# Issue 20's sync figures for two commits in one go, for a quiet machine:
# builds `weft` and the engine test binary of OLD and NEW (git revisions of
# this repository), then (1) the in-process A/B (bench/ab-inprocess.sh,
# OrderFlowSync and OrderFlowSyncConcurrent alternated, 6 rounds of 3000
# runs), (2) the WAL frames per run of each, and (3) the peer run
# (bench/sync-peers.sh, 3 rounds) against the peers in $PEERS, started as
# ../shared/peers/README.md says. About 15 minutes on the 2-core VM.
# Usage: PEERS=/path bench/sync-ab.sh OLD NEW OUTDIR   e.g. bench/sync-ab.sh main h-sync /tmp/ab
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
old=$1 new=$2 out=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
for rev in "$old" "$new"; do
  src="$out/src-$rev"
  rm -rf "$src" && mkdir -p "$src"
  git -C "$repo" archive "$rev" | tar -x -C "$src"
  # the benchmark files of NEW in both trees (a trace region per run, the WAL-frame count)
  cp "$repo/engine/bench_test.go" "$src/engine/bench_test.go"
  cp "$repo/store/sqlite/walframes_test.go" "$src/store/sqlite/walframes_test.go"
  (cd "$src" && go build -o "$out/weft-$rev" ./cmd/weft && go test -c -o "$out/engine-$rev.test" ./engine && go test -c -o "$out/sqlite-$rev.test" ./store/sqlite)
done
go build -o "$out/plain" "$repo/bench/plain"
"$repo/bench/ab-inprocess.sh" "$out/engine-$old.test" "$out/engine-$new.test" "$repo/engine" 'OrderFlowSync$|OrderFlowSyncConcurrent$' 6 3000x "$out/inprocess" > "$out/inprocess.txt"
for rev in "$old" "$new"; do
  (cd "$repo/store/sqlite" && "$out/sqlite-$rev.test" -test.run '^$' -test.bench SyncRunWALFrames -test.benchtime 20x) > "$out/walframes-$rev.txt"
done
(cd "$repo" && bench/sync-peers.sh 3 "$out/plain" "old=$out/weft-$old" "new=$out/weft-$new") > "$out/peers.txt"
"$repo/bench/sync-peers-summary.py" "$out/peers.txt" > "$out/peers-summary.md"
cat "$out/inprocess.txt" "$out/walframes-$old.txt" "$out/walframes-$new.txt" "$out/peers-summary.md"
