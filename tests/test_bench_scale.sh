#!/usr/bin/env bash
# test_bench_scale.sh — bench/scale.sh at its smallest size (1,000 keys) runs
# to its table: every listing returned what bench_scale wanted of it. It
# stopped at "listing returned 500 entries, wanted 1000": the page after
# "k/d50/" holds 500 keys at that size, and bench_scale wanted a full page
# (tests/test_api.c test_listing_pages holds the server's side: nothing was
# dropped). A bench is not a test of speed here: no figure is checked.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${COS_BUILD_DIR:?}
if [ ! -x "$BUILD/bench/bench_scale" ]; then
  echo "ok - skipped: no bench/bench_scale in $BUILD"
  finish
  exit
fi
check "scale.sh at 1000 keys" env BENCH_SCALE_KEYS=1000 BENCH_SCALE_INFLIGHT=8 OUT="$TEST_TMP/out" \
  bash "$COS_SOURCE_DIR/bench/scale.sh" "$BUILD"
for m in page_start_ms page_middle_ms page_end_ms delimiter_root_ms delimiter_dir_ms get_listing_ms listing_pages_s; do
  check "scale.csv has $m" grep -q "^$m,1000," "$TEST_TMP/out/scale.csv"
done
finish
