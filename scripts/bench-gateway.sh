#!/usr/bin/env bash
# Gateway load benchmark: wrk through the gateway (release build, standalone snapshot) to a
# local nginx backend, and the same through nginx as a reverse proxy, for comparison.
# The proxy under test is pinned to CPU 0 with one worker; wrk and the backend share CPU 1.
# Reports requests/s, p50/p99 latency and the proxy's CPU microseconds per request.
#   DURATION=10 CONNECTIONS=32 ROUNDS=3 SWAP_ROUNDS=5 scripts/bench-gateway.sh
#   SWAP_ONLY=1 scripts/bench-gateway.sh     (only the 10,000-API swap)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DURATION="${DURATION:-10}"
# This machine's numbers move by 10-20 % from run to run: the gateway-against-nginx comparison
# alternates the two ROUNDS times and takes the median of each.
ROUNDS="${ROUNDS:-3}"
# p99 alone moves between 1 and 3 ms from one 16 s window to the next here: the swap is
# measured in more rounds.
SWAP_ROUNDS="${SWAP_ROUNDS:-5}"
CONNECTIONS="${CONNECTIONS:-32}"
export DEBIAN_FRONTEND=noninteractive
have wrk || { as_root apt-get update -qq; as_root apt-get install -y -qq wrk >/dev/null; }
have nginx || [ -x /usr/sbin/nginx ] || { as_root apt-get update -qq; as_root apt-get install -y -qq nginx-light >/dev/null; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

say "building the gateway (profile dist: what serves traffic)"
cargo build --profile dist -p gateway >/dev/null 2>&1 || cargo build --profile dist -p gateway
cargo build --release -p gateway --example mint >/dev/null 2>&1 || cargo build --release -p gateway --example mint
MINT="$CARGO_TARGET_DIR/release/examples/mint"
# A test-only key stands for a key manager's signing key.
BENCH_KEY="$ROOT/gateway/tests/keys/rsa2048.pk8"
ISSUER="https://idp.bench.test"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

backend_port=$(free_port); nginx_proxy_port=$(free_port); gw_port=$(free_port); gw_admin=$(free_port)
mkdir -p "$work/logs" "$work/backend" "$work/proxy"
# nginx_conf DIR SERVER_BLOCKS: a one-worker nginx living in DIR.
nginx_conf() {
  cat <<CONF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;
  $2
}
CONF
}
# The backend: a fixed small JSON answer, on CPU 1 with wrk.
nginx_conf "$work/backend" "server { listen 127.0.0.1:$backend_port; location / { return 200 '{\"ok\":true}'; } }" >"$work/backend/nginx.conf"
taskset -c 1 "$NGINX" -c "$work/backend/nginx.conf" -p "$work/backend" &
pids+=($!)
# The comparison: nginx as a reverse proxy, on CPU 0 like the gateway.
nginx_conf "$work/proxy" "
  upstream backend { server 127.0.0.1:$backend_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_proxy_port;
    location /bench/1.0.0/ {
      proxy_pass http://backend/;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }" >"$work/proxy/nginx.conf"
taskset -c 0 "$NGINX" -c "$work/proxy/nginx.conf" -p "$work/proxy" &
pids+=($!)

# /bench: plain proxying. /secure: the full security path — a JWT from a key manager (RS256,
# keys inline), the application's subscription — to the same backend. /limited: the same plus
# every rate-limiting layer (an application policy per application and end user, a subscription
# tier per application and API, each with burst control, and backend max TPS) set far above the
# load, so every request pays for the checks and none is refused; its own application, so
# /secure stays auth-only. /full: all of that plus an advanced (API-level) policy with a
# header-conditioned group and mediation policies (a header added, threat protection over the
# headers and query, a response header removed).
cat >"$work/snapshot.yaml" <<SNAP
version: 1
apis:
  - id: bench
    name: Bench
    context: /bench
    version: 1.0.0
    endpoints:
      production: {urls: ["http://127.0.0.1:$backend_port"], timeoutMs: 5000}
    operations:
      - {method: GET, target: "/*"}
  - id: secure
    name: Secure
    context: /secure
    version: 1.0.0
    organization: bench
    security: {oauth2: true}
    endpoints:
      production: {urls: ["http://127.0.0.1:$backend_port"], timeoutMs: 5000}
    operations:
      - {method: GET, target: "/*"}
  - id: limited
    name: Limited
    context: /limited
    version: 1.0.0
    organization: bench
    security: {oauth2: true}
    maxTps: {production: {requests: 100000000, periodSeconds: 1}}
    endpoints:
      production: {urls: ["http://127.0.0.1:$backend_port"], timeoutMs: 5000}
    operations:
      - {method: GET, target: "/*"}
  - id: full
    name: Full
    context: /full
    version: 1.0.0
    organization: bench
    security: {oauth2: true}
    maxTps: {production: {requests: 100000000, periodSeconds: 1}}
    throttlingPolicy: BigAdvanced
    policies:
      request:
        - {policyName: addHeader, parameters: {headerName: X-Channel, headerValue: bench}}
        - {policyName: regexThreatProtection, parameters: {checkBody: false}}
      response:
        - {policyName: removeHeader, parameters: {headerName: Server}}
    endpoints:
      production: {urls: ["http://127.0.0.1:$backend_port"], timeoutMs: 5000}
    operations:
      - {method: GET, target: "/*"}
keyManagers:
  - {name: idp, organization: bench, issuer: "$ISSUER", jwks: {keys: [$("$MINT" jwk "$BENCH_KEY")]}}
applications:
  - {id: app-1, name: Bench app, organization: bench, owner: bench, keys: [{keyManager: idp, consumerKey: bench-client, keyType: PRODUCTION}]}
  - {id: app-2, name: Limited app, organization: bench, owner: bench, tier: BigApp, keys: [{keyManager: idp, consumerKey: bench-limited, keyType: PRODUCTION}]}
subscriptions:
  - {applicationId: app-1, apiId: secure, tier: Unlimited}
  - {applicationId: app-2, apiId: limited, tier: Big}
  - {applicationId: app-2, apiId: full, tier: Big}
throttlingPolicies:
  - {organization: bench, level: application, name: BigApp, requests: 1000000000, periodSeconds: 60, burst: {requests: 100000000, periodSeconds: 1}}
  - {organization: bench, level: subscription, name: Big, requests: 1000000000, periodSeconds: 60, burst: {requests: 100000000, periodSeconds: 1}}
advancedPolicies:
  - organization: bench
    name: BigAdvanced
    defaultLimit: {requests: 1000000000, periodSeconds: 60}
    conditionalGroups:
      - conditions: [{type: header, name: X-Partner, pattern: "^gold\$"}]
        limit: {requests: 1000000000, periodSeconds: 60}
SNAP
# start_gateway PORT ADMIN [ENV...]: one traffic worker on CPU 0; the main thread (admin port,
# snapshot builds) with wrk and the backend on CPU 1, as it would run beside the workers.
start_gateway() {
  local port=$1 admin=$2; shift 2
  env GATEHOUSE_GATEWAY__WORKERS=1 GATEHOUSE_GATEWAY__LISTEN="127.0.0.1:$port" GATEHOUSE_GATEWAY__ADMIN_LISTEN="127.0.0.1:$admin" RUST_LOG=warn,gateway=info GATEHOUSE_LOG__FORMAT=json "$@" \
    "$CARGO_TARGET_DIR/dist/gateway" --config "$work/snapshot.yaml" >"$work/logs/gateway-$port.log" 2>&1 &
  local pid=$!
  wait_http "http://127.0.0.1:$admin/ready" 20 || { cat "$work/logs/gateway-$port.log" >&2; die "gateway not ready"; }
  for task in /proc/"$pid"/task/*; do
    if grep -q '^gateway-worker' "$task/comm"; then
      taskset -p -c 0 "${task##*/}" >/dev/null
    else
      taskset -p -c "${MAIN_CPU:-1}" "${task##*/}" >/dev/null
      [ -n "${MAIN_IDLE:-}" ] && chrt -i -p 0 "${task##*/}"
    fi
  done
  echo "$pid"
}
gw_pid=$(start_gateway "$gw_port" "$gw_admin")
pids+=("$gw_pid")
# The same with the verified-token cache off: every request checks an RS256 signature.
gw_nocache_port=$(free_port); gw_nocache_admin=$(free_port)
gw_nocache_pid=$(start_gateway "$gw_nocache_port" "$gw_nocache_admin" GATEHOUSE_GATEWAY__TOKEN_CACHE_SIZE=0)
pids+=("$gw_nocache_pid")
# The same limits shared with (imaginary) other gateways through Redis: backend max TPS and
# burst control go through the Redis bucket (leases, as the limits are far away).
gw_shared_port=$(free_port); gw_shared_admin=$(free_port)
gw_shared_pid=$(start_gateway "$gw_shared_port" "$gw_shared_admin" GATEHOUSE_GATEWAY__REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" GATEHOUSE_GATEWAY__ENVIRONMENT="bench-$$")
pids+=("$gw_shared_pid")
token=$("$MINT" tokens "$BENCH_KEY" "$ISSUER" bench-client 1)
limited_token=$("$MINT" tokens "$BENCH_KEY" "$ISSUER" bench-limited 1)
wait_http "http://127.0.0.1:$nginx_proxy_port/bench/1.0.0/x" 20 || die "nginx not up"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# nginx's worker (the child of the master) does the work.
nginx_worker() { pgrep -P "$(cat "$work/$1/nginx.pid")" | head -1; }

run() { # name url pid [wrk args...]
  local name=$1 url=$2 pid=$3 before after out
  shift 3
  wrk -t1 -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null 2>&1 # warm-up
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")
  after=$(cpu_ticks "$pid")
  local reqs rps p50 p99 errors
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  local tck; tck=$(getconf CLK_TCK)
  local us; us=$(awk -v d=$((after - before)) -v t="$tck" -v r="$reqs" 'BEGIN { printf "%.1f", d * 1e6 / t / r }')
  printf '%-22s %10s req/s   p50 %8s   p99 %8s   proxy CPU %6s us/req  %s\n' "$name" "$rps" "$p50" "$p99" "$us" "$errors"
  LAST_US=$us
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

say "wrk: ${DURATION}s, $CONNECTIONS connections; proxies pinned to CPU 0, wrk and backend on CPU 1"
if [ -z "${SWAP_ONLY:-}" ]; then
  run "backend direct" "http://127.0.0.1:$backend_port/x" "$(nginx_worker backend)"
  gw_us=(); nginx_us=()
  for round in $(seq 1 "$ROUNDS"); do
    run "gateway (plain proxy)" "http://127.0.0.1:$gw_port/bench/1.0.0/x" "$gw_pid"
    gw_us+=("$LAST_US")
    run "nginx (reverse proxy)" "http://127.0.0.1:$nginx_proxy_port/bench/1.0.0/x" "$(nginx_worker proxy)"
    nginx_us+=("$LAST_US")
  done
  gw_med=$(median "${gw_us[@]}"); nginx_med=$(median "${nginx_us[@]}")
  awk -v g="$gw_med" -v n="$nginx_med" -v r="$ROUNDS" \
    'BEGIN { printf "plain proxy, median of %d rounds: gateway %.1f us/req, nginx %.1f us/req: %.2fx nginx\n", r, g, n, g / n }'
  run "gateway JWT (cached)" "http://127.0.0.1:$gw_port/secure/1.0.0/x" "$gw_pid" -H "Authorization: Bearer $token"
  run "gateway JWT + limits" "http://127.0.0.1:$gw_port/limited/1.0.0/x" "$gw_pid" -H "Authorization: Bearer $limited_token"
  run "gateway JWT + limits, shared" "http://127.0.0.1:$gw_shared_port/limited/1.0.0/x" "$gw_shared_pid" -H "Authorization: Bearer $limited_token"
  run "gateway full path" "http://127.0.0.1:$gw_port/full/1.0.0/x?q=shoes" "$gw_pid" -H "Authorization: Bearer $limited_token"
  run "gateway JWT (uncached)" "http://127.0.0.1:$gw_nocache_port/secure/1.0.0/x" "$gw_nocache_pid" -H "Authorization: Bearer $token"

  # OpenTelemetry on: the full path with 10 % and 100 % of traces sampled, spans sent over
  # OTLP/HTTP to a sink on CPU 1 that reads and acknowledges them.
  sink_port=$(free_port)
  taskset -c 1 python3 - "$sink_port" <<'PY' &
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
  pids+=($!)
  for ratio in 0.1 1; do
    tp=$(free_port); ta=$(free_port)
    tpid=$(start_gateway "$tp" "$ta" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port" \
      OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG="$ratio")
    pids+=("$tpid")
    run "full path, tracing $(awk -v r="$ratio" 'BEGIN { printf "%d %%", r * 100 }')" \
      "http://127.0.0.1:$tp/full/1.0.0/x?q=shoes" "$tpid" -H "Authorization: Bearer $limited_token"
    sleep 2
    curl -fsS "http://127.0.0.1:$ta/metrics" | awk '/^gatehouse_otel_spans_total/ {printf "    %s %s\n", $1, $2}'
    kill "$tpid" 2>/dev/null || true
  done
  # Analytics on: one event per request, sent in batches (as to the control plane) to the same
  # sink, which reads and acknowledges them.
  ap=$(free_port); aa=$(free_port)
  apid=$(start_gateway "$ap" "$aa" GATEHOUSE_ANALYTICS__URL="http://127.0.0.1:$sink_port/analytics")
  pids+=("$apid")
  run "full path, analytics" "http://127.0.0.1:$ap/full/1.0.0/x?q=shoes" "$apid" -H "Authorization: Bearer $limited_token"
  sleep 2
  curl -fsS "http://127.0.0.1:$aa/metrics" | awk '/^gatehouse_analytics_events_total/ {printf "    %s %s\n", $1, $2}'
  kill "$apid" 2>/dev/null || true
fi
kill "$gw_nocache_pid" "$gw_shared_pid" 2>/dev/null || true

# Live swap to 10,000 APIs while under load: errors, p99 against the same load without a swap,
# memory.
say "swap to 10,000 APIs under load"
python3 - "$work/big.json" "$backend_port" <<'PY'
import json, sys
path, port = sys.argv[1], sys.argv[2]
apis = [{
    "id": "bench", "name": "Bench", "context": "/bench", "version": "1.0.0",
    "endpoints": {"production": {"urls": [f"http://127.0.0.1:{port}"], "timeoutMs": 5000}},
    "operations": [{"method": "GET", "target": "/*"}],
}]
for i in range(1, 10000):
    apis.append({
        "id": f"api-{i}", "name": f"API {i}", "context": f"/svc{i}/orders", "version": "v1",
        "isDefaultVersion": i % 2 == 0,
        "endpoints": {"production": {"type": "load_balance", "urls": [f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"]}},
        "operations": [
            {"method": "GET", "target": "/orders"}, {"method": "POST", "target": "/orders"},
            {"method": "GET", "target": "/orders/{id}"}, {"method": "DELETE", "target": "/orders/{id}"},
        ],
    })
json.dump({"version": 2, "apis": apis}, open(path, "w"))
PY
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
before_rss=$(rss_kb "$gw_pid")
swap_secs=$((DURATION * 2))
# wrk prints latencies with units (us, ms, s).
to_us() { awk '{v=$1; if (v ~ /us$/) {sub("us","",v); print v} else if (v ~ /ms$/) {sub("ms","",v); print v*1000} else {sub("s","",v); print v*1e6}}' <<<"$1"; }
p99_of() { to_us "$(awk '$1=="99%" {print $2}' "$1")"; }
window() { # label file
  local out; out=$(cat "$2")
  printf 'swap: %-30s %s req/s, p50 %s, p99 %s, %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(grep -E 'Non-2xx|Socket errors' <<<"$out" || echo 'no errors')"
}
# Each round: the same load for the same time without a swap (the baseline), then with a swap
# to 10,000 APIs and, halfway on, back to one.
ratios=(); applied=()
for round in $(seq 1 "$SWAP_ROUNDS"); do
  big_v=$((round * 2)); small_v=$((round * 2 + 1))
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['version']=int(sys.argv[2]); json.dump(d, open(sys.argv[3],'w'))" "$work/big.json" "$big_v" "$work/big-$round.json"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['version']=int(sys.argv[2]); d['apis']=d['apis'][:1]; json.dump(d, open(sys.argv[3],'w'))" "$work/big.json" "$small_v" "$work/small-$round.json"
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${swap_secs}s" --latency "http://127.0.0.1:$gw_port/bench/1.0.0/x" >"$work/noswap-$round.txt"
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${swap_secs}s" --latency "http://127.0.0.1:$gw_port/bench/1.0.0/x" >"$work/swap-$round.txt" &
  wrk_pid=$!
  sleep "$((swap_secs / 4))"
  # No polling during the window (a process per poll would compete with the load): when the
  # swap was applied comes from the gateway's log afterwards.
  start_ns=$(date +%s%N)
  cp "$work/big-$round.json" "$work/snapshot.yaml"
  sleep "$((swap_secs / 4))"
  [ "$round" = 1 ] && big_rss=$(rss_kb "$gw_pid")
  cp "$work/small-$round.json" "$work/snapshot.yaml"
  wait "$wrk_pid"
  [ "$round" = 1 ] && after_rss=$(rss_kb "$gw_pid")
  applied_at=$(python3 -c '
import datetime, json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    f = e.get("fields", {})
    if f.get("message") == "snapshot applied" and f.get("version") == int(sys.argv[2]):
        t = datetime.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
        print(int(t.timestamp() * 1e9)); break
' "$work/logs/gateway-$gw_port.log" "$big_v")
  applied+=($(( (applied_at - start_ns) / 1000000 )))
  window "round $round, ${swap_secs}s without a swap:" "$work/noswap-$round.txt"
  window "round $round, ${swap_secs}s with the swaps:" "$work/swap-$round.txt"
  ratios+=("$(awk -v a="$(p99_of "$work/swap-$round.txt")" -v b="$(p99_of "$work/noswap-$round.txt")" 'BEGIN { printf "%.2f", a / b }')")
done
# SWAP_ROUNDS=0: no swap measured, nothing to report.
[ "$SWAP_ROUNDS" -gt 0 ] || exit 0
printf 'swap: 10,000-API snapshot applied %s ms after the file changed (parse, validate, build, swap; per round)\n' "${applied[*]}"
printf 'swap: p99 with the swaps against without, per round: %s; median %.2fx\n' "${ratios[*]}" "$(median "${ratios[@]}")"
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }
printf 'swap: RSS %s MB with 1 API, %s MB with 10,000, %s MB back at 1 (glibc keeps freed pages)\n' \
  "$(mb "$before_rss")" "$(mb "$big_rss")" "$(mb "$after_rss")"
