#!/usr/bin/env bash
# test_many_files.sh — what uploading a tree costs beyond its PUTs: each
# file's bytes are read once (their CRC-64 is computed as they are sent and
# checked against the server's; a second pass over every file after its PUT
# doubled the reading), counted by an LD_PRELOAD module
# (tests/preload/read_count.c); and the objects are the files, byte for byte.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://many-1250000000
check "mb" $COS mb $B

# small files (simple uploads) of many sizes, an empty one, and one of 3 MiB
# (a multipart upload: 1 MiB parts)
T="$TEST_TMP/tree"
mkdir -p "$T/a/b" "$T/c"
head -c 0 /dev/urandom > "$T/empty"
i=0
for size in 1 100 4096 4097 65535 65536 65537 200000 524288 1000000 1048576; do
  i=$((i + 1))
  head -c "$size" /dev/urandom > "$T/a/f$i"
  head -c "$size" /dev/urandom > "$T/c/g$i"
done
head -c $((3 * 1048576 + 17)) /dev/urandom > "$T/a/b/big"
TOTAL=$(find "$T" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')

if [ -n "${COS_READ_COUNT_LIB:-}" ]; then
  # (under ASan the module is preloaded ahead of its runtime: told not to mind)
  env LD_PRELOAD="$COS_READ_COUNT_LIB" COS_TEST_READ_COUNT_UNDER="$T" COS_TEST_READ_COUNT_OUT="$TEST_TMP/count" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$COS" cp -r "$T" "$B/up" -q >"$TEST_TMP/cp.out" 2>&1
  check "cp -r up" grep -q . "$TEST_TMP/count"
  READ=-1 OPENS=-1
  [ -s "$TEST_TMP/count" ] && read -r READ OPENS < "$TEST_TMP/count"
  echo "# $TOTAL bytes in $(find "$T" -type f | wc -l) files: $READ bytes read in $OPENS opens"
  check "each file's bytes are read once ($READ of $TOTAL)" test "$READ" -eq "$TOTAL"
else
  echo "# COS_READ_COUNT_LIB not set: the reading is not counted"
  check "cp -r up" "$COS" cp -r "$T" "$B/up" -q
fi
D="$TEST_TMP/down"
check "cp -r down" "$COS" cp -r "$B/up" "$D" -q
check "the objects are the files" bash -c "[ \"\$(cd '$T' && find . -type f | sort | xargs md5sum)\" = \"\$(cd '$D' && find . -type f | sort | xargs md5sum)\" ]"
finish
