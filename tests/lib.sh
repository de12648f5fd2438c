# tests/lib.sh — helpers for the shell-driven tests: a private cos-server and
# "ok/not ok" bookkeeping that ends with "N passed, N failed".
PASS=0; FAIL=0
ok()   { PASS=$((PASS + 1)); echo "ok - $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "not ok - $1"; }
# A failing check shows the tail of what the command printed: a CI log must say why.
check() {
  local name=$1; shift
  if "$@" >"$TEST_TMP/check.out" 2>&1; then ok "$name"
  else bad "$name"; tail -n 20 "$TEST_TMP/check.out" | sed 's/^/#   /'; fi
}
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; }

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cos-shtest-XXXXXX")
SERVER_PID=""
start_server() { # extra args...
  "$COS_SERVER_BIN" --root "$TEST_TMP/data" --listen 127.0.0.1:0 --port-file "$TEST_TMP/port" --quiet "$@" \
    >"$TEST_TMP/server.log" 2>&1 &
  SERVER_PID=$!
  # until it listens (its port file); 60 s only bounds a server that never does
  for _ in $(seq 1 2400); do [ -s "$TEST_TMP/port" ] && break; kill -0 $SERVER_PID 2>/dev/null || break; sleep 0.025; done
  PORT=$(cat "$TEST_TMP/port")
  export COS_ENDPOINT="127.0.0.1:$PORT"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; }
trap 'stop_server; rm -rf "$TEST_TMP"' EXIT
export COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000
export COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
export COS_REGION=ap-guangzhou
export HOME="$TEST_TMP/home"; mkdir -p "$HOME"
