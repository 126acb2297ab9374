#!/usr/bin/env bash
# `make run`: set up, build (release), migrate and seed demo data, then run the server on
# http://127.0.0.1:3000 and the gateway on http://127.0.0.1:8280 until Ctrl-C.
# Any GATEHOUSE_… setting can be given in the environment or in gatehouse.toml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh"
ai_env server

DB_NAME="${GATEHOUSE_DB_NAME:-gatehouse}"
# Not a setting of the binaries (they refuse unknown GATEHOUSE_ variables).
unset GATEHOUSE_DB_NAME
ensure_db "$DB_NAME"
export GATEHOUSE_DATABASE__URL="${GATEHOUSE_DATABASE__URL:-$PG_URL/$DB_NAME}"
export GATEHOUSE_ADMIN_PASSWORD="${GATEHOUSE_ADMIN_PASSWORD:-admin}"
export GATEHOUSE_DEMO__SEED="${GATEHOUSE_DEMO__SEED:-true}"
export GATEHOUSE_SERVER__SITE_ROOT="${GATEHOUSE_SERVER__SITE_ROOT:-$ROOT/target/site}"
# The credential the gateway shows the control plane: one per run unless given.
GATEWAY_TOKEN="${GATEHOUSE_SERVER__GATEWAY_TOKEN:-$(python3 -c 'import secrets; print(secrets.token_hex(24))')}"
export GATEHOUSE_SERVER__GATEWAY_TOKEN="$GATEWAY_TOKEN" GATEHOUSE_GATEWAY__TOKEN="$GATEWAY_TOKEN"
SERVER_ADDR="${GATEHOUSE_SERVER__ADDR:-127.0.0.1:3000}"
GATEWAY_ADDR="${GATEHOUSE_GATEWAY__LISTEN:-127.0.0.1:8280}"

say "building (release)"
cargo leptos build --release
cargo build --release --workspace --bin gateway

"$CARGO_TARGET_DIR/release/gateway" --control-plane "http://$SERVER_ADDR" &
gateway_pid=$!
"$CARGO_TARGET_DIR/release/server" &
server_pid=$!
trap 'kill $server_pid $gateway_pid 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

wait_http "http://$SERVER_ADDR/ready" 60 || die "the server did not become ready"
cat <<MSG

  Gatehouse is running.
    Developer Portal  http://$SERVER_ADDR/devportal
    Publisher         http://$SERVER_ADDR/publisher
    Admin             http://$SERVER_ADDR/admin
    Gateway           http://$GATEWAY_ADDR   (health: http://${GATEHOUSE_GATEWAY__ADMIN_LISTEN:-127.0.0.1:9091}/health)

  Try the demo API through the gateway:
    curl http://$GATEWAY_ADDR/pizzashack/1.0.0/menu

  Sign in as admin / $GATEHOUSE_ADMIN_PASSWORD
  Demo users (password: ${GATEHOUSE_DEMO__PASSWORD:-gatehouse}): publisher, subscriber,
    workflow-admin, policy-admin, keymanager-admin
  Ctrl-C stops both.

MSG
wait -n $server_pid $gateway_pid
