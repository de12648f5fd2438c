#!/usr/bin/env bash
# `make demo`: start a fresh cos-server on a free loopback port with a
# temporary data directory, then walk through the cos CLI against it.
# Exits non-zero if any step fails; cleans up after itself either way.
set -euo pipefail
BUILD=${1:-build}
COS="$BUILD/cos"
SERVER="$BUILD/cos-server"
[ -x "$COS" ] && [ -x "$SERVER" ] || { echo "demo: build first (make)"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cos-demo-XXXXXX")
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$SERVER" --root "$WORK/data" --listen 127.0.0.1:0 --port-file "$WORK/port" --quiet >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1200); do [ -s "$WORK/port" ] && break; kill -0 $SERVER_PID 2>/dev/null || break; sleep 0.05; done
PORT=$(cat "$WORK/port")
export COS_ENDPOINT="127.0.0.1:$PORT"
export COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000
export COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
export COS_REGION=ap-guangzhou
export HOME="$WORK"   # checkpoints and config stay inside the demo
B=cos://demo-1250000000

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "cos-server is running on 127.0.0.1:$PORT (data in $WORK/data)"
head -c 3000 /dev/urandom > "$WORK/small.txt"
head -c $((24 * 1024 * 1024)) /dev/urandom > "$WORK/big.bin"

step "$COS" mb $B
step "$COS" cp "$WORK/small.txt" $B/docs/small.txt
step "$COS" cp "$WORK/big.bin" $B/videos/big.bin --chunk-size 1048576
step "$COS" ls $B -r -l
step "$COS" ls
step "$COS" stat $B/videos/big.bin
step "$COS" cp $B/videos/big.bin "$WORK/big.back"
step cmp "$WORK/big.bin" "$WORK/big.back"
URL=$("$COS" presign $B/docs/small.txt --expires 600)
echo "presigned: ${URL:0:100}..."
step curl -sf -o "$WORK/small.back" "$URL"
step cmp "$WORK/small.txt" "$WORK/small.back"
step "$COS" cp $B/videos/big.bin $B/archive/big-copy.bin
mkdir -p "$WORK/site/css"; echo '<h1>hi</h1>' > "$WORK/site/index.html"; echo 'h1{}' > "$WORK/site/css/a.css"
step "$COS" sync "$WORK/site" $B/site --content-type text/plain
echo '<h1>hello</h1>' > "$WORK/site/index.html"; rm "$WORK/site/css/a.css"
step "$COS" sync "$WORK/site" $B/site --delete
step "$COS" sync $B/site "$WORK/site-copy"
step "$COS" du $B
step "$COS" rm $B/docs/small.txt
step "$COS" rm $B/ -r --force --all   # the whole bucket: --all says so (a script's "cos://b/$DIR" with DIR empty is refused)
step "$COS" rb $B
echo
echo "demo finished: every step passed"
