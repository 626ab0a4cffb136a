#!/usr/bin/env bash
# Fetches what a whole riscv64 tern needs and bookworm lacks, from Debian trixie (where riscv64 is an official
# architecture), into build-riscv64-deps/:
#   sysroot/  trixie's riscv64 glibc, libstdc++ 14, Boost.Program_options, cpuinfo, OpenSSL's libcrypto,
#             GoogleTest and Google Benchmark, unpacked with dpkg-deb (nothing is installed on the host);
#             clang-19 builds against it.
#   qemu/     trixie's qemu-user 10.x for amd64 (static-pie, runs on bookworm): bookworm's qemu 7.2 asserts on
#             some RVV code.
# apt runs with a private sources list and state directory, so the host's apt configuration is left alone.
# Runs again only when the package list below changes.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/build-riscv64-deps
PKGS=(libc6-dev libstdc++-14-dev libboost-program-options-dev libboost-dev libcpuinfo-dev libgtest-dev
      libbenchmark-dev nlohmann-json3-dev libssl-dev)
HOST_PKGS=(qemu-user:amd64)
STAMP="$OUT/stamp"
want_stamp="${PKGS[*]} ${HOST_PKGS[*]}"
if [[ -f $STAMP && $(cat "$STAMP") == "$want_stamp" ]]; then exit 0; fi

rm -rf "$OUT"
mkdir -p "$OUT/apt/lists/partial" "$OUT/apt/cache/archives/partial" "$OUT/debs" "$OUT/sysroot" "$OUT/qemu"
echo "deb [arch=riscv64,amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
  "http://deb.debian.org/debian trixie main" >"$OUT/apt/sources.list"
touch "$OUT/apt/status"
APT=(-o Dir::State="$OUT/apt" -o Dir::State::status="$OUT/apt/status" -o Dir::Cache="$OUT/apt/cache"
     -o Dir::Etc::SourceList="$OUT/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o APT::Architecture=riscv64 -o APT::Architectures::=riscv64 -o APT::Architectures::=amd64
     -o APT::Install-Recommends=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
apt-get "${APT[@]}" -qq update
# The dependency closure of the packages, resolved against an empty system: exactly what the sysroot needs.
mapfile -t closure < <(apt-get "${APT[@]}" -s install "${PKGS[@]}" | awk '/^Inst/ {print $2}')
(cd "$OUT/debs" && apt-get "${APT[@]}" -qq download "${closure[@]/%/:riscv64}" "${HOST_PKGS[@]}")
for deb in "$OUT"/debs/*_riscv64.deb "$OUT"/debs/*_all.deb; do
  [[ -e $deb ]] && dpkg-deb -x "$deb" "$OUT/sysroot"
done
for deb in "$OUT"/debs/qemu-user_*_amd64.deb; do dpkg-deb -x "$deb" "$OUT/qemu.all"; done
mkdir -p "$OUT/qemu/bin"
mv "$OUT/qemu.all/usr/bin/qemu-riscv64" "$OUT/qemu/bin/"
rm -rf "$OUT/qemu.all"
# Merged /usr, as base-files makes it on a real system: the program interpreter is /lib/ld-linux-riscv64-*.so.1.
for d in lib bin sbin; do [[ -e $OUT/sysroot/$d ]] || ln -s usr/$d "$OUT/sysroot/$d"; done
# A few -dev symlinks are absolute (/usr/lib/...): point them inside the sysroot.
find "$OUT/sysroot" -type l -lname '/*' | while read -r link; do
  ln -sfn "$OUT/sysroot$(readlink "$link")" "$link"
done
rm -rf "$OUT/debs" "$OUT/apt"
"$OUT/qemu/bin/qemu-riscv64" --version | head -1
echo "$want_stamp" >"$STAMP"
