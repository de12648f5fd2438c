#!/usr/bin/env bash
# Install what cos-c needs on Debian 12, by package name. Idempotent and
# silent when everything is already there.
#   install-deps.sh           install what is missing (needs root)
#   install-deps.sh --ensure  what `make` runs first: nothing if all is there;
#                             as root, install what is missing; otherwise print
#                             the one command to run and fail
#   install-deps.sh --sdk-suites  also what scripts/sdk-suites.sh needs
#   install-deps.sh --s3-tests    also what scripts/s3-tests.sh needs (ceph/s3-tests)
set -euo pipefail
PKGS=(build-essential cmake pkg-config curl ca-certificates
      libcurl4-openssl-dev libssl-dev libexpat1-dev libsqlite3-dev zlib1g-dev
      libmicrohttpd-dev libisal-dev nodejs npm openssl valgrind bc clang doxygen gnuplot-nox
      chromium)  # chromium: tests/test_browser.sh drives it (playwright-core, no browser download)
# S3 tools tests/test_s3_tools.sh drives against cos-server (#19)
PKGS+=(awscli s3cmd rclone python3-boto3)
# OpenStack Swift with s3api: tests/test_s3_compat's distributed S3 store
# (tests/support/swift_rig.py: three object servers, three replicas)
PKGS+=(python3-swift swift swift-proxy swift-object swift-container swift-account)
ensure=0
[ "${1:-}" = "--ensure" ] && ensure=1
# --sdk-suites: also what scripts/sdk-suites.sh needs to build and run the
# official C and Python SDKs' test suites (not needed by make test)
if [ "${1:-}" = "--sdk-suites" ]; then
  PKGS+=(libapr1-dev libaprutil1-dev libmxml-dev python3 python3-requests python3-xmltodict python3-six
         python3-crcmod python3-pycryptodome)
  # the Node.js suite (--node): node and npm; its npm packages come from
  # scripts/node-suite/package-lock.json at each run (npm ci)
  PKGS+=(nodejs npm)
fi
# --s3-tests: also what scripts/s3-tests.sh needs to run ceph/s3-tests (not needed by make test)
if [ "${1:-}" = "--s3-tests" ]; then
  PKGS+=(python3 python3-boto3 python3-pytest python3-munch python3-gevent python3-isodate python3-httplib2
         python3-lxml python3-tz python3-requests python3-yaml python3-pytest-xdist)
fi
missing=()
# Not Debian: nothing to check by package name; CMake names what it cannot find.
if command -v dpkg-query >/dev/null; then
  # one dpkg-query for all packages (make runs this on every build)
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null | awk '/install ok installed/ {print $1}' || true)
  for p in "${PKGS[@]}"; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
  done
fi
# Node.js may come from elsewhere than Debian's package; accept any node and npm on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  keep=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || keep+=("$p"); done
  missing=("${keep[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    if [ $ensure -eq 1 ]; then
      echo "cos-c needs: ${missing[*]}" >&2
      echo "run once:  sudo bash scripts/install-deps.sh   (then the same make command again)" >&2
    else
      echo "install-deps.sh: run as root to install: ${missing[*]}" >&2
    fi
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
# cos-server's web console ships the official browser SDK from its lockfile
# (server/console/package-lock.json): cos-server --console serves it from there.
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$HERE/server/console/node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js" ] ||
   [ "$HERE/server/console/package-lock.json" -nt "$HERE/server/console/node_modules/.package-lock.json" ]; then
  # not fatal: only `cos-server --console` needs it, and it says so when it is missing
  (cd "$HERE/server/console" && npm ci --ignore-scripts --no-audit --no-fund --silent) ||
    echo "install-deps.sh: npm ci in server/console failed; cos-server --console needs it" >&2
fi
