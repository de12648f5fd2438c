#!/usr/bin/env bash
# The cross-built `cos` (run under qemu-user) against a cos-server of this
# host on loopback: make a bucket, upload a multipart file, list, stat,
# download, compare byte for byte, remove. Used by scripts/cross-test.sh.
#   usage: cross-cli-smoke.sh BUILD_DIR HOST_COS_SERVER
set -euo pipefail
B=$1 SERVER=$2
W=$(mktemp -d "${TMPDIR:-/tmp}/cos-cross-cli-XXXXXX")
SP=
trap '[ -n "$SP" ] && kill $SP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
"$SERVER" --root "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" --quiet >"$W/server.log" 2>&1 & SP=$!
for _ in $(seq 1 400); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { echo "cross-cli-smoke: cos-server did not start" >&2; cat "$W/server.log" >&2; exit 1; }
export COS_ENDPOINT=127.0.0.1:$(cat "$W/port") COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 \
  COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000 HOME=$W
cos() { sh "$B/qemu-run" "$B/cos" "$@"; }
BUCKET=cross-1250000000
# 24 MiB + 5 bytes: several parts and a short last one
head -c $((24 * 1048576 + 5)) /dev/urandom > "$W/up.bin"
cos mb "cos://$BUCKET" >/dev/null
cos cp "$W/up.bin" "cos://$BUCKET/dir/up.bin" >/dev/null
cos ls "cos://$BUCKET/dir/" | grep -q "up.bin"
cos stat "cos://$BUCKET/dir/up.bin" > "$W/stat"
grep -q "$((24 * 1048576 + 5))" "$W/stat"
cos cp "cos://$BUCKET/dir/up.bin" "$W/down.bin" >/dev/null
cmp "$W/up.bin" "$W/down.bin"
cos rm "cos://$BUCKET/dir/up.bin" >/dev/null
if cos stat "cos://$BUCKET/dir/up.bin" >/dev/null 2>&1; then
  echo "cross-cli-smoke: object still there after rm" >&2; exit 1
fi
echo "cross-cli-smoke: $(basename "$B"): cos mb/cp/ls/stat/cp/rm ok ($(readelf -h "$B/cos" | sed -n "s/ *Machine: *//p"))"
