#!/usr/bin/env bash
# test_examples.sh — every example program runs against a fresh cos-server.
set -u
. "$(dirname "$0")/lib.sh"
start_server --sts
EX="$COS_BUILD_DIR/examples"
"$COS_CLI_BIN" mb cos://examplebucket-1250000000 >/dev/null
head -c 3000000 /dev/urandom > "$TEST_TMP/in.bin"
check "readme example uploads and downloads" "$EX/example_readme" "$TEST_TMP/in.bin" "$TEST_TMP/out.bin"
check "readme example round trip is byte-exact" cmp "$TEST_TMP/in.bin" "$TEST_TMP/out.bin"
export COS_STS_URL="http://$COS_ENDPOINT/sts"
for ex in "$EX"/example_*; do
  name=$(basename "$ex")
  [ "$name" = example_readme ] && continue
  check "$name" "$ex"
done
finish
