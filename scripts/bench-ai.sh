#!/usr/bin/env bash
# AI benchmark, release builds on this machine:
#  1. the embedded model alone (`cargo bench -p server --bench ai`): one question's embedding,
#     and the test catalogue's texts in batches;
#  2. the release server on a fresh database: the 52 APIs of the AI test catalogue imported and
#     published through the REST API (the publish request's time: the indexing is queued, not
#     waited for); the indexer's throughput, first while publishing, then for "re-embed all"
#     (Admin v4 /ai-index/reindex, every text again); the server's peak memory;
#  3. the marketplace assistant end to end (question → embedding → nearest neighbours → answer),
#     every question of the question set, one at a time;
#  4. the nearest-neighbour query alone in PostgreSQL (pgbench, HNSW index), on the catalogue's
#     vectors and on VECTORS random ones (default 100,000).
#   VECTORS=100000 scripts/bench-ai.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

VECTORS="${VECTORS:-100000}"
ai_env server
[ -f "$MODELS_DIR/all-MiniLM-L6-v2/model.safetensors" ] || bash scripts/setup-models.sh minilm
have pgbench || die "pgbench is missing (Debian: postgresql-client)"

say "the embedded model alone (cargo bench)"
GATEHOUSE_MODELS_DIR="$MODELS_DIR" cargo bench -q -p server --bench ai 2>/dev/null \
  || GATEHOUSE_MODELS_DIR="$MODELS_DIR" cargo bench -p server --bench ai

say "building the server (release)"
cargo build --release --package=server --bin=server --no-default-features >/dev/null 2>&1 \
  || cargo build --release --package=server --bin=server --no-default-features

work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

DB_NAME=gatehouse_bench_ai
fresh_db "$DB_NAME"
port=$(free_port)
base="http://127.0.0.1:$port"
GATEHOUSE_DATABASE__URL="$PG_URL/$DB_NAME" GATEHOUSE_SERVER__ADDR="127.0.0.1:$port" \
  GATEHOUSE_ADMIN_PASSWORD=bench-admin GATEHOUSE_AI__REQUESTS_PER_MINUTE=1000000 RUST_LOG=warn \
  "$CARGO_TARGET_DIR/release/server" >"$work/server.log" 2>&1 &
server_pid=$!
wait_http "$base/ready" 60 || { cat "$work/server.log"; die "server not ready"; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
reg=$(curl -fsS -u admin:bench-admin -H 'content-type: application/json' \
  -d '{"clientName":"bench-ai","owner":"admin","grantType":"password"}' "$base/client-registration/v0.17/register")
token=$(curl -fsS -u "$(json '["clientId"]' <<<"$reg"):$(json '["clientSecret"]' <<<"$reg")" \
  -d grant_type=password -d username=admin -d password=bench-admin \
  --data-urlencode 'scope=apim:admin apim:api_view apim:api_create apim:api_publish' \
  "$base/oauth2/token" | json '["access_token"]')
auth=(-H "authorization: Bearer $token")
status() { curl -fsS "${auth[@]}" "$base/api/am/admin/v4/ai-index"; }
# Waits until nothing is queued and every listed API is embedded: seconds since $1 (epoch ns).
wait_indexed() {
  while :; do
    s=$(status)
    if python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["queued"]==0 and s["apisIndexed"]==s["apisListed"] else 1)' <<<"$s"; then
      break
    fi
    sleep 0.1
  done
  python3 -c "import time; print(f'{(time.time_ns() - $1) / 1e9:.2f}')"
}

