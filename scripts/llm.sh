#!/usr/bin/env bash
# `make llm`: the local OpenAI-compatible LLM for the AI features — llama.cpp's llama-server
# with Qwen2.5-Coder 0.5B Instruct (Q4_K_M) on 127.0.0.1, until Ctrl-C. Builds llama-server
# and fetches the model first when they are not cached (scripts/setup-models.sh).
#   GATEHOUSE_LLM_MODEL=qwen15   the 1.5B model instead (1.1 GB, about half as fast, cleaner
#                                tool arguments)
#   GATEHOUSE_LLM_PORT=8081      the port
# These two are read by this script only: do not leave them exported where the server starts
# (it refuses GATEHOUSE_ variables it does not know; scripts/run.sh removes them).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

model="${GATEHOUSE_LLM_MODEL:-qwen05}"
port="${GATEHOUSE_LLM_PORT:-8081}"
case "$model" in
  qwen05) gguf="$QWEN05_GGUF" name=qwen2.5-coder-0.5b-instruct ;;
  qwen15) gguf="$QWEN15_GGUF" name=qwen2.5-coder-1.5b-instruct ;;
  *) die "GATEHOUSE_LLM_MODEL=$model: use qwen05 (default) or qwen15" ;;
esac

bash "$ROOT/scripts/setup-models.sh" llama-server "$model"

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "127.0.0.1:$port is taken (another llama-server?): stop it or set GATEHOUSE_LLM_PORT"
fi

cat <<MSG

  The local LLM ($name) starts on http://127.0.0.1:$port/v1 (health: /health).
  Point the server at it (environment, or llm_url / llm_model under [ai] in gatehouse.toml):
    GATEHOUSE_AI__LLM_URL=http://127.0.0.1:$port/v1 GATEHOUSE_AI__LLM_MODEL=$name
  Ctrl-C stops it.

MSG
# --jinja: the model's own chat template, which renders the `tools` of a request.
# --temp 0: the same answer for the same prompt unless a request asks otherwise.
# -c 8192: a tool prompt with several operations' schemas fits. One slot: requests queue
# instead of sharing the context and the cores, and an answer does not depend on what
# else was batched with it.
# No web UI, and no cross-origin calls from web pages other than localhost ones: the
# Gatehouse server calls it from the back end.
exec "$LLAMA_SERVER" --model "$gguf" --alias "$name" --host 127.0.0.1 --port "$port" \
  --jinja --temp 0 --ctx-size 8192 --parallel 1 --threads "$(nproc)" --no-webui \
  --cors-origins localhost
