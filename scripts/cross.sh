#!/usr/bin/env bash
# Cross-builds tern for ARCH (aarch64 or riscv64) and runs its tests under qemu-user.
#  aarch64: the whole tree (CLI, plugins, tests, benchmarks) against bookworm's arm64 multiarch packages; the
#    tests run on qemu's `max` core (every Arm plugin usable), the all-backend conformance suite again on
#    cores without i8mm and without dotprod, and on each core `tern backends` must pick the expected plugin and
#    `tern run` must give the reference backend's greedy text (TinyStories packed and as TL1, SmolLM2 Q4_1).
#    Then `cmake --install` into a staging prefix and `cpack` a tarball, which must run from where it unpacks.
#  riscv64: the whole tree with clang-19 against a sysroot of Debian trixie's riscv64 packages, under trixie's
#    qemu 10 (scripts/riscv64_deps.sh fetches both). All tests run at VLEN 128, those that can depend on VLEN
#    at 256 and 512 too (with Zvfh at 128 and 512); `tern backends` must pick rvv-zvfhmin with Zvfh, rvv without, and the reference without
#    V; greedy text as for aarch64, with TinyStories also as TQ2_0, TQ1_0 and its bf16 checkpoint. Then the
#    same install and tarball check.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:?usage: scripts/cross.sh aarch64|riscv64}
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
case $ARCH in
  aarch64)
    PKGS=(g++-aarch64-linux-gnu qemu-user-static libcpuinfo-dev libboost-program-options-dev:arm64
          libboost-dev:arm64 libgtest-dev:arm64 libbenchmark-dev:arm64 libcpuinfo0:arm64 libssl-dev:arm64)
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
# QEMU runs the target's programs (no binfmt_misc in containers); QEMU_CPU picks the emulated core. CORES: each
# core and the backend tern must pick on it.
case $ARCH in
  aarch64)
    QEMU=(qemu-aarch64-static)
    TEST_CPU=max
    CORES=("cortex-a53 arm-neon" "neoverse-n1 arm-dotprod" "max arm-i8mm")
    PKG_PLUGIN=arm-i8mm ;;
  riscv64)
    QEMU=("$PWD/build-riscv64-deps/qemu/bin/qemu-riscv64" -L "$PWD/build-riscv64-deps/sysroot")
    TEST_CPU=rv64,v=true,vlen=128,zvfh=true
    CORES=("rv64,v=true,vlen=128,zvfh=true rvv-zvfhmin" "rv64,v=true,vlen=256 rvv"
           "rv64,v=true,vlen=512,zvfh=true rvv-zvfhmin" "rv64,v=false reference")
    PKG_PLUGIN=rvv-zvfhmin ;;
esac
export QEMU_CPU=$TEST_CPU
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)"

# On each emulated core: the plugin tern picks, the conformance suite, and greedy text equal to the reference
# backend's on x86 (the native build/, as CI builds it first; else the reference backend here). Models: the
# packed TinyStories checkpoint (ternary, int8 activations: exact), re-encoded by tern as the types this
# architecture has its own kernels for, and SmolLM2 Q4_1 (float kernels) if present.
TERN=("${QEMU[@]}" "$BUILD/bin/tern")
REF=("${TERN[@]}")
[[ -x build/bin/tern ]] && REF=(build/bin/tern)
PACKED=../shared/models/bitnet-tinystories-3m-packed
MODELS=("$PACKED|Once upon a time|40")
rm -rf "$BUILD/requant"
"${REF[@]}" export "$PACKED" -o "$BUILD/requant" >/dev/null
if [[ $ARCH == aarch64 ]]; then TYPES=(tl1); else TYPES=(tq2_0 tq1_0 tl1); fi
for t in "${TYPES[@]}"; do
  "${REF[@]}" quantize "$BUILD/requant/clean-f16.gguf" "$BUILD/requant" --type "$t" >/dev/null
  MODELS+=("$BUILD/requant/clean-$t.gguf|Once upon a time|40")
done
[[ $ARCH == riscv64 ]] && MODELS+=("../shared/models/bitnet-tinystories-3m-bf16|Once upon a time|40")
SMOL=models/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $SMOL ]] && MODELS+=("$SMOL|The capital of France is|16")
want=()
for m in "${MODELS[@]}"; do
  IFS='|' read -r model prompt n <<<"$m"
  want+=("$("${REF[@]}" run -m "$model" -p "$prompt" -n "$n" --temp 0 -t 2 --backend reference 2>/dev/null)")
