#!/usr/bin/env bash
# The added cost per request of authentication, authorization and audit
# under load (BENCHMARKS.md §10): weft serve on bench/weft.yaml (the peer
# order flow, posting to bench/sink on 127.0.0.1:9000), wrk -t2 -c16 for
# DUR seconds (10) after a 2 s warm-up per case, ROUNDS interleaved rounds
# (3), every case against the baseline in the same round:
#
#   flow-*   POST /api/flows/order-flow/runs (the sync order flow, run through the API)
#   hook-*   POST /hooks/order-flow (webhooks are not authenticated: the reference)
#   read-*   GET /api/flows
#   *-nocache  the same with credential_cache_ttl: 0s (no principal cache)
#   write-*  PUT /api/connections/bench (audited: connection.update), with the
#            audit log and with a benchmark build that discards it
#
# Credentials: open (an open loopback server, no token, no users: the
# baseline), token (api_token), pat (a personal access token), session (a
# cookie session with its CSRF token). Needs go, wrk, curl and python3.
# Usage: bench/authz.sh [ROUNDS] > results.txt   (make bench-authz)
set -euo pipefail
rounds=${1:-3}
dur=${DUR:-10}
conc=${CONC:-16}
cd "$(dirname "$0")/.."
for c in wrk curl python3; do
  command -v $c >/dev/null || { echo "bench-authz: needs $c (apt-get install -y $c)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/weft" ./cmd/weft
go build -tags weft_bench_noaudit -o "$tmp/weft-noaudit" ./cmd/weft
go build -o "$tmp/sink" ./bench/sink
"$tmp/sink" -addr 127.0.0.1:9000 & pids+=($!)

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Flow runs and API calls go to separate servers: GET /api/flows sums the
# last 24 h of runs, so it must not see the flow cases' runs.
flows_open=127.0.0.1:18090 flows_auth=127.0.0.1:18091
api_open=127.0.0.1:18092 api_auth=127.0.0.1:18093 api_noaudit=127.0.0.1:18094
flows_nocache=127.0.0.1:18095 api_nocache=127.0.0.1:18096
# The same servers with the credential cache off (access/cache.go).
{ cat bench/weft.yaml; echo "credential_cache_ttl: 0s"; } > "$tmp/nocache.yaml"

# start NAME ADDR BINARY [API_TOKEN [CONFIG]]
start() {
  mkdir -p "$tmp/$1"
  if [ -n "${4:-}" ]; then export WEFT_API_TOKEN=$4; else unset WEFT_API_TOKEN; fi
  "$3" serve --config "${5:-bench/weft.yaml}" --addr "$2" --data-dir "$tmp/$1" >"$tmp/$1.log" 2>&1 &
  pids+=($!)
  unset WEFT_API_TOKEN
  for _ in $(seq 1 120); do curl -sf -o /dev/null "http://$2/healthz" && return; sleep 0.25; done
  echo "bench-authz: $1 did not start" >&2; cat "$tmp/$1.log" >&2; exit 1
}
start flows-open $flows_open "$tmp/weft"
start flows-auth $flows_auth "$tmp/weft" "$token"
start api-open $api_open "$tmp/weft"
start api-auth $api_auth "$tmp/weft" "$token"
start api-noaudit $api_noaudit "$tmp/weft-noaudit" "$token"
start flows-nocache $flows_nocache "$tmp/weft" "$token" "$tmp/nocache.yaml"
start api-nocache $api_nocache "$tmp/weft" "$token" "$tmp/nocache.yaml"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# On ADDR: a local admin, signed in (a cookie session), and its personal access token.
declare -A pat cookie csrf
credentials() {
  curl -sf -X POST "http://$1/api/users" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench\",\"password\":\"$password\",\"role\":\"admin\"}" >/dev/null
  csrf[$1]=$(curl -sf -c "$tmp/cookies" -X POST "http://$1/api/session" -H 'Content-Type: application/json' \
    -d "{\"user\":\"bench\",\"password\":\"$password\"}" | json '["csrf_token"]')
  cookie[$1]="weft_session=$(awk '$6 == "weft_session" {print $7}' "$tmp/cookies")"
  pat[$1]=$(curl -sf -X POST "http://$1/api/tokens" -H "Cookie: ${cookie[$1]}" -H "X-CSRF-Token: ${csrf[$1]}" \
    -H 'Content-Type: application/json' -d '{"name":"bench"}' | json '["token"]')
  case ${pat[$1]} in weft_pat_*) ;; *) echo "bench-authz: no personal access token on $1" >&2; exit 1;; esac
}
credentials $flows_auth
credentials $api_auth
credentials $flows_nocache
credentials $api_nocache

