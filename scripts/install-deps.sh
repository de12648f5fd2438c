#!/usr/bin/env bash
# Install what cos-c needs on Debian 12, by package name. Idempotent: does
# nothing when everything is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config curl ca-certificates
      libcurl4-openssl-dev libssl-dev libexpat1-dev libsqlite3-dev
      libmicrohttpd-dev libisal-dev nodejs npm openssl valgrind bc clang doxygen gnuplot-nox
      chromium)  # chromium: tests/test_browser.sh drives it (playwright-core, no browser download)
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
# cos-server's web console ships the official browser SDK from its lockfile
# (server/console/package-lock.json): cos-server --console serves it from there.
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$HERE/server/console/node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js" ] ||
   [ "$HERE/server/console/package-lock.json" -nt "$HERE/server/console/node_modules/.package-lock.json" ]; then
  (cd "$HERE/server/console" && npm ci --ignore-scripts --no-audit --no-fund --silent)
fi
