#!/usr/bin/env bash
# `make test`: set up, then run every test: formatting and lints, the Rust unit and
# integration tests against the real PostgreSQL (with pgvector) and Redis, and the browser
# tests (Playwright + Debian's Chromium) and client-compatibility tests (Authlib,
# requests-oauthlib, PyJWT) against a freshly built server and gateway.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh"

# The AI tests run the real local LLM: llama-server (built once, 5-12 min) and Qwen2.5-Coder
# 0.5B (491 MB), both cached in ~/.cache/gatehouse. On a new machine that build and download
# run in the background beside the Rust build (whose single-threaded stretches leave a core
# idle); the tests wait for them only before they run.
models_log="$GATEHOUSE_CACHE_DIR/setup-models.log"
mkdir -p "$GATEHOUSE_CACHE_DIR"
say "local LLM for the AI tests (llama-server, Qwen2.5-Coder 0.5B), in the background (log: $models_log)"
bash "$ROOT/scripts/setup-models.sh" llama-server qwen05 >"$models_log" 2>&1 &
models_pid=$!
# Stopped early (a failed lint): the background build stops too.
trap 'kill "$models_pid" 2>/dev/null || true' EXIT
ai_env tests
# The OTLP decoder (opentelemetry-proto) the OpenTelemetry tests read spans with.
ensure_compat_venv
export GATEHOUSE_TEST_PYTHON="$COMPAT_VENV/bin/python"

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
# The browser half (app with `hydrate`) only compiles for wasm32.
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# The gateway built on AWS-LC instead of ring (gateway/src/crypto.rs).
cargo clippy -p gateway --features aws-lc-rs --all-targets -- -D warnings

# #[sqlx::test] creates a throw-away database per test on this server.
export DATABASE_URL="$PG_URL/postgres"
say "cargo test (Rust unit and integration tests)"
# Without the WASM frontend: on the host it would switch on the app's `hydrate` feature (and
# with it client-side effects) inside the server the tests run; the real server never has it.
# Every test but the local-LLM one runs while llama-server may still be building (its build
# runs at nice 19, so the tests keep their pace); that one runs once the LLM is there.
LLM_TEST=the_local_llm_planner_plans_the_request_set
cargo test --workspace --exclude frontend -- --skip "$LLM_TEST"
say "cargo test: the gateway on AWS-LC (JWTs, TLS to backends, settings)"
cargo test -p gateway --features aws-lc-rs --lib --test security --test standalone --test diagnostics
say "waiting for the local LLM setup"
if ! wait "$models_pid"; then
  tail -30 "$models_log" >&2
  die "scripts/setup-models.sh llama-server qwen05 failed (log: $models_log)"
fi
trap - EXIT
tail -3 "$models_log"
say "cargo test: the local LLM planner (llama-server + Qwen2.5-Coder 0.5B)"
cargo test --workspace --exclude frontend --test ai_chat -- --exact "$LLM_TEST" --nocapture

say "browser tests, client-compatibility tests"
"$ROOT/scripts/e2e.sh"
