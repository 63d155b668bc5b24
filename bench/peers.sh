#!/usr/bin/env bash
# Peer benchmark: Weft's synchronous order flow against a plain Go handler,
# Benthos and Node-RED, all in one run on this machine (BENCHMARKS.md).
#
# Needs the peers set up per ../shared/peers/README.md in $PEERS (sink on
# :9000, Benthos on :4195, Node-RED on :1880, wrk, hey) and, from this repo:
#   go build -o bin/weft ./cmd/weft && go build -o bin/plain ./bench/plain
#   ./bin/weft serve --config bench/weft.yaml --data-dir $(mktemp -d) &   # :8080
#   ./bin/plain &                                                          # :8090
# Usage: PEERS=/path bench/peers.sh [reps]
set -euo pipefail
: "${PEERS:?set PEERS to the peers folder}"
reps=${1:-3}
cd "$PEERS"
rm -f results/*.r*.wrk.txt results/*.r*.hey.txt
run() { ./suite.sh "$1" "$2" "$reps"; }
run plain-go-handler  http://127.0.0.1:8090/order
run weft              http://127.0.0.1:8080/hooks/order-flow
run benthos-4.60.0    http://127.0.0.1:4195/order
run nodered-5.0.7     http://127.0.0.1:1880/order
python3 summarize.py
