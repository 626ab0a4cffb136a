#!/usr/bin/env bash
# Instructions retired per generated token by each plugin of ARCH (aarch64 or riscv64) and by the reference
# backend, counted under qemu: wall time under emulation means nothing, guest instruction counts do (they
# depend only on the binary, the model and the emulated core's features). Debian's qemu packages are built
# without TCG plugins, so this builds qemu-aarch64 and qemu-riscv64 (linux-user only) with plugins from Debian
# trixie's qemu 10 source package, and its tests/tcg/plugins/insn.c counter, into build-qemu10/ (about 15
# minutes on 2 cores, once; meson and pycotap, which its configure wants newer than bookworm has, come from
# PyPI into a venv there). Needs scripts/cross.sh ARCH to have built build-ARCH/, and for the llama.cpp
# comparison `scripts/build_llama_cpp.sh build-llama.cpp-ARCH llama-bench toolchains/ARCH-linux-gnu.cmake`.
# Not in CI. The counts are of the whole process, so a run of 6 generated tokens minus a run of 2 is 4 tokens'
# worth.
# Usage: scripts/qemu_icount.sh aarch64|riscv64 [MODEL.gguf ...]
#   (default: 8-layer bitnet-large synth models and SmolLM2)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCH=${1:?usage: scripts/qemu_icount.sh aarch64|riscv64 [MODEL.gguf ...]}
shift
QDIR=$ROOT/build-qemu10
VERSION=10.0.13
B=$QDIR/qemu-$VERSION/b
PLUGIN=$B/tests/tcg/plugins/libinsn.so
if [[ ! -x $B/qemu-aarch64 || ! -x $B/qemu-riscv64 || ! -f $PLUGIN ]]; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends ninja-build libglib2.0-dev \
    python3-venv >/dev/null
  mkdir -p "$QDIR/state/lists/partial" "$QDIR/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$QDIR/sources.list"
  touch "$QDIR/status"
  APT=(-o Dir::Etc::SourceList="$QDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State="$QDIR/state"
       -o Dir::Cache="$QDIR/cache" -o Dir::State::status="$QDIR/status")
  apt-get "${APT[@]}" update -qq
  (cd "$QDIR" && apt-get "${APT[@]}" source --download-only "qemu=1:$VERSION+ds-0+deb13u1" >/dev/null)
  tar -xJf "$QDIR/qemu_$VERSION+ds.orig.tar.xz" -C "$QDIR"
  python3 -m venv "$QDIR/venv"
  "$QDIR/venv/bin/pip" install -q "meson>=1.5,<1.9" "pycotap==1.3.1"
  mkdir -p "$B"
  # The dfsg tarball has no firmware blobs or bundled wheels, and linux-user needs neither.
  (cd "$B" && ../configure --python="$QDIR/venv/bin/python" --target-list=aarch64-linux-user,riscv64-linux-user \
     --enable-plugins --disable-system --disable-docs --disable-tools --disable-werror --disable-install-blobs \
     >/dev/null && make -j"$(nproc)" qemu-aarch64 qemu-riscv64 tests/tcg/plugins/libinsn.so >/dev/null)
fi
case $ARCH in
  aarch64)
    QEMU=("$B/qemu-aarch64" -cpu max)
    BACKENDS=(reference arm-neon arm-dotprod arm-i8mm)
    COMPARE=arm-dotprod  # llama.cpp's build below targets armv8.2-a+dotprod
    LLAMA_DESC="NEON + dotprod" ;;
  riscv64)
    QEMU=("$B/qemu-riscv64" -cpu "${RVV_CPU:-rv64,v=true,vlen=256}" -L "$ROOT/build-riscv64-deps/sysroot")
    BACKENDS=(reference rvv)
    COMPARE=rvv
    LLAMA_DESC="RVV" ;;
  *) echo "unknown arch $ARCH" >&2; exit 1 ;;
esac
TERN=$ROOT/build-$ARCH/bin/tern
[[ -x $TERN ]] || { echo "qemu_icount: run scripts/cross.sh $ARCH first" >&2; exit 1; }
TERN_X86=$ROOT/build/bin/tern
MODELS=("$@")
if ((${#MODELS[@]} == 0)); then
  mkdir -p models/bench
  TYPES=(i2_s tq2_0 tq1_0 tl1)
  for t in "${TYPES[@]}"; do
    m=models/bench/large8-$t.gguf
    [[ -f $m ]] || "$TERN_X86" synth --preset bitnet-large --layers 8 --type "$t" -o "$m" >/dev/null
    MODELS+=("$m")
  done
  [[ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]] && MODELS+=(models/SmolLM2-135M-Instruct.Q4_1.gguf)
fi

# Guest instructions of PROGRAM ARGS... (one thread), from the plugin's "total insns:" line.
insns() {
  "${QEMU[@]}" -plugin "$PLUGIN",inline=on -d plugin "$@" 2>&1 >/dev/null | awk '/^total insns:/ {print $3}'
}
# Generating 6 tokens minus generating 2: loading, the warm-up token and the rest of the run cancel.
per_token() {
  local a c
  a=$(insns "$@" 2)
  c=$(insns "$@" 6)
  echo $(((c - a) / 4))
}
echo "| model | backend | instructions per generated token | reference / backend |"
echo "|---|---|---|---|"
declare -A COMPARE_PER
for m in "${MODELS[@]}"; do
  ref=""
  for b in "${BACKENDS[@]}"; do
    per=$(per_token "$TERN" bench -m "$m" --backend "$b" -p 0 -t 1 -r 1 -n)
    [[ -z $ref ]] && ref=$per
    [[ $b == "$COMPARE" ]] && COMPARE_PER[$m]=$per
    printf '| %s | %s | %s | %s |\n' "$(basename "$m" .gguf)" "$b" "$per" \
      "$(awk -v a="$ref" -v b="$per" 'BEGIN {printf "%.1f", a / b}')"
  done
done

# llama.cpp's own build for ARCH (scripts/build_llama_cpp.sh build-llama.cpp-ARCH llama-bench
# toolchains/ARCH-linux-gnu.cmake) on the files it reads (TQ2_0 / TQ1_0 / Q4_1; it has no I2_S or TL1),
# counted the same way.
LLAMA_BENCH=$ROOT/build-llama.cpp-$ARCH/build/bin/llama-bench
if [[ -x $LLAMA_BENCH ]]; then
  echo
  echo "| model | llama.cpp ($LLAMA_DESC) instructions per generated token | tern $COMPARE | llama.cpp / tern |"
  echo "|---|---|---|---|"
  for m in "${MODELS[@]}"; do
    case $m in *tq2_0* | *tq1_0* | *Q4_1*) ;; *) continue ;; esac
    per=$(per_token "$LLAMA_BENCH" -m "$m" -p 0 -t 1 -r 1 -n)
    ours=${COMPARE_PER[$m]}
    printf '| %s | %s | %s | %s |\n' "$(basename "$m" .gguf)" "$per" "$ours" \
      "$(awk -v a="$per" -v b="$ours" 'BEGIN {printf "%.2f", a / b}')"
  done
fi
