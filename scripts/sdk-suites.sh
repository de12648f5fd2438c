#!/usr/bin/env bash
# sdk-suites.sh — run the official COS SDKs' own test suites against a fresh
# cos-server and print each suite's counts.
#
#   bash scripts/sdk-suites.sh [--c DIR] [--python DIR] [--node DIR] [--build BUILD_DIR] [--keep]
#
#   --c DIR       a checkout of github.com/tencentyun/cos-c-sdk-v5 (cos_c_sdk_ut)
#   --python DIR  a checkout of github.com/tencentyun/cos-python-sdk-v5 (ut/test.py)
#   --node DIR    a checkout of github.com/tencentyun/cos-nodejs-sdk-v5 (test/test.js, mocha)
#   --build DIR   where cos-server was built (default: build)
#   --only NAMES  Python: run only these test functions (comma-separated)
#
# Nothing of those projects is part of this one: bring the checkouts. The C
# suite needs libapr1-dev libaprutil1-dev libmxml-dev, the Python suite
# python3-requests python3-xmltodict python3-six python3-crcmod
# python3-pycryptodome (Debian packages: bash scripts/install-deps.sh --sdk-suites),
# the Node.js suite nodejs and npm, and its npm packages from this project's
# lockfile (scripts/node-suite/package-lock.json, npm ci at each run).
#
# How requests reach cos-server: the suites address the real service
# (BUCKET-APPID.cos.REGION.myqcloud.com). The C SDK uses libcurl, which
# honours http_proxy: cos-server accepts the absolute-form requests a proxy
# receives. The Python SDK gets a sitecustomize that sends every request of
# requests' HTTP adapter to cos-server over http, keeping its Host header
# (and so its signature). The Node.js suite gets a module loaded before it
# (scripts/node-suite/route.js) that does the same for every call of the
# `request` module, and an app backend (scripts/node-suite/backend.js) for
# its nodejssdkStsUrl. The retry tests' fault bucket (see
# docs/compatibility.md) is served by the same server (--faults).
#
# Tests that need a cloud-only service (Cloud Infinite media/AI/document
# processing, MetaInsight, vector buckets, speech, the migration service,
# Tencent's own mock account) are counted apart as "cloud-only", by name.
set -u
CSDK="" PYSDK="" NODESDK="" BUILD="build" ONLY="" KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --c) CSDK="$2"; shift 2 ;;
    --python) PYSDK="$2"; shift 2 ;;
    --node) NODESDK="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "sdk-suites: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$CSDK$PYSDK$NODESDK" ] || { echo "sdk-suites: give --c DIR, --python DIR and/or --node DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "$0")/.." && pwd)"
