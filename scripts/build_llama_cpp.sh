#!/usr/bin/env bash
# Builds llama.cpp's llama-bench for scripts/bench_report.sh to compare against, from the llama.cpp sources that
# the llama-cpp-python sdist on PyPI vendors (this project reaches only Debian's archive and PyPI, not GitHub).
# CPU backend only, tuned for this CPU (GGML_NATIVE), like a user's own build. About 10 minutes on 2 cores.
# Usage: scripts/build_llama_cpp.sh [dir] [target]   (default build-llama.cpp/, which git ignores, and llama-bench);
# prints the built program's path. scripts/check_interchange.sh builds llama-simple with it.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-build-llama.cpp}
TARGET=${2:-llama-bench}
VERSION=0.3.36  # llama-cpp-python's version; pinned so that reports name the llama.cpp they measured
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SRC=$DIR/llama_cpp_python-$VERSION/vendor/llama.cpp
if [[ ! -f $SRC/CMakeLists.txt ]]; then
  PY=python3
  [[ -x .venv/bin/python ]] && PY=.venv/bin/python  # scripts/setup.sh's, which has pip
  "$PY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$DIR" >&2
  tar -xzf "$DIR/llama_cpp_python-$VERSION.tar.gz" -C "$DIR"
fi
cmake -S "$SRC" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF >&2
cmake --build "$DIR/build" --target "$TARGET" -j"$(nproc)" >&2
echo "$DIR/build/bin/$TARGET"
