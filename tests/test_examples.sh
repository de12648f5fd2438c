#!/usr/bin/env bash
# test_examples.sh — every example program runs against a fresh cos-server,
# and what it prints shows it did what its guide section says.
set -u
SELF=$(realpath "$0")
. "$(dirname "$0")/lib.sh"
start_server --sts-open
EX="$COS_BUILD_DIR/examples"
"$COS_CLI_BIN" mb cos://examplebucket-1250000000 >/dev/null
mkdir -p "$TEST_TMP/work" && cd "$TEST_TMP/work" || exit 1
head -c 3000000 /dev/urandom > in.bin
check "readme example uploads and downloads" "$EX/example_readme" in.bin out.bin
check "readme example round trip is byte-exact" cmp in.bin out.bin
export COS_STS_URL="http://$COS_ENDPOINT/sts"

# run NAME PATTERN: the example succeeds and its output matches PATTERN
run() {
  local out
  if out=$("$EX/example_$1" 2>&1) && grep -Eq -- "$2" <<<"$out"; then ok "$1"; else bad "$1"; printf '%s\n' "$out" | sed 's/^/    /'; fi
}
run init_permanent     "reachable with the permanent key"
run init_sts           "3 uploads signed with one temporary key"
run init_scope         "3 uploads, 2 scoped keys fetched"
run init_authorization "backend-computed Authorization"
run call_styles        "future: HTTP 200"
run put_bucket         "headBucket: HTTP 200"
run get_service        "examplebucket-1250000000"
run upload_file        "uploaded 5242880 bytes in 5 parts"
run list_objects       "dir  photos/2025/"
run get_object         "range: Hello \(HTTP 206\)"
run delete_object      "deleted trash/3.txt"
run presign            "quarterly figures"
run task_queue         "paused .*queue/task_queue.bin"
run upload_files       "4 files uploaded"
run slice_copy_file    "copied 3145728 bytes in 3 parts"
run download_file      "downloaded 6291456 bytes"
check "downloadFile result is byte-exact" cmp big.bin big.copy.bin
check "uploadFile object is byte-exact" sh -c '"$COS_CLI_BIN" cat cos://examplebucket-1250000000/uploads/upload_file.bin | cmp - upload_file.bin'
# every example is run above
for ex in "$EX"/example_*; do
  name=${ex##*/example_}
  grep -q "^run $name " "$SELF" || [ "$name" = readme ] || bad "example $name has no check in test_examples.sh"
done
finish