done
for core in "${CORES[@]}"; do
  read -r cpu plugin <<<"$core"
  export QEMU_CPU=$cpu
  best=$("${TERN[@]}" backends | awk '$1 == "backend" && $4 == "usable" {print $3, $2}' | sort -rn | head -1 |
         cut -d' ' -f2)
  if [[ $best != "$plugin" ]]; then
    echo "cross.sh: on qemu -cpu $cpu tern picks '$best', want '$plugin'" >&2
    "${TERN[@]}" backends >&2
    exit 1
  fi
  # ctest ran on TEST_CPU already. riscv64 runs the tests again at every VLEN, aarch64 the conformance suite
  # on every core; the reference needs no comparison with itself. The riscv64 reruns leave out the slowest
  # tests that cannot depend on VLEN or repeat what this loop checks: the tokenizer round trips (no kernels),
  # weight placement (the same bytes), the compact KV caches (cache quantization is ISA-free; the attention
  # kernels on every cache type are in the conformance suite) and SmolLM2's greedy answer (checked below).
  # Under qemu they are most of the run's time.
  checked="nothing to compare (the reference)"
  if [[ $cpu == "$TEST_CPU" ]]; then
    checked="all tests passed"
  elif [[ $plugin != reference && $ARCH == riscv64 ]]; then
    # Without Zvfhmin only rvv is usable, so that is the plugin the conformance suite must find.
    exp=$([[ $cpu == *zvfh* ]] && echo "rvv rvv-zvfhmin" || echo rvv)
    skip='^(Vocabs/TokenizerFilesRoundTrip\..*|Models\.WeightsInMemoryGiveTheMappedWeightsLogits|'
    skip+='KvCache\.CompactCachesStayCloseToF32|SmolLM2\.KnowsTheCapitalOfFrance)$'
    TERN_EXPECT_BACKENDS=$exp ctest --test-dir "$BUILD" -E "$skip" --output-on-failure -j"$(nproc)" >/dev/null ||
      { TERN_EXPECT_BACKENDS=$exp ctest --test-dir "$BUILD" -E "$skip" --output-on-failure --rerun-failed; exit 1; }
    checked="the tests that can depend on VLEN passed"
  elif [[ $plugin != reference ]]; then
    TERN_EXPECT_BACKENDS=$plugin "${QEMU[@]}" "$BUILD/bin/tern_backend_ops_tests" --gtest_brief=1
    checked="the conformance suite passed"
  fi
  for i in "${!MODELS[@]}"; do
    IFS='|' read -r model prompt n <<<"${MODELS[$i]}"
    got=$("${TERN[@]}" run -m "$model" -p "$prompt" -n "$n" --temp 0 -t 2 2>/dev/null)
    if [[ $got != "${want[$i]}" ]]; then
      printf 'cross.sh: %s on -cpu %s, %s, generates\n%s\nthe reference backend:\n%s\n' "$plugin" "$cpu" "$model" \
        "$got" "${want[$i]}" >&2
      exit 1
    fi
  done
  echo "cross.sh: qemu -cpu $cpu: $plugin chosen, $checked, greedy text of ${#MODELS[@]} models matches the reference"
done

# Install, package, and run the package from a fresh directory (plugins found next to the binary's lib/).
rm -rf "$BUILD/stage" "$BUILD/unpacked"
cmake --install "$BUILD" --prefix "$BUILD/stage" >/dev/null
(cd "$BUILD" && cpack -G TGZ >/dev/null)
mkdir -p "$BUILD/unpacked"
tar -xzf "$BUILD"/tern-*-linux-$ARCH.tar.gz -C "$BUILD/unpacked"
PKG=$(echo "$BUILD"/unpacked/tern-*-linux-$ARCH)
export QEMU_CPU=$TEST_CPU
got=$("${QEMU[@]}" "$PKG/bin/tern" run -m "$PACKED" -p "Once upon a time" -n 40 --temp 0 -t 2 2>/dev/null)
if [[ $got != "${want[0]}" ]]; then
  echo "cross.sh: the packaged tern ($PKG) generates '$got'" >&2
  exit 1
fi
"${QEMU[@]}" "$PKG/bin/tern" backends | grep -q "^backend  $PKG_PLUGIN .* usable" ||
  { echo "cross.sh: the packaged tern does not find its $PKG_PLUGIN plugin" >&2; exit 1; }
echo "cross.sh: $(basename "$BUILD"/tern-*-linux-$ARCH.tar.gz) runs from where it unpacks"
