#!/usr/bin/env bash
# File-backed RSS of `weft serve` under the sync load, with the binary's
# page cache put in a given state first (BENCHMARKS.md §60). As root (it
# drops caches). Needs the peers' sink on :9000 and wrk.
#   PEERS=/path bench/rss-pagecache.sh BIN STATE
# STATE: asis (leave the cache as it is), small (drop, then read the file
# 4 KiB at a time with POSIX_FADV_RANDOM: single-page folios), large (drop,
# then read it whole with cat: large folios where the kernel makes them).
# Prints the idle RssAnon/RssFile after the first request and the peak
# RssFile during 6 s of wrk -c16 (sampled every 0.2 s).
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
bin=$1 st=$2 port=${WEFT_PORT:-8181}
cd "$(dirname "$0")/.."
case $st in
  large) sync; echo 1 > /proc/sys/vm/drop_caches; cat "$bin" > /dev/null ;;
  small) sync; echo 1 > /proc/sys/vm/drop_caches
         python3 -c 'import os,sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
n, off = os.fstat(fd).st_size, 0
while off < n: os.pread(fd, 4096, off); off += 4096' "$bin" ;;
  asis) ;;
  *) echo "STATE is asis, small or large" >&2; exit 2 ;;
esac
d=$(mktemp -d) pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$d" "$d.log"' EXIT
WEFT_ADDR=127.0.0.1:$port "$bin" serve --config bench/weft.yaml --data-dir "$d" >"$d.log" 2>&1 &
pid=$!
for _ in $(seq 80); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data @"$PEERS/order.json" "http://127.0.0.1:$port/hooks/order-flow")" = 200 ] && break
  sleep 0.25
done
sleep 1
echo "idle: $(grep -E 'RssAnon|RssFile' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
out=$(mktemp)
(cd "$PEERS" && wrk -t2 -c16 -d6s -s post.lua "http://127.0.0.1:$port/hooks/order-flow" >"$out") &
w=$! peak=0
while kill -0 $w 2>/dev/null; do
  f=$(awk '/RssFile/ {print $2}' /proc/$pid/status); [ "$f" -gt "$peak" ] && peak=$f; sleep 0.2
done
echo "$st: peak RssFile $peak KiB; $(grep Requests/sec "$out")"
rm -f "$out"
