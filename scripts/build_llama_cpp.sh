#!/usr/bin/env bash
# Builds llama.cpp's llama-bench for scripts/bench_report.sh to compare against, from the llama.cpp sources that
# the llama-cpp-python sdist on PyPI vendors (this project reaches only Debian's archive and PyPI, not GitHub).
# CPU backend only, tuned for this CPU (GGML_NATIVE) but without AMX (below), like a user's own build. About 10
# minutes on 2 cores.
# Usage: scripts/build_llama_cpp.sh [dir] [target] [toolchain]   (default build-llama.cpp/, which git ignores, and
# llama-bench); prints the built program's path. scripts/check_interchange.sh builds llama-simple with it. With a
# toolchain file (toolchains/aarch64-linux-gnu.cmake) it cross-builds instead, for LLAMA_ARM_ARCH (default
# armv8.2-a+dotprod, the arm-dotprod plugin's baseline; riscv64: rv64gcv), for scripts/qemu_icount.sh to count
# under qemu.
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
TOOLCHAIN=${3:-}
# Without AMX: on CPUs that have it (Sapphire Rapids), this llama.cpp's AMX path dies with SIGILL in these VMs
# (SmolLM2 Q4_1, a few tokens in), though the tiles work (tern's x86-amx runs on them). -mno-amx-* wins over
# -march=native in either order, so ggml compiles its AMX code out and uses its AVX-512 kernels.
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
CPU_FLAGS=(-DGGML_NATIVE=ON "-DCMAKE_C_FLAGS=$NO_AMX" "-DCMAKE_CXX_FLAGS=$NO_AMX")
if [[ $TOOLCHAIN == *riscv64* ]]; then
  # Plain RVV 1.0, the rvv plugin's baseline: without ggml's default Zfh / Zvfh / Zicbop additions. Some of its
  # inline assembly omits vsetvli's tail / mask policies, which clang-19's assembler refuses: spell out the
  # default the omission means (tu, mu).
  perl -pi -e 's/("vseti?vli [^"]*?, e\d+, mf?\d)(\\n)/$1, tu, mu$2/g' "$SRC/ggml/src/ggml-cpu/arch/riscv/quants.c"
  CPU_FLAGS=(-DCMAKE_TOOLCHAIN_FILE="$PWD/$TOOLCHAIN" -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DGGML_RVV=ON
             -DGGML_RV_ZFH=OFF -DGGML_RV_ZVFH=OFF -DGGML_RV_ZICBOP=OFF -DGGML_RV_ZIHINTPAUSE=OFF)
elif [[ -n $TOOLCHAIN ]]; then
  CPU_FLAGS=(-DCMAKE_TOOLCHAIN_FILE="$PWD/$TOOLCHAIN" -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF
             -DGGML_CPU_ARM_ARCH="${LLAMA_ARM_ARCH:-armv8.2-a+dotprod}")
fi
cmake -S "$SRC" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release "${CPU_FLAGS[@]}" -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF >&2
cmake --build "$DIR/build" --target "$TARGET" -j"$(nproc)" >&2
echo "$DIR/build/bin/$TARGET"
