#!/usr/bin/env bash
# test_demo.sh — `make demo` is half of the README's contract: run its script
# (scripts/demo.sh: a fresh cos-server, the CLI's walk through it) on this
# build, so a CLI change that breaks a step fails the suite, not a newcomer.
set -u
. "$(dirname "$0")/lib.sh"
if bash "$COS_SOURCE_DIR/scripts/demo.sh" "$COS_BUILD_DIR" >"$TEST_TMP/demo.log" 2>&1; then
  ok "make demo's script runs every step"
else
  tail -20 "$TEST_TMP/demo.log"
  bad "make demo's script failed (its last lines above)"
fi
check "... and says so" grep -q "demo finished: every step passed" "$TEST_TMP/demo.log"
finish
