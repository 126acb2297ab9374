#!/usr/bin/env bash
# Declarative configuration benchmark: two release servers, each on a fresh database. The first
# gets APIS APIs (5 operations, a Markdown document, deployed and published) and APPS
# applications (resident keys, 2 subscriptions each) through the REST API; then the `gatehouse`
# CLI exports it, imports it into the second (plan, apply, a second import that changes
# nothing) and exports the second. Reports each step's wall time, the configuration's size and
# whether the two exports are identical.
#   APIS=200 APPS=100 scripts/bench-gitops.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

APIS="${APIS:-100}"
APPS="${APPS:-50}"
say "building the server and the gatehouse CLI (release)"
cargo build --release --package=server --bin=server --bin=gatehouse >/dev/null 2>&1 \
  || cargo build --release --package=server --bin=server --bin=gatehouse

work=$(mktemp -d)
# start_server runs in a command substitution (a subshell): the servers' pids go to a file.
cleanup() {
  local p
  for p in $(cat "$work/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
  for p in a b; do pg -c "DROP DATABASE IF EXISTS gatehouse_bench_$p WITH (FORCE)" 2>/dev/null || true; done
}
trap cleanup EXIT

start_server() { # name → base URL on stdout
  local name="$1" port
  fresh_db "gatehouse_bench_$name"
  port=$(free_port)
  GATEHOUSE_DATABASE__URL="$PG_URL/gatehouse_bench_$name" GATEHOUSE_SERVER__ADDR="127.0.0.1:$port" \
    GATEHOUSE_ADMIN_PASSWORD=bench-admin RUST_LOG=warn \
    "$CARGO_TARGET_DIR/release/server" >"$work/server-$name.log" 2>&1 &
  echo $! >>"$work/pids"
  wait_http "http://127.0.0.1:$port/ready" 60 || { cat "$work/server-$name.log" >&2; die "server $name not ready"; }
  echo "http://127.0.0.1:$port"
}

say "starting two servers"
a=$(start_server a)
b=$(start_server b)

say "populating the first: $APIS APIs, $APPS applications"
t0=$(date +%s.%N)
python3 - "$a" "$APIS" "$APPS" >"$work/secrets.env" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
base, n_apis, n_apps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def call(method, path, token=None, body=None, form=None, auth=None):
    headers, data = {}, None
    if token: headers["authorization"] = f"Bearer {token}"
    if auth: headers["authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    if body is not None:
        data = json.dumps(body).encode(); headers["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode(); headers["content-type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read()[:400]!r}")
    return json.loads(text) if text else None
reg = call("POST", "/client-registration/v0.17/register", auth="admin:bench-admin",
           body={"clientName": "bench", "owner": "admin", "grantType": "password", "saasApp": True})
tok = call("POST", "/oauth2/token", auth=f"{reg['clientId']}:{reg['clientSecret']}",
           form={"grant_type": "password", "username": "admin", "password": "bench-admin",
                 "scope": "apim:admin apim:api_view apim:api_create apim:api_publish apim:subscribe apim:app_manage"})["access_token"]
P, D = "/api/am/publisher/v4", "/api/am/devportal/v3"
ids = []
for i in range(n_apis):
    api = call("POST", f"{P}/apis", tok, {
        "name": f"Bench{i}", "context": f"/bench{i}", "version": "1.0.0", "description": f"API number {i}",
        "policies": ["Gold", "Unlimited"],
        "endpointConfig": {"endpoint_type": "http", "production_endpoints": {"url": f"http://127.0.0.1:9/b{i}"}},
        "operations": [{"target": f"/items{j}/{{id}}", "verb": "GET"} for j in range(4)]
                      + [{"target": "/health", "verb": "GET", "authType": "None"}]})
    aid = api["id"]; ids.append(aid)
    call("POST", f"{P}/apis/{aid}/documents", tok, {"name": "Guide", "type": "HOWTO", "sourceType": "MARKDOWN",
         "visibility": "API_LEVEL", "inlineContent": f"# Bench {i}\n\nHow to call it.\n" * 5})
    rev = call("POST", f"{P}/apis/{aid}/revisions", tok, {"description": "first"})
    call("POST", f"{P}/apis/{aid}/deploy-revision?revisionId={rev['id']}", tok, [{"name": "Default"}])
    call("POST", f"{P}/apis/change-lifecycle?apiId={aid}&action=Publish", tok)
for k in range(n_apps):
    app = call("POST", f"{D}/applications", tok, {"name": f"App{k}", "throttlingPolicy": "Unlimited"})
    app_id = app["applicationId"]
    key = call("POST", f"{D}/applications/{app_id}/generate-keys", tok,
               {"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]})
    for aid in (ids[k % len(ids)], ids[(k + 1) % len(ids)]):
        call("POST", f"{D}/subscriptions", tok, {"applicationId": app_id, "apiId": aid, "throttlingPolicy": "Gold"})
    # The secrets go to the import's environment, as a CI's secret store would give them.
    print(f"export APP{k}_SECRET='{key['consumerSecret']}'")
PY
t1=$(date +%s.%N)

# The applications' secrets, for the parameter file (from the environment, as in a CI).
params="$work/params.yaml"
echo "applications:" >"$params"
python3 - "$APPS" >>"$params" <<'PY'
import sys
for k in range(int(sys.argv[1])):
    print(f"  admin/App{k}:\n    keys:\n      PRODUCTION: {{consumerSecret: \"${{APP{k}_SECRET}}\"}}")
PY

gh() { GATEHOUSE_PASSWORD=bench-admin "$CARGO_TARGET_DIR/release/gatehouse" "$@"; }
timed() { # label, command… → prints the seconds
  local s e label="$1"
  shift
  s=$(date +%s.%N)
  "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out" >&2; die "$label failed"; }
  e=$(date +%s.%N)
  python3 -c "print(f'{$e - $s:.2f}')"
}

source "$work/secrets.env"
say "exporting the first, importing into the second, exporting that"
export_a=$(timed export gh export "$work/one" --server "$a")
files=$(find "$work/one" -type f | wc -l)
size=$(du -sh "$work/one" | cut -f1)
plan=$(timed plan gh import "$work/one" --params "$params" --server "$b" --dry-run)
apply=$(timed import gh import "$work/one" --params "$params" --server "$b")
tail -1 "$work/last.out"
again=$(timed re-import gh import "$work/one" --params "$params" --server "$b")
tail -1 "$work/last.out"
grep -q '^0 create, 0 update' "$work/last.out" || die "the second import changed something"
export_b=$(timed export gh export "$work/two" --server "$b")
if diff -r "$work/one" "$work/two" >/dev/null; then same=identical; else same=DIFFERENT; fi

printf '\n%s APIs, %s applications: %s files, %s (populating over REST: %.1f s)\n' \
  "$APIS" "$APPS" "$files" "$size" "$(python3 -c "print($t1 - $t0)")"
printf '%-36s %8s s\n' "export (first server)" "$export_a" "import --dry-run (plan, empty target)" "$plan" \
  "import (empty target)" "$apply" "import again (nothing to change)" "$again" "export (second server)" "$export_b"
echo "the two exports: $same"
[ "$same" = identical ] || die "the exports differ"
