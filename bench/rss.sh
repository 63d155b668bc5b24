#!/usr/bin/env bash
# Resident memory of a weft process under the peer benchmark's load:
# samples VmRSS every 0.5 s during a 10 s wrk run (c=16) and prints the
# idle, peak and final figures. Usage: PEERS=/path bench/rss.sh PID URL
set -euo pipefail
pid=$1; url=$2
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
idle=$(rss); peak=$idle
wrk -t2 -c16 -d10s -s "$PEERS/post.lua" "$url" > /tmp/rss-wrk.txt &
w=$!
while kill -0 $w 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.5; done
echo "idle_rss_mib=$((idle/1024)) peak_rss_mib=$((peak/1024)) final_rss_mib=$(( $(rss)/1024 )) $(grep Requests/sec /tmp/rss-wrk.txt | tr -s ' ')"
