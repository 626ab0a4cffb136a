#!/usr/bin/env bash
# Fails, listing the files, when a tracked C++ file differs from what clang-format (the root .clang-format)
# makes of it. `scripts/check_format.sh --fix` reformats them instead. Debian 12's clang-format-14 is the
# pinned version: another one may break lines differently.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=clang-format-14
if ! command -v $CLANG_FORMAT >/dev/null; then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang-format-14 >/dev/null
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [[ ${1:-} == --fix ]]; then
  $CLANG_FORMAT -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  $CLANG_FORMAT --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} file(s) differ from clang-format's layout (scripts/check_format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files match .clang-format"
