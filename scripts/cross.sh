#!/usr/bin/env bash
# Cross-builds the runtime, the reference backend, the format plugins and their tests for ARCH (aarch64 or
# riscv64) and runs the tests under qemu-user. The CLI is not cross-built (Boost.Program_options has no Debian
# package for these targets here); GoogleTest is built from Debian's source package; CPU features come from
# getauxval (no cpuinfo for the targets).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:?usage: scripts/cross.sh aarch64|riscv64}
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
case $ARCH in
  aarch64) PKGS=(g++-aarch64-linux-gnu qemu-user-static googletest) ;;
  riscv64) PKGS=(g++-riscv64-linux-gnu clang-19 lld-19 qemu-user-static googletest) ;;
  *) echo "unknown arch $ARCH" >&2; exit 1 ;;
esac
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ $ARCH == riscv64 && ! -e /usr/bin/ld.lld ]]; then export PATH="/usr/lib/llvm-19/bin:$PATH"; fi
PY=python3
[[ -x .venv/bin/python ]] && PY=$PWD/.venv/bin/python
cmake -S . -B "build-$ARCH" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="toolchains/$ARCH-linux-gnu.cmake" \
  -DTERN_BUILD_TOOLS=OFF -DTERN_BUILD_BENCH=OFF -DTERN_WERROR=ON -DPython3_EXECUTABLE="$PY"
cmake --build "build-$ARCH" -j"$(nproc)"
ctest --test-dir "build-$ARCH" --output-on-failure