# Debian's python3, where the python3-* packages are (not a pyenv/venv shim)
PY="${PYTHON:-/usr/bin/python3}"
SERVER="$HERE/$BUILD/cos-server"
[ -x "$SERVER" ] || SERVER="$BUILD/cos-server"
[ -x "$SERVER" ] || { echo "sdk-suites: no cos-server in $BUILD (make build)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/cos-sdk-suites.XXXXXX)"
APPID=1250000000
SID=AKIDcosLOCALdevelopment0000000000000
SKEY=cosLOCALdevelopmentSECRETkey00000
REGION=ap-guangzhou
PID="" FPID="" BPID=""
cleanup() {
  [ -n "$BPID" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "$FPID" ] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
  [ "$KEEP" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

# start_server [once]: a fresh server; sets PORT and PID (FPORT and FPID for
# the --fault-once server the Python suite's retry tests expect)
start_server() {
  local name=main args=(--fault-bucket "$FAULT_BUCKET")
  if [ -n "${1:-}" ]; then name=once args=(--fault-bucket '*' --fault-once); fi
  # where the server knows them (a build from before they existed does not)
  "$SERVER" --help 2>&1 | grep -q fault-bucket || args=()
  "$SERVER" --help 2>&1 | grep -q restore-seconds && args+=(--restore-seconds 2)
  args+=("${EXTRA_ARGS[@]}")
  rm -rf "$WORK/root-$name" && mkdir -p "$WORK/root-$name"
  rm -f "$WORK/port-$name"
  "$SERVER" --root "$WORK/root-$name" --listen 127.0.0.1:0 --port-file "$WORK/port-$name" --faults --quiet \
    "${args[@]}" --secret-id "$SID" --secret-key "$SKEY" --appid "$APPID" >"$WORK/server-$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do [ -s "$WORK/port-$name" ] && break; sleep 0.1; done
  local port
  port="$(cat "$WORK/port-$name" 2>/dev/null)"
  [ -n "$port" ] || { echo "sdk-suites: cos-server did not start" >&2; cat "$WORK/server-$name.log" >&2; exit 1; }
  if [ "$name" = main ]; then PORT=$port PID=$pid; else FPORT=$port FPID=$pid; fi
}
stop_server() {
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""
  if [ -n "$FPID" ]; then kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; FPID=""; fi
}

EXTRA_ARGS=()
# The fault bucket: keys name the answer (see docs/compatibility.md).
FAULT_BUCKET="cos-sdk-err-retry-$APPID"

if [ -n "$CSDK" ]; then
  CSDK="$(cd "$CSDK" && pwd)"
  echo "== cos-c-sdk-v5 cos_c_sdk_ut"
  mkdir -p "$WORK/cbuild"
  # test_cos_sys.c calls cos_gen_object_url without its declaration, so the
  # returned pointer is truncated to an int and the suite crashes on 64-bit
  # machines: the compiler is told to include the declaring header first.
  if ! (cd "$WORK/cbuild" && CC="cc -I$(apr-1-config --includedir) -include $CSDK/cos_c_sdk/cos_api.h" cmake "$CSDK" -DBUILD_UNITTEST=ON >cmake.log 2>&1 &&
        make -j2 cos_c_sdk_ut >make.log 2>&1); then
    echo "sdk-suites: the C suite does not build (see $WORK/cbuild/*.log; --keep keeps it)" >&2
    exit 1
  fi
  UT="$(find "$WORK/cbuild" -name cos_c_sdk_ut -type f -perm -u+x | head -1)"
  # the suite opens "../../../cos_c_sdk_ut/FILE" (it runs in build/TYPE/bin
  # of its tree) and writes there too: give it a copy of those files
  mkdir -p "$WORK/ctree/build/Release/bin"
  cp -r "$CSDK/cos_c_sdk_ut" "$WORK/ctree/"
  # test.mp4 (media-processing input) is stored with Git LFS: a checkout
  # without LFS lacks it, and the object suite's setup uploads it
  [ -s "$WORK/ctree/cos_c_sdk_ut/test.mp4" ] || head -c 65536 /dev/urandom >"$WORK/ctree/cos_c_sdk_ut/test.mp4"
  total=0 passes=0 ctotal=0 cfail=0
  # one fresh server per CuTest suite (each sets up and tears down its bucket)
  for suite in $("$UT" -l | grep -v LastTest); do
    start_server
    (cd "$WORK/ctree/build/Release/bin" &&
      env http_proxy="http://127.0.0.1:$PORT" HTTP_PROXY="http://127.0.0.1:$PORT" no_proxy= NO_PROXY= \
        COS_TEST_ENDPOINT="cos.$REGION.myqcloud.com" COS_TEST_ACCESS_KEY_ID="$SID" \
        COS_TEST_ACCESS_KEY_SECRET="$SKEY" COS_TEST_BUCKET="cos-c-ut-$APPID" COS_TEST_APPID="$APPID" \
        COS_TEST_REGION="$REGION" COS_TEST_UIN="$APPID" COS_TEST_CI_ENDPOINT="ci.$REGION.myqcloud.com" \
        COS_ERR_TEST_ENDPOINT_NORMAL="cos.$REGION.myqcloud.com" COS_ERR_TEST_ENDPOINT_OTHER="cos.$REGION.tencentcos.cn" \
        COS_ERR_TEST_ACCESS_KEY_ID="$SID" COS_ERR_TEST_ACCESS_KEY_SECRET="$SKEY" COS_ERR_TEST_APPID="$APPID" \
        COS_ERR_TEST_BUCKET="$FAULT_BUCKET" timeout 1800 "$UT" "$suite" >"$WORK/c-$suite.log" 2>&1)
    rc=$?
    stop_server
    # CuTest ends with "OK (N tests)" or "Runs: N Passes: P Fails: F"
    if grep -q "^OK (" "$WORK/c-$suite.log"; then
      n=$(sed -n 's/^OK (\([0-9]*\) tests).*/\1/p' "$WORK/c-$suite.log" | tail -1)
      runs=$n pass=$n
    else
      line=$(grep "^Runs:" "$WORK/c-$suite.log" | tail -1)
      runs=$(echo "$line" | sed -n 's/.*Runs: *\([0-9]*\).*/\1/p')
      pass=$(echo "$line" | sed -n 's/.*Passes: *\([0-9]*\).*/\1/p')
    fi
    if [ -z "$runs" ]; then
      echo "  $suite: did not finish (exit $rc; last test: $(grep -o '==========[a-z0-9_]*' "$WORK/c-$suite.log" | tail -1 | tr -d =))"
      continue
    fi
    # test_ci_*: Cloud Infinite (media, image, auditing), a cloud-only service
    cloud_fail=$(grep -cE "^[0-9]+\) test_ci_" "$WORK/c-$suite.log")
    cloud_all=$("$UT" -l >/dev/null; grep -c "SUITE_ADD_TEST(suite, test_ci_" "$WORK/ctree/cos_c_sdk_ut/$suite.c" 2>/dev/null)
    echo "  $suite: $pass of $runs ($cloud_all cloud-only, $cloud_fail of them failing)"
    grep -E "^[0-9]+\) " "$WORK/c-$suite.log" | grep -v "^[0-9]*) test_ci_" | sed 's/^/    /'
    total=$((total + runs)) passes=$((passes + pass))
    ctotal=$((ctotal + cloud_all)) cfail=$((cfail + cloud_fail))
  done
  echo "cos-c-sdk-v5: $passes of $total passed; without the $ctotal cloud-only tests: $((passes - ctotal + cfail)) of $((total - ctotal))"
fi

if [ -n "$PYSDK" ]; then
  start_server
  start_server once
  echo "== cos-python-sdk-v5 ut/test.py against cos-server on 127.0.0.1:$PORT (fault mock on $FPORT)"
  mkdir -p "$WORK/py/site" "$WORK/py/run"
  cat >"$WORK/py/site/sitecustomize.py" <<EOF
# Debian's python3-pycryptodome is the "Cryptodome" flavour; the SDK imports
# "Crypto": every Crypto.X import gets the very module Cryptodome.X.
import importlib, importlib.abc, importlib.util, sys
class _CryptoAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == 'Crypto' or name.startswith('Crypto.'):
            return importlib.util.spec_from_loader(name, self)
        return None
    def create_module(self, spec):
        return importlib.import_module('Cryptodome' + spec.name[len('Crypto'):])
    def exec_module(self, module):
        pass
if importlib.util.find_spec('Cryptodome') is not None:
    sys.meta_path.insert(0, _CryptoAlias())
# Route every request of the requests library to the local cos-server.
import requests.adapters
from urllib.parse import urlsplit, urlunsplit
_send = requests.adapters.HTTPAdapter.send
def _to_local(self, request, **kw):
    u = urlsplit(request.url)
    if u.hostname and u.hostname[0].isdigit() and u.hostname != '127.0.0.1':
        # an address the test means to be unreachable: only loopback is ever
        # a network target here, so a closed loopback port stands in for it
        request.url = urlunsplit(('http', '127.0.0.1:1', u.path, u.query, u.fragment))
    elif u.hostname != '127.0.0.1':
        if 'Host' not in request.headers:
            request.headers['Host'] = u.netloc
        # the retry tests' error bucket lives on the fault mock
        port = '$FPORT' if u.hostname.startswith('$FAULT_BUCKET.') else '$PORT'
        request.url = urlunsplit(('http', '127.0.0.1:' + port, u.path, u.query, u.fragment))
    kw.pop('verify', None)
    return _send(self, request, **kw)
requests.adapters.HTTPAdapter.send = _to_local
EOF
  cat >"$WORK/py/runner.py" <<'EOF'
import inspect, os, re, signal, sys, time, traceback, io, contextlib
sys.path.insert(0, os.environ['PYSDK'])
sys.path.insert(0, os.path.join(os.environ['PYSDK'], 'ut'))
import test as T
# Needing a service cos-server is not (Cloud Infinite, MetaInsight, vector
# buckets, speech, migration/jobs, the cloud's mock account), by what the
# test calls.
CLOUD = re.compile(r"ci_|_ci\b|TEST_CI|meta_insight|cos_vectors|vector|ai_recognition|speech|IntelligentSpeech|"
                   r"media|video|audio|image_|_image|doc_|file_process|"
                   r"qrcode|watermark|pic_|asr|tts|translation|async_fetch|"
                   r"word_|_job|job_|workflow|template|hls|snapshot|animation|transcode")
only = set(filter(None, os.environ.get('ONLY', '').split(',')))
names = [n for n, f in inspect.getmembers(T, inspect.isfunction) if n.startswith('test_') and f.__module__ == 'test']
names.sort(key=lambda n: getattr(T, n).__code__.co_firstlineno)
def alarm(*a):
    raise TimeoutError('test took over 300 s')
signal.signal(signal.SIGALRM, alarm)
with contextlib.redirect_stdout(io.StringIO()):
    T.setUp()
    # test_get_service pages through the account's ap-beijing buckets made
    # after 2018 and indexes the first page: the account it was written
    # against had some, so this one gets one too
    from qcloud_cos import CosConfig, CosS3Client
    bj = CosS3Client(CosConfig(Region='ap-beijing', SecretId=os.environ['COS_SECRET_ID'],
                               SecretKey=os.environ['COS_SECRET_KEY']))
    try:
        bj.create_bucket(Bucket='sdk-suites-bj-' + os.environ['COS_APPID'])
    except Exception:
        pass
passed, failed, cloud = [], [], []
for n in names:
    if only and n not in only:
        continue
    src = inspect.getsource(getattr(T, n))
    if CLOUD.search(src) and n not in only:
        cloud.append(n)
        continue
    out = io.StringIO()
    t0 = time.time()
    signal.alarm(300)
    try:
        with contextlib.redirect_stdout(out):
            getattr(T, n)()
        passed.append(n)
    except BaseException as e:
        tb = traceback.format_exc().strip().splitlines()
        failed.append((n, (tb[-3:] if len(tb) >= 3 else tb)))
    finally:
        signal.alarm(0)
    sys.stderr.write('%s %s %.1fs\n' % ('ok  ' if passed and passed[-1] == n else 'FAIL', n, time.time() - t0))
print('cos-python-sdk-v5: %d of %d passed (%d cloud-only not run)' % (len(passed), len(passed) + len(failed), len(cloud)))
for n, tb in failed:
    print('  FAIL %s: %s' % (n, ' | '.join(l.strip() for l in tb)[:400]))
EOF
  (cd "$WORK/py/run" &&
    env PYTHONPATH="$WORK/py/site" PYSDK="$(cd "$PYSDK" && pwd)" ONLY="$ONLY" \
      COS_SECRET_ID="$SID" COS_SECRET_KEY="$SKEY" TRAVIS_FLAG=false COS_REGION="$REGION" COS_APPID="$APPID" \
      ERR_HOST="127.0.0.1:$FPORT" ErrBucket="${FAULT_BUCKET%-$APPID}" ErrAppid="$APPID" ErrRegion="$REGION" TEST_CI=false USE_CREDENTIAL_INST=false \
      COS_VECTORS_BUCKET=none COS_VECTORS_BUCKET_FOR_CREATE_DELETE=none COS_VECTORS_APPID="$APPID" \
      COS_VECTORS_SECRET_ID="$SID" COS_VECTORS_SECRET_KEY="$SKEY" COS_VECTORS_REGION="$REGION" COS_VECTORS_USE_IP=false \
      timeout 3600 "$PY" "$WORK/py/runner.py" 2>"$WORK/py-suite.log")
  stop_server
fi

if [ -n "$NODESDK" ]; then
  NODESDK="$(cd "$NODESDK" && pwd)"
  command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "sdk-suites: the Node.js suite needs node and npm (bash scripts/install-deps.sh --sdk-suites)" >&2; exit 1; }
  ND="$WORK/node"
  # a copy: the suite writes its test files next to test.js
  mkdir -p "$ND/deps" && cp -r "$NODESDK" "$ND/sdk" && rm -rf "$ND/sdk/.git" "$ND/sdk/node_modules"
  cp "$HERE/scripts/node-suite/package.json" "$HERE/scripts/node-suite/package-lock.json" "$ND/deps/"
  (cd "$ND/deps" && npm ci --ignore-scripts --no-audit --no-fund --silent) >"$ND/npm.log" 2>&1 ||
    { echo "sdk-suites: npm ci for the Node.js suite failed (see $ND/npm.log; --keep keeps it)" >&2; exit 1; }
  ln -s "$ND/deps/node_modules" "$ND/sdk/node_modules"
  # the main server issues temporary keys (--sts: asked by the backend with
  # the permanent key); the retry groups' bucket, cos-sdk-err-retry-APPID of
  # Tencent's own account, is served by a --fault-once server, as the
  # suite's mock answers a failing key once and then succeeds
  EXTRA_ARGS=(--sts)
  start_server
  EXTRA_ARGS=()
  start_server once
  NBUCKET="nodejs-sdk-ut-$APPID"
  # exec: BPID is node itself, so the kill below stops it (it was the subshell's,
  # and every run left its backend running)
  (cd "$ND" && exec env SID="$SID" SKEY="$SKEY" BUCKET="$NBUCKET" REGION="$REGION" COS_PORT="$PORT" \
     node "$HERE/scripts/node-suite/backend.js" "$ND/sdk" "$ND/backend.port" >"$ND/backend.log" 2>&1) &
  BPID=$!
  for _ in $(seq 1 100); do [ -s "$ND/backend.port" ] && break; sleep 0.1; done
  [ -s "$ND/backend.port" ] || { echo "sdk-suites: the Node.js suite's backend did not start" >&2; cat "$ND/backend.log" >&2; exit 1; }
  echo "== cos-nodejs-sdk-v5 test/test.js against cos-server on 127.0.0.1:$PORT (fault mock on $FPORT)"
  : >"$ND/results.jsonl"
  GREP=()
  [ -n "$ONLY" ] && GREP=(--grep "$ONLY")
  (cd "$ND/sdk" && env SecretId="$SID" SecretKey="$SKEY" Bucket="$NBUCKET" Region="$REGION" Uin="$APPID" \
     nodejssdkStsUrl="http://127.0.0.1:$(cat "$ND/backend.port")" COS_PORT="$PORT" FAULT_PORT="$FPORT" \
     FAULT_BUCKET_PREFIX="cos-sdk-err-retry-" NODE_SUITE_RESULTS="$ND/results.jsonl" http_proxy= https_proxy= HTTP_PROXY= HTTPS_PROXY= \
     timeout 3600 node node_modules/mocha/bin/_mocha --exit --require "$HERE/scripts/node-suite/route.js" \
       --reporter "$HERE/scripts/node-suite/reporter.js" "${GREP[@]}" test/test.js >"$ND/suite.out" 2>"$ND/suite.log")
  rc=$?
  kill "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null; BPID=""
  stop_server
  # cloud-only (Cloud Infinite's image processing) is picked by name in summary.js
  node "$HERE/scripts/node-suite/summary.js" "$ND/results.jsonl" "$rc"
fi
