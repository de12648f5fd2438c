#!/usr/bin/env bash
# test_docs.sh — the API reference builds with no undocumented public symbol,
# and the docs the README points to exist.
set -u
. "$(dirname "$0")/lib.sh"
check "make docs (Doxygen, warnings are errors)" bash "$COS_SOURCE_DIR/scripts/docs.sh" "$TEST_TMP/docs"
for f in README.md docs/getting-started.md docs/api-map.md docs/cli.md docs/cos-server.md; do
  check "$f exists" test -s "$COS_SOURCE_DIR/$f"
done
check "every operation is in the API map" bash -c "for n in \$(grep -o '^ *X([a-z_]*,' '$COS_SOURCE_DIR/include/cos/client.h' | sed 's/ *X(//;s/,//'); do grep -q \"cos_\$n\" '$COS_SOURCE_DIR/docs/api-map.md' || exit 1; done"
finish
