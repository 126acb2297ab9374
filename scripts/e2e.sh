#!/usr/bin/env bash
# Browser tests: builds the site, starts server + gateway on free ports against a fresh
# database with demo users, runs Playwright (Debian's Chromium), then the client-compatibility
# tests (scripts/compat.sh: real OAuth2 and JWKS clients in Python), stops everything.
# Screenshots and reports land in end2end/artifacts/.
# Arguments go to Playwright and skip the compatibility tests, to run one spec or test:
#   scripts/e2e.sh tests/policies.spec.ts      scripts/e2e.sh -g 'mediation policies'
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

say "cargo leptos build"
cargo leptos build
# Workspace-wide feature resolution, so the dependencies built for the tests are reused.
cargo build --workspace --bin gateway

# E2E_DB: another database name, for a second run on the same machine.
DB_NAME="${E2E_DB:-gatehouse_e2e}"
fresh_db "$DB_NAME"
port=$(free_port); gw_port=$(free_port); gw_admin=$(free_port)
run_dir="$ROOT/end2end/artifacts"
rm -rf "$run_dir" "$ROOT/end2end/test-results"
mkdir -p "$run_dir"

export GATEHOUSE_DATABASE__URL="$PG_URL/$DB_NAME"
export GATEHOUSE_SERVER__ADDR="127.0.0.1:$port"
export GATEHOUSE_SERVER__SITE_ROOT="$ROOT/target/site"
export GATEHOUSE_ADMIN_PASSWORD=admin-e2e-pass
export GATEHOUSE_DEMO__SEED=true
export GATEHOUSE_DEMO__PASSWORD=demo-e2e-pass
# Demo users, but no demo API: the browser tests check the empty states first.
export GATEHOUSE_DEMO__APIS=false
export GATEHOUSE_GATEWAY__LISTEN="127.0.0.1:$gw_port"
# The Default environment's URL as the portal shows it and the try-out console calls it.
export GATEHOUSE_SERVER__DEFAULT_GATEWAY_URL="http://localhost:$gw_port"
export GATEHOUSE_GATEWAY__ADMIN_LISTEN="127.0.0.1:$gw_admin"
export GATEHOUSE_SERVER__GATEWAY_TOKEN=e2e-gateway-token-0123456789
export GATEHOUSE_GATEWAY__TOKEN="$GATEHOUSE_SERVER__GATEWAY_TOKEN"
export GATEHOUSE_GATEWAY__SNAPSHOT_CACHE="$run_dir/gateway-snapshot.json"
# The embedding model (setup.sh fetched it); no test-only GATEHOUSE_ variables for the server.
ai_env server

"$CARGO_TARGET_DIR/debug/server" >"$run_dir/server.log" 2>&1 &
server_pid=$!
"$CARGO_TARGET_DIR/debug/gateway" --control-plane "http://127.0.0.1:$port" >"$run_dir/gateway.log" 2>&1 &
gateway_pid=$!
cleanup() { kill "$server_pid" "$gateway_pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_http "http://127.0.0.1:$port/ready" 60 || { cat "$run_dir/server.log"; die "server not ready"; }
wait_http "http://127.0.0.1:$gw_admin/health" 30 || { cat "$run_dir/gateway.log"; die "gateway not healthy"; }

export BASE_URL="http://127.0.0.1:$port"
export GATEWAY_URL="http://127.0.0.1:$gw_port"
export GATEWAY_ADMIN_URL="http://127.0.0.1:$gw_admin"
export ADMIN_PASSWORD="$GATEHOUSE_ADMIN_PASSWORD"
export DEMO_PASSWORD="$GATEHOUSE_DEMO__PASSWORD"
status=0
(cd end2end && npx playwright test "$@") || status=$?
# One closing line in the plain "N passed, N failed" form for CI logs.
node -e '
  const s = require(process.argv[1]).stats;
  console.log(`browser tests: ${s.expected + s.flaky} passed, ${s.unexpected} failed, ${s.skipped} skipped`);
' "$run_dir/results.json" || true

# Third-party OAuth2 / JWKS clients against the same server and gateway.
compat_status=0
[ "$#" -gt 0 ] || "$ROOT/scripts/compat.sh" || compat_status=$?
[ "$status" -ne 0 ] || status=$compat_status
exit "$status"
