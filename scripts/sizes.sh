#!/usr/bin/env bash
# Sizes for embedded budgets (docs/platforms.md): libcos.so, libcos.a and
# examples/embedded/uploader.c linked against libcos.a, stripped, for each
# build directory given (build = this host; build-ARCH from make cross-test).
#   usage: sizes.sh [BUILD_DIR...]    default: build build-arm64 build-armhf build-s390x
set -euo pipefail
cd "$(dirname "$0")/.."
DIRS=("$@")
[ ${#DIRS[@]} -gt 0 ] || DIRS=(build build-arm64 build-armhf build-s390x)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
printf '| target | CRC-64 | libcos.so | libcos.a | uploader (libcos.a inside) | its shared libraries |\n'
printf '| --- | --- | ---: | ---: | ---: | --- |\n'
for B in "${DIRS[@]}"; do
  [ -f "$B/CMakeCache.txt" ] || continue
  cc=$(sed -n 's/^set(CMAKE_C_COMPILER "\(.*\)")$/\1/p' "$B"/CMakeFiles/*/CMakeCCompiler.cmake | head -1)
  sysroot=$(sed -n 's/^COS_CROSS_SYSROOT:[A-Z]*=//p' "$B/CMakeCache.txt")
  strip=strip; libs=()
  if [ -n "$sysroot" ]; then
    triplet=$("$cc" -dumpmachine)
    strip=$triplet-strip
    libs=(-I"$sysroot/usr/include" -I"$sysroot/usr/include/$triplet" -L"$sysroot/usr/lib/$triplet"
          -Wl,-rpath-link,"$sysroot/usr/lib/$triplet")
  fi
  isal=()
  grep -q '^COS_HAVE_ISAL.*=ON' "$B/CMakeCache.txt" 2>/dev/null && isal=(-lisal)
  grep -q 'COS_HAVE_ISAL=1' "$B/CMakeFiles/cos_objects.dir/flags.make" 2>/dev/null && isal=(-lisal)
  so=$(readlink -f "$B/libcos.so")
  cp "$so" "$W/libcos.so"; "$strip" "$W/libcos.so"
  cp "$B/libcos.a" "$W/libcos.a"; "$strip" --strip-debug "$W/libcos.a"
  "$cc" -std=c11 -Os -Iinclude examples/embedded/uploader.c -o "$W/uploader" "$W/libcos.a" \
    "${libs[@]}" -lcurl -lcrypto -lexpat "${isal[@]}" -lpthread
  "$strip" "$W/uploader"
  arch=$("$cc" -dumpmachine)
  crc=portable; [ ${#isal[@]} -gt 0 ] && crc=ISA-L
  needed=$(readelf -d "$W/uploader" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | grep -v '^ld\|^libc\.so' | tr '\n' ' ')
  kib() { echo "$(( ($(stat -c %s "$1") + 512) / 1024 )) KiB"; }
  printf '| %s | %s | %s | %s | %s | %s|\n' "$arch" "$crc" "$(kib "$W/libcos.so")" "$(kib "$W/libcos.a")" \
    "$(kib "$W/uploader")" "$needed"
done
