#!/usr/bin/env bash
# Cross-builds tern for ARCH (aarch64 or riscv64) and runs its tests under qemu-user.
#  aarch64: the whole tree (CLI, plugins, tests, benchmarks) against bookworm's arm64 multiarch packages; the
#    tests run on qemu's `max` core (every Arm plugin usable), the all-backend conformance suite again on
#    cores without i8mm and without dotprod, and on each core `tern backends` must pick the expected plugin and
#    `tern run` must give the reference backend's greedy text (TinyStories packed and as TL1, SmolLM2 Q4_1).
#    Then `cmake --install` into a staging prefix and `cpack` a tarball, which must run from where it unpacks.
#  riscv64: the whole tree with clang-19 against a sysroot of Debian trixie's riscv64 packages, under trixie's
#    qemu 10 (scripts/riscv64_deps.sh fetches both).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:?usage: scripts/cross.sh aarch64|riscv64}
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
case $ARCH in
  aarch64)
    PKGS=(g++-aarch64-linux-gnu qemu-user-static libcpuinfo-dev libboost-program-options-dev:arm64
          libboost-dev:arm64 libgtest-dev:arm64 libbenchmark-dev:arm64 libcpuinfo0:arm64)
    TOOLS=ON ;;
  riscv64) PKGS=(clang-19 lld-19); TOOLS=ON ;;
  *) echo "unknown arch $ARCH" >&2; exit 1 ;;
esac
if [[ $ARCH == aarch64 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  NEED_UPDATE=1
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif [[ -n ${NEED_UPDATE:-} ]]; then
  $SUDO apt-get update -qq
fi
if [[ $ARCH == riscv64 ]]; then
  [[ -e /usr/bin/ld.lld ]] || export PATH="/usr/lib/llvm-19/bin:$PATH"
  scripts/riscv64_deps.sh
fi
PY=python3
[[ -x .venv/bin/python ]] && PY=$PWD/.venv/bin/python
BUILD=build-$ARCH
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="toolchains/$ARCH-linux-gnu.cmake" \
  -DTERN_BUILD_TOOLS=$TOOLS -DTERN_BUILD_BENCH=$TOOLS -DTERN_WERROR=ON -DPython3_EXECUTABLE="$PY"
cmake --build "$BUILD" -j"$(nproc)"
if [[ $ARCH == aarch64 ]]; then export QEMU_CPU=max; else export QEMU_CPU=rv64,v=true,vlen=128; fi
ctest --test-dir "$BUILD" --output-on-failure
[[ $ARCH == aarch64 ]] || exit 0

# Each emulated core, the plugin it must get, the conformance suite on it, and greedy text on it equal to the
# reference backend's on x86 (the native build/, as CI builds it first; else the reference backend here): the
# packed TinyStories checkpoint (ternary, int8 activations: exact) and SmolLM2 Q4_1 (float kernels) if present.
# Without binfmt_misc (containers) an aarch64 program must be started through qemu.
TERN=(qemu-aarch64-static "$BUILD/bin/tern")
REF=("${TERN[@]}")
[[ -x build/bin/tern ]] && REF=(build/bin/tern)
PACKED=../shared/models/bitnet-tinystories-3m-packed
MODELS=("$PACKED|Once upon a time|40")
# The same checkpoint as TL1 (tern export + quantize), which only the Arm plugins run with their own kernels.
rm -rf "$BUILD/tl1"
"${REF[@]}" export "$PACKED" -o "$BUILD/tl1" >/dev/null
"${REF[@]}" quantize "$BUILD/tl1/clean-f16.gguf" "$BUILD/tl1" --type tl1 >/dev/null
MODELS+=("$BUILD/tl1/clean-tl1.gguf|Once upon a time|40")
SMOL=models/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $SMOL ]] && MODELS+=("$SMOL|The capital of France is|16")
want=()
for m in "${MODELS[@]}"; do
  IFS='|' read -r model prompt n <<<"$m"
  want+=("$("${REF[@]}" run -m "$model" -p "$prompt" -n "$n" --temp 0 -t 2 --backend reference 2>/dev/null)")
done
for core in "cortex-a53 arm-neon" "neoverse-n1 arm-dotprod" "max arm-i8mm"; do
  read -r cpu plugin <<<"$core"
  export QEMU_CPU=$cpu
  best=$("${TERN[@]}" backends | awk '$1 == "backend" && $4 == "usable" {print $3, $2}' | sort -rn | head -1 |
         cut -d' ' -f2)
  if [[ $best != "$plugin" ]]; then
    echo "cross.sh: on qemu -cpu $cpu tern picks '$best', want '$plugin'" >&2
    "${TERN[@]}" backends >&2
    exit 1
  fi
  TERN_EXPECT_BACKENDS=$plugin qemu-aarch64-static "$BUILD/bin/tern_backend_ops_tests" --gtest_brief=1
  for i in "${!MODELS[@]}"; do
    IFS='|' read -r model prompt n <<<"${MODELS[$i]}"
    got=$("${TERN[@]}" run -m "$model" -p "$prompt" -n "$n" --temp 0 -t 2 2>/dev/null)
    if [[ $got != "${want[$i]}" ]]; then
      printf 'cross.sh: %s on -cpu %s, %s, generates\n%s\nthe reference backend:\n%s\n' "$plugin" "$cpu" "$model" \
        "$got" "${want[$i]}" >&2
      exit 1
    fi
  done
  echo "cross.sh: qemu -cpu $cpu: $plugin chosen, conformance passed, greedy text of ${#MODELS[@]} models matches the reference"
done

# Install, package, and run the package from a fresh directory (plugins found next to the binary's lib/).
rm -rf "$BUILD/stage" "$BUILD/unpacked"
cmake --install "$BUILD" --prefix "$BUILD/stage" >/dev/null
(cd "$BUILD" && cpack -G TGZ >/dev/null)
mkdir -p "$BUILD/unpacked"
tar -xzf "$BUILD"/tern-*-linux-aarch64.tar.gz -C "$BUILD/unpacked"
PKG=$(echo "$BUILD"/unpacked/tern-*-linux-aarch64)
export QEMU_CPU=max
got=$(qemu-aarch64-static "$PKG/bin/tern" run -m "$PACKED" -p "Once upon a time" -n 40 --temp 0 -t 2 2>/dev/null)
if [[ $got != "${want[0]}" ]]; then
  echo "cross.sh: the packaged tern ($PKG) generates '$got'" >&2
  exit 1
fi
qemu-aarch64-static "$PKG/bin/tern" backends | grep -q "^backend  arm-i8mm .* usable" ||
  { echo "cross.sh: the packaged tern does not find its arm-i8mm plugin" >&2; exit 1; }
echo "cross.sh: $(basename "$BUILD"/tern-*-linux-aarch64.tar.gz) runs from where it unpacks"
