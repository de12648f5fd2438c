#!/usr/bin/env bash
# Run the standard S3 compatibility suite, ceph/s3-tests, against a fresh
# cos-server and print what passed, per group, with the failures' reasons.
#
#   bash scripts/s3-tests.sh [PYTEST_ARGS...]      e.g. -k test_bucket_list
#
# Needs a checkout of ceph/s3-tests (never committed here): S3TESTS_SRC is a
# working tree with s3tests/ in it, or a git directory (its HEAD is exported
# to a temp dir); default /work/.mirror/ceph+s3-tests/repo. Runs on Debian's
# python3 packages (bash scripts/install-deps.sh --s3-tests) and this build's
# cos-server (BUILD_DIR, default build/). Counted: test_s3.py and
# test_headers.py without the tests marked fails_on_aws and without the
# features cos-server does not claim (the EXCLUDED markers below).
# Leaves the run in S3TESTS_OUT (default a temp dir): junit.xml, server.log.
# Runs S3TESTS_JOBS pytest workers at once (default 4; python3-pytest-xdist;
# 1 runs serially): each worker picks its own random bucket prefix, so they
# do not meet, and the suite spends most of its time waiting on sockets.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$HERE/build}
SERVER=${COS_SERVER_BIN:-$BUILD_DIR/cos-server}
SRC=${S3TESTS_SRC:-/work/.mirror/ceph+s3-tests/repo}
PY=/usr/bin/python3 # Debian's, with the python3-* packages (a pyenv python3 on PATH has none of them)
[ -x "$PY" ] || PY=python3

[ -x "$SERVER" ] || { echo "s3-tests.sh: no cos-server at $SERVER (make build first)" >&2; exit 2; }
JOBS=${S3TESTS_JOBS:-4}
for m in boto3 pytest munch gevent isodate httplib2 lxml pytz requests yaml; do
  "$PY" -c "import $m" 2>/dev/null || { echo "s3-tests.sh: python module $m missing: sudo bash scripts/install-deps.sh --s3-tests" >&2; exit 2; }
done
PARALLEL=()
if [ "$JOBS" -gt 1 ]; then
  "$PY" -c "import xdist" 2>/dev/null || { echo "s3-tests.sh: python module xdist missing (or S3TESTS_JOBS=1): sudo bash scripts/install-deps.sh --s3-tests" >&2; exit 2; }
  PARALLEL=(-n "$JOBS")
fi

OUT=${S3TESTS_OUT:-$(mktemp -d /tmp/cos-s3tests.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/cos-s3tests-run.XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# the suite, outside this tree
if [ -d "$SRC/s3tests" ]; then
  cp -r "$SRC" "$WORK/suite"
elif git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  mkdir "$WORK/suite"
  git -C "$SRC" archive HEAD | tar -x -C "$WORK/suite"
else
  echo "s3-tests.sh: no ceph/s3-tests at $SRC (set S3TESTS_SRC to a checkout)" >&2
  exit 2
fi
SUITE_REV=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)

# Three users, three accounts: the owner's key, and alt and tenant, each its
# own account (--extra-key ID:SECRET:ACCOUNT; user_id is the account)
MAIN_ID=AKIDs3testsMAIN000000000000000000000; MAIN_KEY=s3testsMAINsecretKEY0000000000000
ALT_ID=AKIDs3testsALT0000000000000000000000;  ALT_KEY=s3testsALTsecretKEY00000000000000
TEN_ID=AKIDs3testsTENANT0000000000000000000;  TEN_KEY=s3testsTENANTsecretKEY00000000000
OWNER="qcs::cam::uin/1250000000:uin/1250000000" # the id cos-server answers as owner (appid 1250000000)
mkdir "$WORK/root"
"$SERVER" --root "$WORK/root" --listen 127.0.0.1:0 --port-file "$WORK/port" --quiet \
  --secret-id "$MAIN_ID" --secret-key "$MAIN_KEY" \
  --extra-key "$ALT_ID:$ALT_KEY:alt" --extra-key "$TEN_ID:$TEN_KEY:tenant" >"$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port" 2>/dev/null || true)
[ -n "$PORT" ] || { echo "s3-tests.sh: cos-server did not start:" >&2; cat "$OUT/server.log" >&2; exit 1; }

cat >"$WORK/s3tests.conf" <<EOF
[DEFAULT]
host = 127.0.0.1
port = $PORT
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{random}-

