#!/usr/bin/env bash
# Import benchmark: the release server on a fresh database; the largest OpenAPI fixture and
# generated documents (thousands of operations, 10+ MB) imported through the REST API
# (`/apis/import-openapi`, multipart upload) as a user would. Reports the wall time of each
# import (curl), and the server's resident memory before and at its peak (VmHWM).
#   PATHS=5000 scripts/bench-import.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PATHS="${PATHS:-5000}"
say "building the server (release)"
# The same build `make run` makes (cargo leptos builds the server this way).
cargo build --release --package=server --bin=server --no-default-features >/dev/null 2>&1 \
  || cargo build --release --package=server --bin=server --no-default-features

work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Generated documents: N paths × 2 operations, each with parameters, schemas and examples.
gen() {
  python3 - "$1" "$2" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
paths, schemas = {}, {}
for i in range(n):
    schemas[f"Item{i}"] = {"type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "integer", "format": "int64"}, "name": {"type": "string", "maxLength": 120},
        "tags": {"type": "array", "items": {"type": "string"}},
        "price": {"type": "number", "minimum": 0}, "description": {"type": "string", "example": "x" * 400}}}
    ref = {"$ref": f"#/components/schemas/Item{i}"}
    paths[f"/resource{i}/{{id}}"] = {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"operationId": f"get{i}", "summary": f"Read item {i}", "tags": [f"group{i % 50}"],
                "parameters": [{"name": "fields", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}},
                              "404": {"description": "Not found"}}},
        "put": {"operationId": f"put{i}", "summary": f"Replace item {i}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}}}
doc = {"openapi": "3.0.3", "info": {"title": f"Large API {n}", "version": "1.0.0"},
       "servers": [{"url": "https://backend.example.com/v1"}], "paths": paths,
       "components": {"schemas": schemas}}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
PY
}

say "generating documents"
LARGEST=$(ls -S server/tests/fixtures/openapi/oai-examples/*/* server/tests/fixtures/openapi/oai-examples/*/*/* 2>/dev/null | head -1)
cp "$LARGEST" "$work/fixture.${LARGEST##*.}"
gen 1000 "$work/large-1000.json"
gen "$PATHS" "$work/large-$PATHS.json"

DB_NAME=gatehouse_bench
fresh_db "$DB_NAME"
port=$(free_port)
GATEHOUSE_DATABASE__URL="$PG_URL/$DB_NAME" GATEHOUSE_SERVER__ADDR="127.0.0.1:$port" \
  GATEHOUSE_ADMIN_PASSWORD=bench-admin GATEHOUSE_PUBLISHER__MAX_DEFINITION_BYTES=268435456 \
  RUST_LOG=warn "$CARGO_TARGET_DIR/release/server" >"$work/server.log" 2>&1 &
server_pid=$!
wait_http "http://127.0.0.1:$port/ready" 60 || { cat "$work/server.log"; die "server not ready"; }
base="http://127.0.0.1:$port"

reg=$(curl -fsS -u admin:bench-admin -H 'content-type: application/json' \
  -d '{"clientName":"bench","owner":"admin","grantType":"password","saasApp":true}' \
  "$base/client-registration/v0.17/register")
cid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["clientId"])' <<<"$reg")
csec=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["clientSecret"])' <<<"$reg")
token=$(curl -fsS -u "$cid:$csec" -d grant_type=password -d username=admin -d password=bench-admin \
  --data-urlencode 'scope=apim:api_create apim:api_view' "$base/oauth2/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }
printf '\n%-34s %10s %11s %10s %12s %12s\n' document size operations "import s" "RSS before" "peak RSS"
i=0
for doc in "$work/fixture.${LARGEST##*.}" "$work/large-1000.json" "$work/large-$PATHS.json"; do
  i=$((i + 1))
  before=$(kb VmRSS)
  out=$(curl -sS -o "$work/resp.json" -w '%{http_code} %{time_total}' -H "authorization: Bearer $token" \
    -F "file=@$doc" -F "additionalProperties={\"name\":\"Bench $i\",\"context\":\"/bench$i\",\"version\":\"1\"}" \
    "$base/api/am/publisher/v4/apis/import-openapi")
  code=${out% *}; secs=${out#* }
  [ "$code" = 201 ] || { cat "$work/resp.json"; die "import of $doc answered $code"; }
  ops=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["operations"]))' "$work/resp.json")
  size=$(du -h "$doc" | cut -f1)
  if [ "$i" = 1 ]; then label="fixture $(basename "$LARGEST")"; else label=$(basename "$doc"); fi
  printf '%-34s %10s %11s %10s %9s MB %9s MB\n' "$label" \
    "$size" "$ops" "$secs" "$((before / 1024))" "$(( $(kb VmHWM) / 1024 ))"
done
printf '\nserver RSS after the imports: %s MB\n' "$(( $(kb VmRSS) / 1024 ))"
