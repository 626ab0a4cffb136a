#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang-19 (ASan + UBSan) in build-fuzz/, makes their seed corpora
# from ../shared, replays fuzz/regressions/, then fuzzes each target for SECONDS (default 60), as many at once as
# there are cores. Fails if any input crashes, hangs or leaks; the input is left in build-fuzz/crashes/ (copy it
# into fuzz/regressions/<target>/ once fixed). The last line of each run (executions, coverage) goes to
# build-fuzz/summary.txt; docs/fuzzing.md records a long run.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(fuzz_gguf fuzz_safetensors fuzz_tokenizer_files fuzz_tokenize fuzz_chat_template fuzz_onnx)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
missing=()
for p in clang-19 libclang-rt-19-dev llvm-19; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
PY=python3
[[ -x .venv/bin/python ]] && PY=$ROOT/.venv/bin/python  # scripts/setup.sh's, which has gguf and numpy

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_C_COMPILER=clang-19 -DTERN_FUZZ=ON -DTERN_WERROR=ON -DTERN_BUILD_TESTS=OFF -DTERN_BUILD_BENCH=OFF \
  -DTERN_BUILD_TOOLS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${TARGETS[@]}"
rm -rf build-fuzz/seeds
"$PY" fuzz/make_seeds.py ../shared build-fuzz/seeds

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-19/bin/llvm-symbolizer
mkdir -p build-fuzz/crashes build-fuzz/logs
: >build-fuzz/summary.txt
for t in "${TARGETS[@]}"; do
  echo "fuzz: $t replays fuzz/regressions/$t"
  build-fuzz/bin/$t -runs=0 -rss_limit_mb=4096 fuzz/regressions/$t >build-fuzz/logs/$t-regressions.log 2>&1 ||
    { tail -40 build-fuzz/logs/$t-regressions.log; echo "fuzz: $t crashes on a regression input" >&2; exit 1; }
done

run() {
  local t=$1
  mkdir -p build-fuzz/corpus/$t
  # -timeout: one input may take at most 25 s (a hang is a bug); -rss_limit_mb: a 4 GiB allocation is one too.
  build-fuzz/bin/$t -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$t-" build-fuzz/corpus/$t build-fuzz/seeds/$t fuzz/regressions/$t \
    >build-fuzz/logs/$t.log 2>&1
}
status=0
# In batches of as many targets as there are cores.
batch=$(nproc)
for ((first = 0; first < ${#TARGETS[@]}; first += batch)); do
  pids=()
  names=("${TARGETS[@]:first:batch}")
  for t in "${names[@]}"; do
    echo "fuzz: $t for ${SECONDS_EACH}s"
    run "$t" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    t=${names[$i]}
    if ! wait "${pids[$i]}"; then
      status=1
      echo "fuzz: $t FAILED; its log ends:" >&2
      tail -40 build-fuzz/logs/$t.log >&2
    fi
    done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" build-fuzz/logs/$t.log | tail -1 || true)
    execs=$(grep -E "stat::number_of_executed_units" build-fuzz/logs/$t.log | awk '{print $2}' || true)
    echo "$t executions=${execs:-?} ${done_line}" | tee -a build-fuzz/summary.txt
  done
done
if ls build-fuzz/crashes/* >/dev/null 2>&1; then
  echo "fuzz: crashing inputs in build-fuzz/crashes/:" >&2
  ls build-fuzz/crashes >&2
  status=1
fi
exit $status