say "publishing the AI test catalogue"
catalogue=server/tests/fixtures/ai/catalogue
started=$(date +%s%N)
: >"$work/publish.txt"
n=0
for f in "$catalogue"/*.json; do
  n=$((n + 1))
  slug=$(basename "$f" .json)
  id=$(curl -fsS "${auth[@]}" -F "file=@$f" \
    -F "additionalProperties={\"context\":\"/$slug\",\"version\":\"1.0\",\"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://127.0.0.1:9\"}}}" \
    "$base/api/am/publisher/v4/apis/import-openapi" | json '["id"]')
  rev=$(curl -fsS "${auth[@]}" -H 'content-type: application/json' -d '{"description":"bench"}' \
    "$base/api/am/publisher/v4/apis/$id/revisions" | json '["id"]')
  curl -fsS -o /dev/null "${auth[@]}" -H 'content-type: application/json' \
    -d '[{"name":"Default","vhost":"localhost"}]' "$base/api/am/publisher/v4/apis/$id/deploy-revision?revisionId=$rev"
  curl -fsS -o /dev/null -w '%{time_total}\n' -X POST "${auth[@]}" \
    "$base/api/am/publisher/v4/apis/change-lifecycle?apiId=$id&action=Publish" >>"$work/publish.txt"
done
first=$(wait_indexed "$started")
texts=$(status | json '["texts"]')
publish=$(sort -n "$work/publish.txt" | awk '{a[NR]=$1} END {printf "p50 %.1f ms, max %.1f ms", a[int((NR+1)/2)]*1000, a[NR]*1000}')

say "re-embedding everything (Admin v4 /ai-index/reindex)"
again=$(date +%s%N)
curl -fsS -o /dev/null "${auth[@]}" -X POST "$base/api/am/admin/v4/ai-index/reindex"
sleep 0.2
reembed=$(wait_indexed "$again")
peak=$(awk '$1 == "VmHWM:" { print int($2 / 1024) }' "/proc/$server_pid/status")

say "the marketplace assistant, each question of the question set"
python3 - "$base" "$token" server/tests/fixtures/ai/questions.json >"$work/assistant.txt" <<'PY'
import json, sys, time, urllib.request
base, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
questions = [q["question"] for q in json.load(open(path))]
def ask(q):
    req = urllib.request.Request(f"{base}/api/am/devportal/v3/marketplace-assistant/chat",
        data=json.dumps({"query": q}).encode(), method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        r.read()
    return (time.perf_counter() - t) * 1000
for q in questions[:5]:
    ask(q)
times = sorted(ask(q) for q in questions)
p = lambda f: times[min(len(times) - 1, round((len(times) - 1) * f))]
print(f"{len(times)} questions: p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, max {times[-1]:.1f} ms")
PY

say "the nearest-neighbour query alone (pgbench)"
db="$PG_URL/$DB_NAME"
rows=$(psql "$db" -qAtX -c "SELECT max(id) FROM ai_embedding")
cat >"$work/nn.sql" <<SQL
\set k random(1, $rows)
SELECT api_id FROM ai_embedding WHERE model = 'all-MiniLM-L6-v2' AND dimension = 384
 ORDER BY embedding::vector(384) <=> (SELECT embedding::vector(384) FROM ai_embedding WHERE id = :k)
 LIMIT 24;
SQL
# The scan that orders by distance (the query vector's own lookup is a primary-key scan).
plan=$(psql "$db" -qAtX -c "EXPLAIN $(sed -e '1d' -e 's/:k/1/' "$work/nn.sql")" \
  | grep -o 'Index Scan using [a-z_0-9]*hnsw[a-z_0-9]*\|Seq Scan on ai_embedding ' | head -1)
nn_small=$(pgbench -n -T 10 -c 1 -f "$work/nn.sql" "$db" 2>/dev/null | awk -F' = ' '/latency average/ {print $2}')

say "$VECTORS random vectors, HNSW index built"
psql "$db" -qAtX -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE TABLE bench_vector AS
  SELECT i AS id, (SELECT array_agg(random() - 0.5)::real[] FROM generate_series(1, 384) WHERE i > 0)::vector(384) AS embedding
    FROM generate_series(1, $VECTORS) i;
-- The query vector is looked up by id: without a key that lookup alone is a sequential scan.
ALTER TABLE bench_vector ADD PRIMARY KEY (id);
SQL
build_started=$(date +%s%N)
psql "$db" -qAtX -v ON_ERROR_STOP=1 -c "SET maintenance_work_mem = '1GB'" \
  -c "CREATE INDEX ON bench_vector USING hnsw (embedding vector_cosine_ops)" >/dev/null
build=$(python3 -c "import time; print(f'{(time.time_ns() - $build_started) / 1e9:.1f}')")
cat >"$work/nn-large.sql" <<SQL
\set k random(1, $VECTORS)
SELECT id FROM bench_vector ORDER BY embedding <=> (SELECT embedding FROM bench_vector WHERE id = :k) LIMIT 24;
SQL
nn_large=$(pgbench -n -T 10 -c 1 -f "$work/nn-large.sql" "$db" 2>/dev/null | awk -F' = ' '/latency average/ {print $2}')

echo
echo "AI benchmark ($(nproc) cores)"
echo "  catalogue: $n APIs, $texts texts embedded"
echo "  publish request (indexing queued, not waited for): $publish"
echo "  indexed while publishing: all embedded $first s after the first import"
echo "  re-embed all: $texts texts in $reembed s ($(python3 -c "print(f'{$texts / $reembed:.1f}')") texts/s)"
echo "  server peak memory (VmHWM): $peak MB"
echo "  assistant end to end: $(cat "$work/assistant.txt")"
echo "  nearest neighbours, $rows catalogue vectors: $nn_small per query (${plan:-no index scan})"
echo "  nearest neighbours, $VECTORS random vectors: $nn_large per query (HNSW build $build s)"
