#!/usr/bin/env bash
# One large webhook run through a real `weft serve` process per
# measurement (issue 20): a fresh process (SQLite, defaults: GOGC 200),
# one ~9 MB JSON POST to a sync flow that passes the rows on
# (big-passthrough: set rows: =trigger.body.rows, POST to a sink, respond)
# or maps them to new objects (big-reshape), and the process's resident
# memory: VmRSS before the POST, VmHWM (the kernel's peak) after it, and
# the largest heap at a GC start during the POST (GODEBUG=gctrace=1).
# Binaries are alternated in every round. Needs curl and bench/sink.
# Usage: bench/bigpost.sh ROUNDS SINK_BIN NAME=WEFT_BIN...
#   e.g. bench/bigpost.sh 3 /tmp/sink old=/tmp/weft-old new=/tmp/weft-new
set -euo pipefail
rounds=$1 sinkbin=$2; shift 2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/passthrough.json", "w") as f:  # heappeak.Rows(100000)
    f.write('{"rows":[' + ",".join('{"id":%d,"name":"customer-name-padding-xx","email":"someone@example.com","v":12.5}' % i for i in range(100000)) + ']}')
note = "a note that pads the record to a few hundred bytes; " * 9
with open(d + "/reshape.json", "w") as f:  # the engine benchmark's wideRows(16000)
    f.write('{"rows":[' + ",".join('{"id":%d,"name":"customer-name-padding-xx","email":"someone@example.com","v":12.5,"note":"%s"}' % (i, note) for i in range(16000)) + ']}')
PY
mkdir -p "$work/flows"
for kind in passthrough reshape; do
  if [ $kind = passthrough ]; then rows='=trigger.body.rows'; else rows="'=trigger.body.rows.map(r, {\"id\": r.id, \"email\": r.email, \"total\": r.v * 2.0})'"; fi
  cat > "$work/flows/big-$kind.yaml" <<YAML
name: big-$kind
trigger: {webhook: {mode: sync}}
steps:
  - id: shape
    set:
      rows: $rows
      count: =size(trigger.body.rows)
  - id: post
    call: http.request
    connection: sink
    with: {method: POST, url: "http://127.0.0.1:19431/big", body: =steps.shape}
  - respond: {body: {count: =steps.shape.count}}
YAML
done
"$sinkbin" -addr 127.0.0.1:19431 & sleep 0.5
uptime
for r in $(seq "$rounds"); do
  for nb in "$@"; do
    name=${nb%%=*} bin=${nb#*=}
    for kind in passthrough reshape; do
      d="$work/data-$name-$kind-$r"; mkdir -p "$d"
      cat > "$d/weft.yaml" <<YAML
addr: 127.0.0.1:19430
log_level: warn
data_dir: $d
max_body_bytes: 16777216
deploy: [$work/flows/*.yaml]
connections:
  sink: {connector: http, allow_private: true}
YAML
      (cd "$d" && GODEBUG=gctrace=1 exec "$bin" serve -config "$d/weft.yaml" 2> "$d/stderr") &
      pid=$!
      for _ in $(seq 100); do curl -sf http://127.0.0.1:19430/healthz >/dev/null && break; sleep 0.1; done
      sleep 1
      rss0=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); hwm0=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
      gc0=$(grep -c '^gc ' "$d/stderr" || true)
      size=$(stat -c %s "$work/$kind.json")
      out=$(curl -s -w ' http=%{http_code} s=%{time_total}' -H 'Content-Type: application/json' --data-binary @"$work/$kind.json" http://127.0.0.1:19430/hooks/big-$kind)
      hwm1=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
      heap=$(tail -n +$((gc0+1)) "$d/stderr" | grep '^gc ' | sed -E 's/.* ([0-9]+)->([0-9]+)->([0-9]+) MB.*/\1/' | sort -n | tail -1)
      echo "round=$r bin=$name flow=$kind payload_bytes=$size rss_before_kib=$rss0 hwm_before_kib=$hwm0 hwm_after_kib=$hwm1 peak_rise_x_payload=$(python3 -c "print(round(($hwm1-$rss0)*1024/$size,2))") max_heap_at_gc_mb=${heap:-none} gcs=$(( $(grep -c '^gc ' "$d/stderr" || true) - gc0 )) reply=$(echo "$out" | tail -c 60)"
      kill $pid; wait $pid 2>/dev/null || true
    done
  done
done
