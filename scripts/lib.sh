# Shared helpers for the project scripts. Source it; do not run it.
# Settings the scripts honour (all optional):
#   CARGO_TARGET_DIR   build directory; default: ~/.cache/gatehouse/target (outside the clone,
#                      so every clone and CI run on this machine shares one warm build)
#   GATEHOUSE_PG_URL   server URL for PostgreSQL without a database name
#                      (default postgres://postgres@127.0.0.1:5432)
#   REDIS_URL          default redis://127.0.0.1:6379 (tests)
#   GATEHOUSE_CACHE    default ~/.cache/gatehouse: holds the client-compat tests' virtualenv (venv/),
#                      the AI models (models/) and llama-server (llama/bin/), see setup-models.sh

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
export PATH="$HOME/.cargo/bin:$PATH"
PG_URL="${GATEHOUSE_PG_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export REDIS_URL

GATEHOUSE_CACHE_DIR="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"

# The local AI files scripts/setup-models.sh puts in place.
MODELS_DIR="$GATEHOUSE_CACHE_DIR/models"
LLAMA_SERVER="$GATEHOUSE_CACHE_DIR/llama/bin/llama-server"
QWEN05_GGUF="$MODELS_DIR/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN15_GGUF="$MODELS_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# psql against the maintenance database.
pg() { psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -qAtX "$@"; }

# Creates database $1 if missing.
ensure_db() {
  local name="$1"
  if [ "$(pg -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]; then
    pg -c "CREATE DATABASE \"$name\""
  fi
}

# Drops and creates database $1 (tests start from nothing).
fresh_db() {
  pg -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"
  pg -c "CREATE DATABASE \"$1\""
}

# Waits until URL $1 answers 2xx, up to $2 seconds.
wait_http() {
  local url="$1" limit="${2:-120}" i=0
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -ge "$((limit * 2))" ] && return 1
    sleep 0.5
  done
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# The virtualenv of the client-compatibility tests (end2end/compat, Python packages pinned in
# its requirements.txt). Created once; pip runs again only when requirements.txt changes.
COMPAT_VENV="$GATEHOUSE_CACHE_DIR/venv"
ensure_compat_venv() {
  local req="$ROOT/end2end/compat/requirements.txt" stamp="$COMPAT_VENV/.requirements.sha256" sum
  sum=$(sha256sum "$req" | cut -d' ' -f1)
  # A venv whose base interpreter is gone (e.g. a removed pyenv version) is made anew.
  if ! "$COMPAT_VENV/bin/python" -c '' 2>/dev/null; then
    say "python3 -m venv $COMPAT_VENV"
    rm -rf "$COMPAT_VENV"
    python3 -m venv "$COMPAT_VENV"
  elif [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  say "pip install -r end2end/compat/requirements.txt"
  "$COMPAT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$sum" >"$stamp"
}

# Where the AI models are. `ai_env server` exports GATEHOUSE_AI__MODELS_DIR (the server's
# [ai] models_dir) unless it is set, and removes the scripts' own GATEHOUSE_ variables: the
# server and the gateway refuse unknown GATEHOUSE_ keys, so none may reach them. `ai_env tests`
# exports, besides, the variables the Rust tests read (the servers those tests start get a
# cleaned environment):
#   GATEHOUSE_MODELS_DIR       the models directory
#   GATEHOUSE_LLAMA_SERVER     the llama-server binary
#   GATEHOUSE_TEST_LLM_MODEL   the Qwen2.5-Coder 0.5B GGUF
# (`make test` adds GATEHOUSE_TEST_PYTHON, the OTLP decoder's interpreter; `ai_env server`
# removes it too.)
ai_env() {
  export GATEHOUSE_AI__MODELS_DIR="${GATEHOUSE_AI__MODELS_DIR:-$MODELS_DIR}"
  if [ "${1:?ai_env server|tests}" = tests ]; then
    export GATEHOUSE_MODELS_DIR="$MODELS_DIR" GATEHOUSE_LLAMA_SERVER="$LLAMA_SERVER" \
      GATEHOUSE_TEST_LLM_MODEL="$QWEN05_GGUF"
  else
    unset GATEHOUSE_MODELS_DIR GATEHOUSE_LLAMA_SERVER GATEHOUSE_TEST_LLM_MODEL \
      GATEHOUSE_LLM_MODEL GATEHOUSE_LLM_PORT GATEHOUSE_TEST_PYTHON
  fi
}
