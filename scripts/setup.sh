#!/usr/bin/env bash
# Installs and starts everything Gatehouse needs on a Debian/Ubuntu machine. Idempotent:
# each step is skipped when its result is already there, so a second run takes seconds.
#   system packages (curl, build tools, Chromium for the browser tests, PostgreSQL and Redis
#   when absent), pgvector, the wasm32 target, cargo-leptos and wasm-bindgen at pinned
#   versions, the npm build tools (Tailwind, wasm-opt) and Playwright (no browser download),
#   a Python virtualenv with the client-compatibility tests' pinned packages, the embedding
#   model (all-MiniLM-L6-v2, scripts/setup-models.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "apt-get install ${missing[*]}"
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

say "system packages"
apt_install curl ca-certificates build-essential pkg-config python3 python3-venv unzip chromium
have node || apt_install nodejs npm
have psql || apt_install postgresql-client

# PostgreSQL: use the running one; otherwise install and start a local cluster.
if ! pg -c 'SELECT 1' >/dev/null 2>&1; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  say "starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || as_root pg_ctlcluster "$ver" main start
  # The scripts connect over TCP as `postgres` without a password (local clusters only).
  hba=$(ls /etc/postgresql/"$ver"/main/pg_hba.conf)
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster "$ver" main reload
  fi
  for _ in $(seq 1 30); do pg -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
  pg -c 'SELECT 1' >/dev/null || die "PostgreSQL does not answer at $PG_URL"
fi

say "pgvector"
as_root bash "$ROOT/scripts/install-pgvector.sh" | tail -1

# Redis: the throttling tests use a real one; start it when nothing answers. The shared
# rate-limit tests also start and kill their own redis-server, so the binary must be here.
have redis-server || apt_install redis-server
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi

say "Rust toolchain"
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# Build tools, so a debug build is enough and takes minutes instead of half an hour. On a new
# machine the two installs run in the background, each in its own build directory, beside each
# other and beside the npm, pip and model downloads below (a lone cargo build leaves a core
# idle in its single-threaded stretches); setup waits for them at the end.
tool_pids=()
tool_logs=()
install_tool() {
  local name="$1" log="$GATEHOUSE_CACHE_DIR/install-$1.log"
  shift
  mkdir -p "$GATEHOUSE_CACHE_DIR"
  say "cargo install $name (once, in the background; log: $log)"
  CARGO_TARGET_DIR="$GATEHOUSE_CACHE_DIR/tools-target-$name" cargo install "$name" "$@" >"$log" 2>&1 &
  tool_pids+=($!)
  tool_logs+=("$log")
}
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  install_tool cargo-leptos --locked --debug --version "$CARGO_LEPTOS_VERSION"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Not --locked: its lock file pins a crate version the registry no longer serves.
  install_tool wasm-bindgen-cli --debug --version "$WASM_BINDGEN_VERSION"
fi

say "npm packages"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
[ -x node_modules/.bin/tailwindcss ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
(cd end2end && { [ -d node_modules/@playwright/test ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; })

say "Python packages (client-compatibility tests)"
ensure_compat_venv

say "AI models (all-MiniLM-L6-v2 for embeddings)"
bash "$ROOT/scripts/setup-models.sh" minilm

if [ ${#tool_pids[@]} -gt 0 ]; then
  say "waiting for cargo install (cargo-leptos, wasm-bindgen-cli)"
  for i in "${!tool_pids[@]}"; do
    if ! wait "${tool_pids[$i]}"; then
      tail -30 "${tool_logs[$i]}" >&2
      die "cargo install failed (log: ${tool_logs[$i]})"
    fi
  done
  rm -f "${tool_logs[@]}"
  # The tools are installed: their build directories (5 GB) are not needed again.
  rm -rf "$GATEHOUSE_CACHE_DIR"/tools-target-*
fi

say "setup done"
