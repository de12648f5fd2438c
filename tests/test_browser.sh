#!/usr/bin/env bash
# test_browser.sh — cos-server's web console and CORS in a real browser:
# Debian's chromium (scripts/install-deps.sh) driven by playwright-core
# (tests/browser/package-lock.json), the console's SDK from
# server/console/package-lock.json. See tests/browser/browser.js.
# COS_SCREENSHOT_DIR=docs/ bash tests/test_browser.sh refreshes the screenshots.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are required (scripts/install-deps.sh)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing: apt-get install chromium (scripts/install-deps.sh)"
# npm ci from the lockfiles, only when node_modules is absent or older than its lockfile
for d in "$HERE/browser" "$ROOT/server/console"; do
  if [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
    (cd "$d" && npm ci --ignore-scripts --no-audit --no-fund --silent) || fail "npm ci failed in $d"
  fi
done
. "$HERE/lib.sh"
start_server --sts-open --console
CONSOLE_URL=$(sed -n 's/^console: //p' "$TEST_TMP/server.log")
[ -n "$CONSOLE_URL" ] || { cat "$TEST_TMP/server.log"; fail "the server printed no console address"; }
COS_PORT=$PORT COS_CONSOLE_URL=$CONSOLE_URL COS_STS_FILE="$TEST_TMP/data/sts.json" \
  COS_JS_SDK="$ROOT/server/console/node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js" CHROMIUM=$CHROMIUM \
  node "$HERE/browser/browser.js"
