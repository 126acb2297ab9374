#!/usr/bin/env bash
# Portal page times at scale: 1,000 published APIs and one developer with 500 subscriptions,
# against the release server. Reports the median of 5 loads of each page (server-side render
# or REST call, measured by curl), so regressions in pagination show up.
#   APIS=1000 SUBSCRIPTIONS=500 scripts/bench-portal.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

APIS="${APIS:-1000}"
SUBSCRIPTIONS="${SUBSCRIPTIONS:-500}"

say "building (release)"
# Its own site directory: the debug build's (target/site) keeps serving the tests' wasm.
export LEPTOS_SITE_ROOT="target/site-release"
cargo leptos build --release >/dev/null 2>&1 || cargo leptos build --release

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

DB_NAME=gatehouse_bench_portal
fresh_db "$DB_NAME"
port=$(free_port)
base="http://127.0.0.1:$port"
GATEHOUSE_DATABASE__URL="$PG_URL/$DB_NAME" GATEHOUSE_SERVER__ADDR="127.0.0.1:$port" \
  GATEHOUSE_SERVER__SITE_ROOT="$ROOT/target/site-release" GATEHOUSE_ADMIN_PASSWORD=bench-admin \
  GATEHOUSE_DEMO__SEED=true GATEHOUSE_DEMO__PASSWORD=bench-demo GATEHOUSE_DEMO__APIS=false RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/server" >"$work/server.log" 2>&1 &
server_pid=$!
wait_http "$base/ready" 60 || { cat "$work/server.log"; die "server not ready"; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token_for() { # user password scopes
  local reg
  reg=$(curl -fsS -u "$1:$2" -H 'content-type: application/json' \
    -d "{\"clientName\":\"bench-$1\",\"owner\":\"$1\",\"grantType\":\"password\"}" "$base/client-registration/v0.17/register")
  curl -fsS -u "$(json '["clientId"]' <<<"$reg"):$(json '["clientSecret"]' <<<"$reg")" \
    -d grant_type=password -d "username=$1" -d "password=$2" --data-urlencode "scope=$3" \
    "$base/oauth2/token" | json '["access_token"]'
}
admin=$(token_for admin bench-admin 'apim:api_view apim:api_create apim:api_publish')
dev=$(token_for subscriber bench-demo 'apim:subscribe apim:app_manage apim:sub_manage')

say "creating and publishing $APIS APIs"
started=$(date +%s)
ids=()
for i in $(seq 1 "$APIS"); do
  id=$(curl -fsS -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"name\":\"Bench API $i\",\"context\":\"/bench$i\",\"version\":\"1.0.0\",\"description\":\"Benchmark API number $i\",\"tags\":[\"bench\"],\"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://127.0.0.1:9/\"}},\"operations\":[{\"target\":\"/items\",\"verb\":\"GET\"}]}" \
    "$base/api/am/publisher/v4/apis" | json '["id"]')
  rev=$(curl -fsS -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d '{"description":"bench"}' "$base/api/am/publisher/v4/apis/$id/revisions" | json '["id"]')
  curl -fsS -o /dev/null -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d '[{"name":"Default","vhost":"localhost"}]' "$base/api/am/publisher/v4/apis/$id/deploy-revision?revisionId=$rev"
  curl -fsS -o /dev/null -X POST -H "authorization: Bearer $admin" \
    "$base/api/am/publisher/v4/apis/change-lifecycle?apiId=$id&action=Publish"
  ids+=("$id")
done
echo "  $(( $(date +%s) - started )) s"

say "one application with $SUBSCRIPTIONS subscriptions"
app=$(curl -fsS -H "authorization: Bearer $dev" -H 'content-type: application/json' \
  -d '{"name":"Bench app"}' "$base/api/am/devportal/v3/applications" | json '["applicationId"]')
for i in $(seq 0 $((SUBSCRIPTIONS - 1))); do
  curl -fsS -o /dev/null -H "authorization: Bearer $dev" -H 'content-type: application/json' \
    -d "{\"applicationId\":\"$app\",\"apiId\":\"${ids[$i]}\",\"throttlingPolicy\":\"Unlimited\"}" \
    "$base/api/am/devportal/v3/subscriptions"
done

# A portal session for the developer (JSON sign-in needs no CSRF token).
curl -fsS -o /dev/null -c "$work/cookies" -H 'content-type: application/json' \
  -d '{"username":"subscriber","password":"bench-demo"}' "$base/auth/sign-in"

median() { # url [curl args...]: median of 5 total times, in ms
  local url=$1; shift
  for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' "$@" "$url"
  done | sort -n | sed -n 3p | awk '{printf "%.0f", $1 * 1000}'
}
say "page and call times (median of 5)"
printf '%-58s %8s\n' "what" "ms"
row() { printf '%-58s %8s\n' "$1" "$(median "${@:2}")"; }
row "catalogue page, anonymous (/devportal)" "$base/devportal"
row "catalogue search page (/devportal?query=tag:bench)" "$base/devportal?query=tag:bench"
row "catalogue page 40 (/devportal?offset=960)" "$base/devportal?offset=960"
row "API page (/devportal/apis/{id})" "$base/devportal/apis/${ids[0]}" -b "$work/cookies"
row "applications page, signed in" "$base/devportal/applications" -b "$work/cookies"
row "application page with $SUBSCRIPTIONS subscriptions" "$base/devportal/applications/$app" -b "$work/cookies"
row "REST GET /apis?limit=25" "$base/api/am/devportal/v3/apis?limit=25"
row "REST GET /subscriptions?applicationId=…&limit=50" "$base/api/am/devportal/v3/subscriptions?applicationId=$app&limit=50" -H "authorization: Bearer $dev"
row "REST GET /subscriptions?applicationId=…&limit=500" "$base/api/am/devportal/v3/subscriptions?applicationId=$app&limit=500" -H "authorization: Bearer $dev"