# case NAME: ADDR METHOD PATH BODY CREDENTIAL
declare -A cases=(
  [flow-open]="$flows_open POST /api/flows/order-flow/runs bench/authz/order.json -"
  [flow-token]="$flows_auth POST /api/flows/order-flow/runs bench/authz/order.json token"
  [flow-pat]="$flows_auth POST /api/flows/order-flow/runs bench/authz/order.json pat"
  [flow-session]="$flows_auth POST /api/flows/order-flow/runs bench/authz/order.json session"
  [flow-pat-nocache]="$flows_nocache POST /api/flows/order-flow/runs bench/authz/order.json pat"
  [flow-session-nocache]="$flows_nocache POST /api/flows/order-flow/runs bench/authz/order.json session"
  [hook-open]="$flows_open POST /hooks/order-flow bench/authz/order.json -"
  [hook-token-server]="$flows_auth POST /hooks/order-flow bench/authz/order.json -"
  [read-open]="$api_open GET /api/flows - -"
  [read-token]="$api_auth GET /api/flows - token"
  [read-pat]="$api_auth GET /api/flows - pat"
  [read-session]="$api_auth GET /api/flows - session"
  [read-pat-nocache]="$api_nocache GET /api/flows - pat"
  [read-session-nocache]="$api_nocache GET /api/flows - session"
  [write-audit]="$api_auth PUT /api/connections/bench bench/authz/connection.json token"
  [write-noaudit]="$api_noaudit PUT /api/connections/bench bench/authz/connection.json token"
)
order=(flow-open flow-token flow-pat flow-session flow-pat-nocache flow-session-nocache hook-open hook-token-server
  read-open read-token read-pat read-session read-pat-nocache read-session-nocache write-noaudit write-audit)

run() { # NAME DURATION [--latency]
  read -r addr method path body cred <<<"${cases[$1]}"
  local auth_h="" cookie_h="" csrf_h=""
  case $cred in
    token) auth_h="Bearer $token" ;;
    pat) auth_h="Bearer ${pat[$addr]}" ;;
    session) cookie_h=${cookie[$addr]} csrf_h=${csrf[$addr]} ;;
  esac
  [ "$body" = - ] && body=""
  METHOD=$method BODY=$body AUTH=$auth_h COOKIE=$cookie_h CSRF=$csrf_h \
    wrk -t2 -c"$conc" -d"$2" ${3:-} -s bench/authz/request.lua "http://$addr$path"
}

echo "# $(date -u) bench/authz.sh: $rounds rounds, wrk -t2 -c$conc -d${dur}s after a 2 s warm-up per case"
echo "# $(uname -r), $(nproc) CPUs, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
for r in $(seq 1 "$rounds"); do
  for c in "${order[@]}"; do
    run "$c" 2s >/dev/null
    out=$(run "$c" "${dur}s" --latency)
    echo "## round $r $c"
    echo "$out"
    if grep -q "Non-2xx" <<<"$out"; then echo "bench-authz: $c answered non-2xx" >&2; exit 1; fi
  done
done | tee "$tmp/raw.txt"
python3 bench/authz/summary.py < "$tmp/raw.txt"