[s3 main]
display_name = 1250000000
user_id = $OWNER
email = main@example.com
api_name =
access_key = $MAIN_ID
secret_key = $MAIN_KEY

[s3 alt]
display_name = alt
user_id = alt
email = alt@example.com
access_key = $ALT_ID
secret_key = $ALT_KEY

[s3 tenant]
display_name = tenant
user_id = tenant
email = tenant@example.com
tenant = testx
access_key = $TEN_ID
secret_key = $TEN_KEY

[iam]
email = iam@example.com
user_id = iam
access_key = AKIDs3testsIAMnone00000000000000000
secret_key = none
display_name = iam

[iam root]
access_key = AKIDs3testsIAMROOTnone0000000000000
secret_key = none
user_id = iamroot
email = iamroot@example.com

[iam alt root]
access_key = AKIDs3testsIAMALTnone00000000000000
secret_key = none
user_id = iamaltroot
email = iamaltroot@example.com
EOF

# Features cos-server does not claim (docs/compatibility.md lists them).
EXCLUDED=(fails_on_aws s3select lifecycle_transition cloud_transition cloud_restore object_lock bucket_logging
          bucket_logging_cleanup fails_without_logging_rollover sns test_of_sts webidentity_test iam_account
          iam_cross_account iam_role iam_tenant iam_user user_policy role_policy session_policy group group_policy
          abac_test token_claims_trust_policy_test token_principal_tag_role_policy_test
          token_request_tag_trust_policy_test token_resource_tags_test token_role_tags_test token_tag_keys_test)
MARK=$(printf ' and not %s' "${EXCLUDED[@]}")
MARK=${MARK# and }
# object lock tests that carry no object_lock marker go by name
KEXPR="not test_object_lock"

echo "ceph/s3-tests $SUITE_REV against cos-server on 127.0.0.1:$PORT (results in $OUT)"
start=$(date +%s)
set +e
(cd "$WORK/suite" && S3TEST_CONF="$WORK/s3tests.conf" timeout "${S3TESTS_TIMEOUT:-3600}" "$PY" -m pytest -q -p no:cacheprovider \
   s3tests/functional/test_s3.py s3tests/functional/test_headers.py -m "$MARK" -k "$KEXPR" \
   --junitxml="$OUT/junit.xml" -o junit_family=xunit1 --durations=20 "${PARALLEL[@]}" "$@" >"$OUT/pytest.log" 2>&1)
rc=$?
set -e
took=$(( $(date +%s) - start ))
tail -n 3 "$OUT/pytest.log"
[ -s "$OUT/junit.xml" ] || { echo "s3-tests.sh: pytest wrote no results (exit $rc); see $OUT/pytest.log" >&2; exit 1; }

# The summary: totals, then failing tests grouped by name (test_<a>_<b>)
# with the most common reason of each group, biggest groups first.
"$PY" - "$OUT/junit.xml" "$took" <<'EOF'
import collections, re, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.iter('testcase')
passed = failed = skipped = 0
groups = collections.defaultdict(list)
for c in cases:
    name = c.get('name')
    bad = c.find('failure')
    if bad is None:
        bad = c.find('error')
    if c.find('skipped') is not None:
        skipped += 1
        continue
    if bad is None:
        passed += 1
        continue
    failed += 1
    msg = (bad.get('message') or bad.text or '').strip().splitlines()
    reason = msg[0] if msg else '?'
    m = re.search(r'\((\w+)\) when calling the (\w+) operation', reason)
    if m:
        reason = '%s from %s' % (m.group(1), m.group(2))
    reason = re.sub(r'0x[0-9a-f]+|s3t-\w+-\d+|\d{3,}', '#', reason)[:110]
    words = name.split('[')[0].split('_')
    groups['_'.join(words[:3])].append(reason)
total = passed + failed
print('ran %d tests in %s s: %d passed, %d failed, %d skipped; %.1f%% of those run passed'
      % (total, sys.argv[2], passed, failed, skipped, 100.0 * passed / max(total, 1)))
print('failing groups (tests, most common reason):')
for g, reasons in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
    top, n = collections.Counter(reasons).most_common(1)[0]
    print('  %-42s %3d  %s%s' % (g, len(reasons), top, '' if n == len(reasons) else ' (+%d other reasons)' % (len(reasons) - n)))
EOF
