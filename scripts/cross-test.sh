#!/usr/bin/env bash
# `make cross-test`: libcos, the CLI and the tests cross-built for other
# architectures with Debian's toolchains and run under qemu-user.
#   - every architecture: the unit tests (signatures, presigned URLs, CRC-64
#     and MD5 vectors, XML, URL and util: no server);
#   - arm64 and armhf: also the integration tests (operations, transfers,
#     resume) against a cos-server built for this host, on loopback, and the
#     cross-built `cos` driven through an upload and a download;
#   - armhf (32-bit): also tests/large (a sparse file past 4 GiB up and down,
#     each killed half-way and resumed; a listing of 65,600 keys).
#
#   scripts/cross-test.sh [ARCH...]      default: arm64 armhf s390x
#   CROSS_UNIT_ONLY=1    unit tests only (what CI runs)
#   CROSS_LARGE=0        skip tests/large on armhf
#   CROSS_BENCH=1        also print bench/micro's figures (under qemu)
# Build directories: ${CROSS_BUILD_PREFIX:-build-}ARCH; the host's cos-server: build/.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(arm64 armhf s390x)
JOBS=${JOBS:-$(nproc)}
UNIT='^test_(sign|sigv4|hash|xml|util)$'
HOST_BUILD=${BUILD:-build}

toolchain() {
  case "$1" in
    arm64) echo cmake/toolchain-aarch64-linux-gnu.cmake ;;
    armhf) echo cmake/toolchain-arm-linux-gnueabihf.cmake ;;
    s390x) echo cmake/toolchain-s390x-linux-gnu.cmake ;;
    *) echo "cross-test: unknown architecture '$1' (arm64, armhf, s390x)" >&2; exit 2 ;;
  esac
}
for a in "${ARCHES[@]}"; do toolchain "$a" >/dev/null; done

t0=$(date +%s)
bash scripts/install-cross-deps.sh "${ARCHES[@]}"
echo "cross-test: dependencies ready in $(( $(date +%s) - t0 )) s"

SERVER=""
if [ "${CROSS_UNIT_ONLY:-0}" != 1 ]; then
  [ -f "$HOST_BUILD/Makefile" ] || cmake -S . -B "$HOST_BUILD" >/dev/null
  cmake --build "$HOST_BUILD" -j "$JOBS" --target cos-server
  SERVER=$(realpath "$HOST_BUILD/cos-server")
fi

status=0
summary=()
for a in "${ARCHES[@]}"; do
  t1=$(date +%s)
  B=${CROSS_BUILD_PREFIX:-build-}$a
  large=OFF
  [ "$a" = armhf ] && [ "${CROSS_UNIT_ONLY:-0}" != 1 ] && [ "${CROSS_LARGE:-1}" = 1 ] && large=ON
  srv=(); [ -n "$SERVER" ] && srv=(-DCOS_TEST_SERVER_BIN="$SERVER")
  cmake -S . -B "$B" -DCMAKE_TOOLCHAIN_FILE="$(toolchain "$a")" -DCOS_BUILD_SERVER=OFF \
    "${srv[@]}" -DCOS_TEST_LARGE=$large >/dev/null
  if [ "${CROSS_UNIT_ONLY:-0}" = 1 ]; then
    # only what the unit tests and the CLI need: CI's minutes matter
    cmake --build "$B" -j "$JOBS" --target cos cos_shared test_sign test_sigv4 test_hash test_xml test_util
  else
    cmake --build "$B" -j "$JOBS"
  fi
  tb=$(date +%s)
  if [ "${CROSS_UNIT_ONLY:-0}" = 1 ] || [ "$a" = s390x ]; then
    sel=(-R "$UNIT")
  else
    sel=()
  fi
  if (cd "$B" && ctest --output-on-failure -j "$JOBS" "${sel[@]}"); then r=ok; else r=FAILED; status=1; fi
  if [ "$r" = ok ] && [ -n "$SERVER" ] && [ "$a" != s390x ]; then
    bash scripts/cross-cli-smoke.sh "$B" "$SERVER" || { r="FAILED (cli)"; status=1; }
  fi
  if [ "${CROSS_BENCH:-0}" = 1 ]; then
    echo "--- bench/micro on $a (under qemu-user: emulated, not the hardware's speed)"
    MICRO_QUICK=1 sh "$B/qemu-run" "$B/bench/micro" || true
  fi
  summary+=("$a: $r (build $((tb - t1)) s, tests $(( $(date +%s) - tb )) s)")
done
echo "cross-test summary:"
printf '  %s\n' "${summary[@]}"
exit $status
