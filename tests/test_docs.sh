#!/usr/bin/env bash
# test_docs.sh — the API reference documents every public symbol, each
# generated operation included, and the build fails when one is not; the
# docs the README points to exist; the getting-started "run one by hand"
# block works as written.
set -u
. "$(dirname "$0")/lib.sh"
SRC=$COS_SOURCE_DIR
check "make docs (Doxygen, every public symbol documented)" bash "$SRC/scripts/docs.sh" "$TEST_TMP/docs"
HTML="$TEST_TMP/docs/html/client_8h.html"
missing=""
for n in $(grep -o '^ *X([a-z_]*,' "$SRC/include/cos/client.h" | sed 's/ *X(//;s/,//'); do
  grep -q "cos_${n}(" "$HTML" && grep -q "cos_${n}_async(" "$HTML" || missing="$missing $n"
done
check "every generated operation is in the reference, sync and async (missing:${missing:- none})" test -z "$missing"
check "and every cos_op value" bash -c "[ \$(grep -o 'COS_OP_[A-Z_]*' '$HTML' | sort -u | wc -l) -gt \$(grep -c '^ *X(' '$SRC/include/cos/client.h') ]"
check "the ownership and threading page is built" test -s "$TEST_TMP/docs/html/ownership.html"
check "the ABI policy page is built" test -s "$TEST_TMP/docs/html/abi.html"

# An undocumented function, macro or enum value fails the build, named.
for what in 'COS_API int cos_undocumented_fn(int x);' '#define COS_UNDOCUMENTED_MACRO 1' 'typedef enum cos_undoc_e { COS_UNDOC_A } cos_undoc_e;'; do
  rm -rf "$TEST_TMP/h"; mkdir -p "$TEST_TMP/h"; cp "$SRC"/include/cos/*.h "$TEST_TMP/h/"
  sed -i "s|^#endif\$|$what\n#endif|" "$TEST_TMP/h/hash.h"
  name=$(echo "$what" | grep -o 'cos_undocumented_fn\|COS_UNDOCUMENTED_MACRO\|cos_undoc_e' | head -1)
  check "an undocumented $name fails make docs" bash -c "! COS_DOCS_HEADERS='$TEST_TMP/h' bash '$SRC/scripts/docs.sh' '$TEST_TMP/bad' > '$TEST_TMP/bad.log' 2>&1"
  check "and the output names it" grep -q "$name" "$TEST_TMP/bad.log"
done

for f in README.md docs/getting-started.md docs/api-map.md docs/cli.md docs/cos-server.md docs/ownership.md docs/abi.md; do
  check "$f exists" test -s "$SRC/$f"
done
unreleased=""; for f in $(grep -oh 'cos_[a-z0-9_]*_free\b' "$SRC"/include/cos/*.h | sort -u); do grep -q "$f" "$SRC/docs/ownership.md" || unreleased="$unreleased $f"; done
check "every release function of the headers is named in ownership.md (missing:${unreleased:- none})" test -z "$unreleased"
check "cli.md says rm -r needs --force without a terminal (test_cli_safety checks the exit 2)" grep -q 'needs `--force`, else it is refused (exit 2)' "$SRC/docs/cli.md"
check "config.h's example of cos_request_metrics.op is the name test_cred sees (putObject, not PutObject)" \
  bash -c "grep -q 'cos_op_name()), e.g. \"putObject\"' '$SRC/include/cos/config.h' && grep -q 'CHECK_STR(s.op, \"putObject\")' '$SRC/tests/test_cred.c'"
# getting-started names the fields of req->scope a callback reads: each must be one of cos_scope's
# (it said "key", which cos_scope does not have: a program written from it did not compile)
scope_fields=$(grep -A1 "sees the request's scope in" "$SRC/docs/getting-started.md" | grep -o '`\.[a-z_]*`' | tr -d '`.')
missing=""; for f in $scope_fields; do sed -n '/typedef struct cos_scope {/,/} cos_scope;/p' "$SRC/include/cos/config.h" | grep -q "\*$f;" || missing="$missing $f"; done
check "getting-started names req->scope's fields (${scope_fields//$'\n'/ }) as cos_scope has them (missing:${missing:- none})" bash -c "[ -n '$scope_fields' ] && [ -z '$missing' ]"
check "every operation is in the API map" bash -c "for n in \$(grep -o '^ *X([a-z_]*,' '$SRC/include/cos/client.h' | sed 's/ *X(//;s/,//'); do grep -q \"cos_\$n\" '$SRC/docs/api-map.md' || exit 1; done"

# The getting-started block, run as written but on a free port, a private
# directory and this build (a reader runs it from the top of the tree).
# A port found free can be taken by a parallel test before the server binds
# it (the block would then wait for a port file that never comes): up to
# three attempts, each on a fresh port and directory.
mkdir -p "$TEST_TMP/top"
ln -s "$COS_BUILD_DIR" "$TEST_TMP/top/build"
rc=1
for attempt in 1 2 3; do
  port=""
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
  done
  run="$TEST_TMP/run$attempt"
  mkdir -p "$run"
  # (a server the block started is stopped even when a line of it fails)
  awk '/Run one by hand/ { on = 1 } on && /^```sh/ { inside = 1; next } inside && /^```/ { exit } inside { print }' \
    "$SRC/docs/getting-started.md" |
    sed "s|9000|$port|g; s|/tmp/cos-data|$run/cos-data|g; s|cd /tmp|cd $run|g" > "$TEST_TMP/top/block.sh"
  (cd "$TEST_TMP/top" && env -u COS_SECRET_ID -u COS_SECRET_KEY -u COS_ENDPOINT timeout 180 bash -ec 'trap "kill \$(jobs -p) 2>/dev/null || true" EXIT; . ./block.sh' > "$TEST_TMP/block.log" 2>&1) && rc=0 || rc=$?
  [ "$rc" = 0 ] && break
  grep -q "Address already in use\|cannot listen\|bind" "$TEST_TMP/block.log" || break # another failure: report it
done
check "the run-by-hand block was found" grep -q example_upload_file "$TEST_TMP/top/block.sh"
check "the run-by-hand block works as written" test "$rc" = 0
check "and uploaded the file" grep -q '^uploaded .* verified' "$TEST_TMP/block.log"
finish
