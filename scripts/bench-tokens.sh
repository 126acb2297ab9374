#!/usr/bin/env bash
# Token endpoint benchmark: client_credentials tokens per second from the release server, in
# ephemeral and persistent mode, RS256 and ES256. The server is pinned to CPU 0; wrk and
# PostgreSQL share CPU 1. Reports tokens/s, p50/p99, the server's CPU microseconds per token
# (so tokens/s per core = 1e6 / that) and PostgreSQL's.
#   DURATION=10 CONNECTIONS=16 scripts/bench-tokens.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
export DEBIAN_FRONTEND=noninteractive
have wrk || { as_root apt-get update -qq; as_root apt-get install -y -qq wrk >/dev/null; }

say "building the server (release)"
cargo build --release --workspace --bin server >/dev/null 2>&1 || cargo build --release --workspace --bin server

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

DB_NAME=gatehouse_bench_tokens
fresh_db "$DB_NAME"
port=$(free_port)
base="http://127.0.0.1:$port"

start_server() { # token_mode algorithm
  GATEHOUSE_DATABASE__URL="$PG_URL/$DB_NAME" GATEHOUSE_SERVER__ADDR="127.0.0.1:$port" \
    GATEHOUSE_ADMIN_PASSWORD=bench-admin GATEHOUSE_KEYMANAGER__TOKEN_MODE="$1" \
    GATEHOUSE_KEYMANAGER__SIGNING_ALGORITHM="$2" RUST_LOG=warn \
    taskset -c 0 "$CARGO_TARGET_DIR/release/server" >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_http "$base/ready" 60 || { cat "$work/server.log"; die "server not ready"; }
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start_server ephemeral RS256
reg=$(curl -fsS -u admin:bench-admin -H 'content-type: application/json' \
  -d '{"clientName":"bench","owner":"admin","grantType":"password"}' "$base/client-registration/v0.17/register")
admin=$(curl -fsS -u "$(json '["clientId"]' <<<"$reg"):$(json '["clientSecret"]' <<<"$reg")" \
  -d grant_type=password -d username=admin -d password=bench-admin \
  --data-urlencode 'scope=apim:subscribe apim:app_manage' "$base/oauth2/token" | json '["access_token"]')
app=$(curl -fsS -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"name":"bench"}' "$base/api/am/devportal/v3/applications" | json '["applicationId"]')
key=$(curl -fsS -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"keyType":"PRODUCTION"}' "$base/api/am/devportal/v3/applications/$app/generate-keys")
basic=$(printf '%s:%s' "$(json '["consumerKey"]' <<<"$key")" "$(json '["consumerSecret"]' <<<"$key")" | base64 -w0)
cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA

ticks() { awk '{s += $14 + $15} END {print s + 0}' "$@" 2>/dev/null; }
pg_ticks() { ticks $(pgrep -x postgres | sed 's|.*|/proc/&/stat|'); }
tck=$(getconf CLK_TCK)

say "wrk: ${DURATION}s, $CONNECTIONS connections, POST /oauth2/token (client_credentials)"
printf '%-22s %10s %9s %9s %16s %16s\n' mode tokens/s p50 p99 "server us/token" "postgres us/token"
for mode in "ephemeral RS256" "ephemeral ES256" "persistent RS256" "persistent ES256"; do
  # shellcheck disable=SC2086
  [ -n "$server_pid" ] || start_server $mode
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -s "$work/token.lua" "$base/oauth2/token" >/dev/null
  s0=$(ticks "/proc/$server_pid/stat"); p0=$(pg_ticks)
  out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/token.lua" "$base/oauth2/token")
  s1=$(ticks "/proc/$server_pid/stat"); p1=$(pg_ticks)
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  [ -z "$bad" ] || die "$mode: $bad non-2xx answers"
  printf '%-22s %10s %9s %9s %16s %16s\n' "$mode" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk -v d=$((s1 - s0)) -v t="$tck" -v r="$reqs" 'BEGIN {printf "%.0f", d * 1e6 / t / r}')" \
    "$(awk -v d=$((p1 - p0)) -v t="$tck" -v r="$reqs" 'BEGIN {printf "%.0f", d * 1e6 / t / r}')"
  stop_server
done
rows=$(psql "$PG_URL/$DB_NAME" -qAtX -c "SELECT count(*) FROM access_token")
echo "access_token rows after the persistent runs: $rows (ephemeral runs store none)"
