#!/usr/bin/env bash
# test_conformance.sh — the official Node.js SDK (pinned in tests/conformance/
# package-lock.json) against a fresh cos-server.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are required (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
cd "$HERE/conformance"
if [ ! -d node_modules/cos-nodejs-sdk-v5 ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi
. "$HERE/lib.sh"
start_server --sts-open
node "$HERE/conformance/conformance.js"
