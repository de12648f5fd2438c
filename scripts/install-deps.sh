#!/usr/bin/env bash
# Install what cos-c needs on Debian 12, by package name. Idempotent: does
# nothing when everything is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config curl ca-certificates
      libcurl4-openssl-dev libssl-dev libexpat1-dev libsqlite3-dev
      libmicrohttpd-dev libisal-dev nodejs npm openssl valgrind bc clang doxygen gnuplot-nox)
# --sdk-suites: also what scripts/sdk-suites.sh needs to build and run the
# official C and Python SDKs' test suites (not needed by make test)
if [ "${1:-}" = "--sdk-suites" ]; then
  PKGS+=(libapr1-dev libaprutil1-dev libmxml-dev python3 python3-requests python3-xmltodict python3-six
         python3-crcmod python3-pycryptodome)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian's package; accept any node >= 18.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
clean=(); for p in "${missing[@]}"; do [ -n "$p" ] && clean+=("$p"); done
if [ ${#clean[@]} -gt 0 ]; then
  echo "installing: ${clean[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${clean[@]}"
fi
