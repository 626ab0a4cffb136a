#!/usr/bin/env bash
# Instructions retired per generated token by each Arm plugin and the reference backend, counted under qemu:
# wall time under emulation means nothing, guest instruction counts do (they depend only on the binary, the
# model and the emulated core's features). Debian's qemu packages are built without TCG plugins, so this
# builds qemu-aarch64 (linux-user only) with plugins from Debian bookworm's own qemu source package, and its
# tests/plugin/insn.c counter, into build-qemu-plugins/ (about 10 minutes on 2 cores, once).
# Needs scripts/cross.sh aarch64 to have built build-aarch64/, and for the llama.cpp comparison
# `scripts/build_llama_cpp.sh build-llama.cpp-aarch64 llama-bench toolchains/aarch64-linux-gnu.cmake`. Not in CI.
# The counts are of the whole process, so a run of 6 generated tokens minus a run of 2 is 4 tokens' worth.
# Usage: scripts/arm_icount.sh [MODEL.gguf ...]   (default: 8-layer bitnet-large synth models and SmolLM2)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QDIR=$ROOT/build-qemu-plugins
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
QEMU=$QDIR/qemu-7.2.0/b/qemu-aarch64
PLUGIN=$QDIR/qemu-7.2.0/b/tests/plugin/libinsn.so
if [[ ! -x $QEMU || ! -f $PLUGIN ]]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends meson ninja-build \
    libglib2.0-dev >/dev/null
  mkdir -p "$QDIR/state/lists/partial" "$QDIR/cache/archives/partial"
  echo "deb-src http://deb.debian.org/debian bookworm main" >"$QDIR/sources.list"
  touch "$QDIR/status"
  APT=(-o Dir::Etc::SourceList="$QDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State="$QDIR/state"
       -o Dir::Cache="$QDIR/cache" -o Dir::State::status="$QDIR/status")
  apt-get "${APT[@]}" update -qq
  (cd "$QDIR" && apt-get "${APT[@]}" source --download-only qemu >/dev/null)
  tar -xJf "$QDIR"/qemu_7.2+dfsg.orig.tar.xz -C "$QDIR"
  mkdir -p "$QDIR/qemu-7.2.0/b"
  # The dfsg tarball has no firmware blobs, and linux-user needs none.
  (cd "$QDIR/qemu-7.2.0/b" && ../configure --target-list=aarch64-linux-user --enable-plugins --disable-system \
     --disable-docs --disable-tools --disable-werror --disable-install-blobs --meson=meson >/dev/null &&
   make -j"$(nproc)" qemu-aarch64 tests/plugin/libinsn.so >/dev/null)
fi
TERN=$ROOT/build-aarch64/bin/tern
[[ -x $TERN ]] || { echo "arm_icount: run scripts/cross.sh aarch64 first" >&2; exit 1; }
TERN_X86=$ROOT/build/bin/tern
MODELS=("$@")
if ((${#MODELS[@]} == 0)); then
  mkdir -p models/bench
  for t in i2_s tq2_0 tq1_0 tl1; do
    m=models/bench/large8-$t.gguf
    [[ -f $m ]] || "$TERN_X86" synth --preset bitnet-large --layers 8 --type "$t" -o "$m" >/dev/null
    MODELS+=("$m")
  done
  [[ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]] && MODELS+=(models/SmolLM2-135M-Instruct.Q4_1.gguf)
fi

# Guest instructions of `tern bench ... -n N` (one thread), from the plugin's "insns:" line.
insns() {
  "$QEMU" -cpu max -plugin "$PLUGIN",inline=on -d plugin "$TERN" bench -m "$1" --backend "$2" -p 0 -n "$3" -t 1 \
    -r 1 2>&1 >/dev/null | awk '/^insns:/ {print $2}'
}
echo "| model | backend | instructions per generated token | reference / backend |"
echo "|---|---|---|---|"
declare -A DOTPROD_PER
for m in "${MODELS[@]}"; do
  ref=""
  for b in reference arm-neon arm-dotprod arm-i8mm; do
    # Generating 6 tokens minus generating 2: loading, the warm-up token and the rest of the run cancel.
    a=$(insns "$m" "$b" 2)
    c=$(insns "$m" "$b" 6)
    per=$(((c - a) / 4))
    [[ -z $ref ]] && ref=$per
    [[ $b == arm-dotprod ]] && DOTPROD_PER[$m]=$per
    printf '| %s | %s | %s | %s |\n' "$(basename "$m" .gguf)" "$b" "$per" \
      "$(awk -v a="$ref" -v b="$per" 'BEGIN {printf "%.1f", a / b}')"
  done
done

# llama.cpp's own NEON build (scripts/build_llama_cpp.sh build-llama.cpp-aarch64 llama-bench
# toolchains/aarch64-linux-gnu.cmake: armv8.2-a+dotprod, the arm-dotprod plugin's baseline) on the files it
# reads (TQ2_0 / TQ1_0 / Q4_1; it has no I2_S or TL1), counted the same way.
LLAMA_BENCH=${LLAMA_BENCH_AARCH64:-$ROOT/build-llama.cpp-aarch64/build/bin/llama-bench}
if [[ -x $LLAMA_BENCH ]]; then
  llama_insns() {
    "$QEMU" -cpu max -plugin "$PLUGIN",inline=on -d plugin "$LLAMA_BENCH" -m "$1" -p 0 -n "$2" -t 1 -r 1 \
      2>&1 >/dev/null | awk '/^insns:/ {print $2}'
  }
  echo
  echo "| model | llama.cpp (NEON + dotprod) instructions per generated token | tern arm-dotprod | llama.cpp / tern |"
  echo "|---|---|---|---|"
  for m in "${MODELS[@]}"; do
    case $m in *tq2_0* | *tq1_0* | *Q4_1*) ;; *) continue ;; esac
    a=$(llama_insns "$m" 2)
    c=$(llama_insns "$m" 6)
    per=$(((c - a) / 4))
    ours=${DOTPROD_PER[$m]}
    printf '| %s | %s | %s | %s |\n' "$(basename "$m" .gguf)" "$per" "$ours" \
      "$(awk -v a="$per" -v b="$ours" 'BEGIN {printf "%.2f", a / b}')"
  done
fi
