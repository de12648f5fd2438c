#!/usr/bin/env bash
# `make bench`: the workloads of issues #7 and #21 against a cos-server on
# loopback. libcos vs the official C SDK (cos-c-sdk-v5, when a checkout of it
# is given: built outside this tree, never part of it) vs the official
# Node.js SDK (cos-nodejs-sdk-v5, pinned by the lockfile in bench/node) vs
# curl (the ceiling: the same bytes, the same disk work, no SDK). Runs are
# interleaved on the same server (the order of the SDKs turns each run), so a
# noisy host slows all sides alike; every figure is the median of RUNS runs
# and every ratio the median of the per-run ratios. The load (uptime) is
# printed with the numbers. Not part of make test: nothing here asserts a time.
#
#   bench/run.sh [BUILD_DIR] [--c-sdk DIR]
#     --c-sdk DIR (or COS_C_SDK_DIR=DIR)  a cos-c-sdk-v5 checkout (a work tree,
#                   or a bare git directory: its HEAD is exported); built with
#                   Debian's APR/APR-util/mxml/libcurl in COS_C_SDK_BUILD
#                   (default ${TMPDIR:-/tmp}/cos-bench-csdk), with bench/csdk/*.c
#     RUNS=3        interleaved runs
#     BENCH_QUICK=1 only the per-request workloads (one at a time, and 16 in
#                   flight): a few minutes
#     BENCH_MIB=1024 (large file), BENCH_SMALL=2000 (16 in flight), BENCH_SEQ=1000
#     (one at a time), BENCH_FILES=10000 (many files; 0 skips), OUT=dir,
#     BENCH_SCALE_KEYS=1000000 (7. the store at scale, bench/scale.sh; 0 skips it)
# Writes OUT/results.csv (workload,tool,metric,value: medians) and OUT/raw.txt
# (every run's figures), and, when gnuplot is installed, OUT/chart.png; prints
# the tables and ratios.
set -euo pipefail
BUILD=build
CSDK_DIR=${COS_C_SDK_DIR:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --c-sdk) CSDK_DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) BUILD=$1; shift ;;
  esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
MIB=${BENCH_MIB:-1024}
RUNS=${RUNS:-3}
QUICK=${BENCH_QUICK:-0}
SMALL=${BENCH_SMALL:-2000}
SEQN=${BENCH_SEQ:-1000}
FILESN=${BENCH_FILES:-10000}
LISTN=${BENCH_LIST:-10000}
OUT=${OUT:-$BUILD/bench}
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/cos-bench-XXXXXX")
SP= SP2=
# (|| true: under set -e a failed kill of a server already stopped would make the exit status 1)
trap '[ -n "$SP" ] && kill $SP 2>/dev/null || true; [ -n "$SP2" ] && kill $SP2 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT

"$BUILD/cos-server" --root "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" --quiet >/dev/null 2>&1 & SP=$!
for _ in $(seq 1 200); do [ -s "$W/port" ] && break; sleep 0.05; done
EP="127.0.0.1:$(cat "$W/port")"
# A second server without fsync: what the protocol path costs when the disk
# is not waited for (workload 6 only; everything else uses the durable one).
"$BUILD/cos-server" --root "$W/data2" --listen 127.0.0.1:0 --port-file "$W/port2" --quiet --no-fsync >/dev/null 2>&1 & SP2=$!
for _ in $(seq 1 200); do [ -s "$W/port2" ] && break; sleep 0.05; done
EP2="127.0.0.1:$(cat "$W/port2")"
export COS_ENDPOINT=$EP COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
BUCKET=bench-1250000000
HOSTH="$BUCKET.cos.ap-guangzhou.myqcloud.com"
"$BUILD/cos" mb "cos://$BUCKET" >/dev/null
COS_ENDPOINT=$EP2 "$BUILD/cos" mb "cos://$BUCKET" >/dev/null
# 5. micro first, on a quiet machine: once the transfers start, the kernel
# spends seconds flushing their GiBs to disk in the background.
BYTES=$((MIB * 1048576))
if [ "$QUICK" = 0 ]; then
  "$BUILD/bench/micro" > "$W/micro"
  head -c "$BYTES" /dev/urandom > "$W/file"
  # 8. the many-files tree: 4 KiB to 1 MiB, log-uniform, the same every time
  [ "$FILESN" -gt 0 ] && "$BUILD/bench/bench_files" gen "$W/tree" "$FILESN"
fi
NODE=0
if [ -d "$HERE/node" ] && command -v node >/dev/null; then
  (cd "$HERE/node" && { [ -d node_modules ] || npm ci --silent --no-audit --no-fund; }) && NODE=1
fi

# The C SDK column: its library built from the checkout outside this tree,
# then our program for it (bench/csdk/) against it.
CS=
if [ -n "$CSDK_DIR" ]; then
  CSB=${COS_C_SDK_BUILD:-${TMPDIR:-/tmp}/cos-bench-csdk}
  mkdir -p "$CSB"
  SRC=$CSDK_DIR
  if [ ! -f "$SRC/CMakeLists.txt" ] && git --git-dir="$SRC" rev-parse HEAD >/dev/null 2>&1; then
    # a bare repository: export what the library needs (not its test data)
    rm -rf "$CSB/src" && mkdir -p "$CSB/src"
    # (git names a Git LFS object it lacks even when its path is not asked for: not an error here)
    git --git-dir="$SRC" archive HEAD CMakeLists.txt cos_c_sdk cos_c_sdk_test cos_c_sdk.pc.in 2>/dev/null | tar -x -C "$CSB/src"
    SRC=$CSB/src
  fi
  SRC=$(cd "$SRC" && pwd)
  echo "building cos-c-sdk-v5 from $SRC in $CSB ..." >&2
  if (cd "$CSB" && mkdir -p lib && cd lib && cmake "$SRC" -DCMAKE_BUILD_TYPE=Release >"$CSB/cmake.log" 2>&1 &&
      make -j2 cos_c_sdk_static >"$CSB/make.log" 2>&1) &&
     cc -O2 -I"$SRC/cos_c_sdk" $(apr-1-config --includes --cppflags) $(apu-1-config --includes) -o "$CSB/csdk_bench" \
       "$HERE"/csdk/*.c "$(find "$CSB/lib" -name libcos_c_sdk_static.a | head -1)" \
       $(apu-1-config --link-ld --libs) $(apr-1-config --link-ld --libs) -lmxml -lcurl -lpthread 2>"$CSB/cc.log"; then
    CS=$CSB/csdk_bench
  else
    echo "bench: cos-c-sdk-v5 does not build (logs in $CSB; it needs libapr1-dev libaprutil1-dev libmxml-dev:" \
         "bash scripts/install-deps.sh --sdk-suites); its column is left out" >&2
  fi
fi
LOAD_START=$(uptime | sed 's/.*load average: //')

# --- measurement helpers ---------------------------------------------------
# Each record is "workload tool metric value run" in $W/raw; medians (and
# medians of per-run ratios) at the end.
run=0
rec() { echo "$1 $2 $3 $4 $run" >> "$W/raw"; }
# metrics WORKLOAD TOOL: every "metric value" line the tool printed
metrics() { while read -r m v _; do [ -n "${v:-}" ] && rec "$1" "$2" "$m" "$v"; done < "$W/out"; }
# the server's CPU seconds so far (utime + stime of its process)
srv_cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.4f", ($14 + $15) / t }' "/proc/$SP/stat"; }
# per WORKLOAD TOOL N COMMAND...: the command timed, its metric lines
# recorded, and the server's CPU microseconds per request over it
per() {
  local wl=$1 tool=$2 n=$3; shift 3
  local s0 s1
  s0=$(srv_cpu)
  timed "$@"
  s1=$(srv_cpu)
  metrics "$wl" "$tool"
  rec "$wl" "$tool" server_cpu_us "$(echo "($s1 - $s0) * 1000000 / $n" | bc -l)"
  rec "$wl" "$tool" rss_mib "$RSS"
}
# rotate N WORDS...: the words turned by N (each run starts with another SDK)
rotate() { local n=$1; shift; local a=("$@") i; for ((i = 0; i < ${#a[@]}; i++)); do echo "${a[(i + n) % ${#a[@]}]}"; done; }
# timed TOOL-ARGS...: runs the command under GNU time; sets WALL CPU RSS (MiB)
# and leaves its stdout in $W/out.
timed() {
  /usr/bin/time -f '%e %U %S %M' -o "$W/tm" "$@" > "$W/out"
  read -r WALL u s k < "$W/tm"
  CPU=$(echo "$u + $s" | bc -l); RSS=$((k / 1024))
}
mbs() { echo "$BYTES / $1 / 1000000" | bc -l; }
sign() { "$BUILD/cos" sign --secret-id "$COS_SECRET_ID" --secret-key "$COS_SECRET_KEY" --method "$1" --key "$2" --header "Host: $HOSTH"; }
CURL=(curl -sf --connect-to "::$EP")
# One transfer record: workload tool; MB/s from the tool's own clock when it
# prints one ("MB/s seconds" first on its line), else from the wall clock.
transfer() {
  local wl=$1 tool=$2; shift 2
  sync
  timed "$@"
  local rate secs
  rate=; secs=
  read -r rate _ secs _ < <(awk '{ if ($2 == "MB/s") print $1, "x", $3; else print $1, "x", $2 }' "$W/out") || true
  if [ -z "${rate:-}" ] || [[ $tool == curl* ]]; then secs=$WALL; rate=$(mbs "$WALL"); fi
  rec "$wl" "$tool" mb_s "$rate"; rec "$wl" "$tool" wall_s "$secs"
  rec "$wl" "$tool" cpu_s "$CPU"; rec "$wl" "$tool" rss_mib "$RSS"
}
same() { cmp -s "$W/file" "$1" || { echo "bench: $1 differs from the source" >&2; exit 1; }; rm -f "$1"; }

# curl's parallel mode as the small-object ceiling: one key, signed once,
# written or read SMALL times with 16 in flight (workload 6).
head -c 4096 /dev/urandom > "$W/small"
small_cfg() {  # put|get -> a curl config of SMALL transfers
  for _ in $(seq 1 "$SMALL"); do
    echo "url = \"http://$HOSTH/ceiling/small\""
    if [ "$1" = put ]; then echo "upload-file = \"$W/small\""; fi
    echo "output = \"/dev/null\""
  done > "$W/$1.cfg"
}
small_cfg put; small_cfg get
# one at a time: the same, sequential on one connection, each transfer's time printed
seq_cfg() {
  for _ in $(seq 1 "$SEQN"); do
    echo "url = \"http://$HOSTH/ceiling/small\""
    if [ "$1" = put ]; then echo "upload-file = \"$W/small\""; fi
    echo "output = \"/dev/null\""
    echo 'write-out = "%{time_total}\n"'
  done > "$W/seq$1.cfg"
}
seq_cfg put; seq_cfg get
# curl_seq put|get: SEQN requests one at a time; metric lines like bench_ops seq
curl_seq() {
  timed curl -sf --no-progress-meter --connect-to "::$EP" -H "Authorization: $(sign "$1" ceiling/small)" -K "$W/seq$1.cfg"
  sort -g "$W/out" | awk -v n="$SEQN" -v m="seq_$1" -v w="$WALL" -v c="$CPU" '{ t[NR] = $1 * 1e6 }
    END { printf "%s_ops_s %.1f\n%s_cpu_us %.1f\n%s_p50_us %.1f\n%s_p99_us %.1f\n", m, n / w, m, c * 1e6 / n,
          m, t[int(0.5 * (n - 1) + 1.5)], m, t[int(0.99 * (n - 1) + 1.5)] }' > "$W/curlseq.$1"
}
"${CURL[@]}" -T "$W/small" -H "Authorization: $(sign put ceiling/small)" "http://$HOSTH/ceiling/small" >/dev/null

BT="$BUILD/bench/bench_transfer"
BO="$BUILD/bench/bench_ops"
SDKS="libcos csdk node"
for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS ..." >&2
  # 0. one request at a time: a synchronous PUT, then GET, of 4 KiB; latency
  # percentiles, CPU and context switches per request (bench_ops seq and its
  # counterparts), in a turning order
  for t in $(rotate "$run" $SDKS); do
    case $t in
      libcos) per seq libcos $((2 * SEQN)) "$BO" seq "$EP" $BUCKET "$SEQN" ;;
      csdk) [ -n "$CS" ] && per seq csdk $((2 * SEQN)) "$CS" seq "$EP" $BUCKET "$SEQN" ;;
      node) [ $NODE = 1 ] && per seq node $((2 * SEQN)) node "$HERE/node/ops.js" seq "$EP" "$SEQN" ;;
    esac
  done
  curl_seq put; curl_seq get; cat "$W/curlseq.put" "$W/curlseq.get" > "$W/out"; metrics seq curl
  # 3. small objects, 16 in flight: libcos async calls on one client, libcos
  # synchronous calls on 16 threads, the C SDK's 16 threads, Node's promises
  for t in $(rotate "$run" libcos csdk node libcos_threads); do
    case $t in
      libcos) per small libcos $((2 * SMALL)) "$BO" small "$EP" $BUCKET "$SMALL" 16 ;;
      libcos_threads) per small libcos_threads $((2 * SMALL)) "$BO" threads "$EP" $BUCKET "$SMALL" 16 ;;
      csdk) [ -n "$CS" ] && per small csdk $((2 * SMALL)) "$CS" small "$EP" $BUCKET "$SMALL" 16 ;;
      node) [ $NODE = 1 ] && per small node $((2 * SMALL)) node "$HERE/node/ops.js" small "$EP" "$SMALL" 16 ;;
    esac
  done
  # 6. cos-server alone, small objects: curl's parallel mode
  timed curl -sf --no-progress-meter -Z --parallel-max 16 --connect-to "::$EP" -H "Authorization: $(sign put ceiling/small)" -K "$W/put.cfg"
  rec server_alone curl small_put_ops_s "$(echo "$SMALL / $WALL" | bc -l)"
  timed curl -sf --no-progress-meter -Z --parallel-max 16 --connect-to "::$EP" -H "Authorization: $(sign get ceiling/small)" -K "$W/get.cfg"
  rec server_alone curl small_get_ops_s "$(echo "$SMALL / $WALL" | bc -l)"
  [ "$QUICK" = 1 ] && continue

  # 1. upload; first the disk itself: plain writers, the same bytes in the
  # same part files and parallelism as libcos_8x4, fsync of each file and its
  # directory (cos-server's durable path is measured against it, issue #21)
  transfer upload disk_plain "$BUILD/bench/bench_disk" "$W/plain" "$MIB" 8 4
  transfer upload curl "${CURL[@]}" -T "$W/file" -H "Authorization: $(sign put curl.bin)" "http://$HOSTH/curl.bin"
  transfer upload libcos_default "$BT" up "$EP" $BUCKET lib-default.bin "$W/file"
  transfer upload libcos_8x4 "$BT" up "$EP" $BUCKET lib-8.bin "$W/file" 8 4
  if [ -n "$CS" ]; then
    transfer upload csdk_8x4 "$CS" up "$EP" $BUCKET csdk.bin "$W/file" 8 4
  fi
  if [ $NODE = 1 ]; then
    transfer upload node_default node "$HERE/node/transfer.js" up "$EP" "$W/file"
    transfer upload node_8x4 node "$HERE/node/transfer.js" up "$EP" "$W/file" 8 4
  fi
  # 1b. the same tuned uploads to the --no-fsync server: what each SDK costs
  # when the server does not wait for the disk (with fsync it is the limit)
  transfer upload_nofsync libcos_8x4 "$BT" up "$EP2" $BUCKET lib-8.bin "$W/file" 8 4
  if [ -n "$CS" ]; then
    transfer upload_nofsync csdk_8x4 "$CS" up "$EP2" $BUCKET csdk.bin "$W/file" 8 4
  fi
  if [ $NODE = 1 ]; then
    transfer upload_nofsync node_8x4 node "$HERE/node/transfer.js" up "$EP2" "$W/file" 8 4
  fi
  # 2. download (curl -o FILE does the same disk work as the SDKs)
  transfer download curl "${CURL[@]}" -o "$W/back" -H "Authorization: $(sign get curl.bin)" "http://$HOSTH/curl.bin"; same "$W/back"
  transfer download libcos_default "$BT" down "$EP" $BUCKET lib-8.bin "$W/back"; same "$W/back"
  transfer download libcos_8x4 "$BT" down "$EP" $BUCKET lib-8.bin "$W/back" 8 4; same "$W/back"
  if [ -n "$CS" ]; then
    transfer download csdk_8x4 "$CS" down "$EP" $BUCKET lib-8.bin "$W/back" 8 4; same "$W/back"
  fi
  if [ $NODE = 1 ]; then
    transfer download node_default node "$HERE/node/transfer.js" down "$EP" "$W/back"; same "$W/back"
    transfer download node_8x4 node "$HERE/node/transfer.js" down "$EP" "$W/back" 8 4; same "$W/back"
  fi
  # 6. cos-server alone: curl streaming to /dev/null
  timed "${CURL[@]}" -o /dev/null -H "Authorization: $(sign get curl.bin)" "http://$HOSTH/curl.bin"
  rec server_alone curl download_mb_s "$(mbs "$WALL")"
  sync
  timed curl -sf --connect-to "::$EP2" -T "$W/file" -H "Authorization: $(sign put nofsync.bin)" "http://$HOSTH/nofsync.bin"
  rec server_alone curl upload_nofsync_mb_s "$(mbs "$WALL")"
  # 4. listing with pagination
  timed "$BO" list "$EP" $BUCKET "$LISTN"
  read -r secs n _ < "$W/out"; rec list libcos list_s "$secs"; rec list libcos keys "$n"
  rec list libcos cpu_s "$CPU"; rec list libcos rss_mib "$RSS"
  if [ $NODE = 1 ]; then
    timed node "$HERE/node/ops.js" list "$EP" "$LISTN"
    read -r secs n _ < "$W/out"; rec list node list_s "$secs"; rec list node keys "$n"
    rec list node cpu_s "$CPU"; rec list node rss_mib "$RSS"
  fi
  # 8. many files: uploadFiles (16 at a time), cos cp -r (its default, 8 at
  # a time), Node's uploadFiles (16), the C SDK's upload call in 16 threads
  if [ "$FILESN" -gt 0 ]; then
    for t in $(rotate "$run" libcos csdk node cli); do
      sync
      case $t in
        libcos) timed "$BUILD/bench/bench_files" "$EP" $BUCKET "$W/tree" 16; metrics files libcos; rec files libcos proc_rss_mib "$RSS" ;;
        csdk) if [ -n "$CS" ]; then timed "$CS" files "$EP" $BUCKET "$W/tree" 16; metrics files csdk; rec files csdk proc_rss_mib "$RSS"; fi ;;
        node) if [ $NODE = 1 ]; then timed node "$HERE/node/files.js" "$EP" "$W/tree" 16; metrics files node; rec files node proc_rss_mib "$RSS"; fi ;;
        cli) timed "$BUILD/cos" cp -r "$W/tree" "cos://$BUCKET/clifiles/"
             rec files cos_cp files_s "$(echo "$FILESN / $WALL" | bc -l)"; rec files cos_cp files_cpu_s "$CPU"
             rec files cos_cp files_rss_mib "$RSS"; rec files cos_cp proc_rss_mib "$RSS" ;;
      esac
    done
  fi
done
run=0
if [ "$QUICK" = 0 ]; then
  while read -r name value _; do rec micro libcos "$name" "$value"; done < "$W/micro"
  # 7. the task queue: memory and threads that 10,000 queued uploads hold
  QUEUEN=${BENCH_QUEUE:-10000}
  "$BUILD/bench/bench_queue" "$EP" $BUCKET "$QUEUEN" > "$W/queue"
  read -r qb qt _ < "$W/queue"; rec queue libcos bytes_per_task "$qb"; rec queue libcos threads "$qt"
fi
LOAD_END=$(uptime | sed 's/.*load average: //')

# --- medians, CSV, table ---------------------------------------------------
cp "$W/raw" "$OUT/raw.txt"
awk '{ k = $1 "," $2 "," $3; v[k] = v[k] " " $4 }
     END { for (k in v) { n = split(substr(v[k], 2), a, " ");
             for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
             print k "," a[int((n + 1) / 2)] } }' "$W/raw" | sort > "$W/med"
{ echo "workload,tool,metric,value"; cat "$W/med"; echo "load,start,uptime,\"$LOAD_START\""; echo "load,end,uptime,\"$LOAD_END\""; } > "$OUT/results.csv"
g() { awk -F, -v k="$1,$2,$3" '$1 "," $2 "," $3 == k { print $4 }' "$W/med"; }
# ratio WL TOOL METRIC WL2 TOOL2 METRIC2: the median over runs of the
# per-run ratio (both figures from the same run), or empty
ratio() {
  awk -v a="$1 $2 $3" -v b="$4 $5 $6" '{ k = $1 " " $2 " " $3 }
       k == a { x[$5] = $4 } k == b { y[$5] = $4 }
       END { n = 0; for (r in x) if ((r in y) && y[r] != 0) q[++n] = x[r] / y[r]
             if (!n) exit
             for (i = 2; i <= n; i++) { v = q[i]; for (j = i - 1; j >= 1 && q[j] > v; j--) q[j + 1] = q[j]; q[j + 1] = v }
             print q[int((n + 1) / 2)] }' "$W/raw"
}
f0() { if [ -n "${1:-}" ]; then printf '%.0f' "$1"; else printf -- -; fi; }
f2() { if [ -n "${1:-}" ]; then printf '%.2f' "$1"; else printf -- -; fi; }
# avg2 A B: the mean of two figures (a PUT's and a GET's), empty if one is
avg2() { [ -n "$1" ] && [ -n "$2" ] && echo "($1 + $2) / 2" | bc -l || true; }
name() { case $1 in libcos) echo "libcos (async calls)" ;; libcos_threads) echo "libcos (sync calls, 16 threads)" ;;
                    csdk) echo "cos-c-sdk-v5 (16 threads)" ;; node) echo "Node.js SDK" ;; *) echo "$1" ;; esac; }

echo
echo "cos-server on loopback; medians of $RUNS interleaved runs; $(nproc) cores; $(date -u +%F);" \
     "load average $LOAD_START at the start, $LOAD_END at the end"
[ -z "$CS" ] && echo "(no cos-c-sdk-v5 column: give --c-sdk DIR or COS_C_SDK_DIR)"
echo
printf '%-34s %8s %8s %8s %8s %8s %8s %8s %8s\n' "0. $SEQN x 4 KiB, one at a time" "PUT p50" "p99 us" "GET p50" "p99 us" "PUT op/s" "GET op/s" "cpu us" "ctxsw" 
for t in libcos csdk node curl; do
  [ -z "$(g seq $t seq_get_ops_s)" ] && continue
  printf '%-34s %8s %8s %8s %8s %8s %8s %8s %8s\n' "$(name $t | sed 's/ (.*//')" "$(f0 "$(g seq $t seq_put_p50_us)")" "$(f0 "$(g seq $t seq_put_p99_us)")" \
    "$(f0 "$(g seq $t seq_get_p50_us)")" "$(f0 "$(g seq $t seq_get_p99_us)")" "$(f0 "$(g seq $t seq_put_ops_s)")" "$(f0 "$(g seq $t seq_get_ops_s)")" \
    "$(f0 "$(avg2 "$(g seq $t seq_put_cpu_us)" "$(g seq $t seq_get_cpu_us)")")" "$(f2 "$(avg2 "$(g seq $t seq_put_ctxsw)" "$(g seq $t seq_get_ctxsw)")")"
done
echo "   (cpu us and ctxsw: the client's CPU microseconds and context switches per request, PUT and GET averaged;"
echo "    the server's CPU per request meanwhile: $(for t in libcos csdk node; do [ -n "$(g seq $t server_cpu_us)" ] && printf '%s %s us  ' "$t" "$(f0 "$(g seq $t server_cpu_us)")"; done))"
echo
printf '%-34s %9s %9s %8s %8s %8s %8s %8s\n' "3. $SMALL x 4 KiB, 16 in flight" "PUT op/s" "GET op/s" "PUT cpu" "GET cpu" "ctxsw" "srv cpu" "RSS MiB"
for t in libcos libcos_threads csdk node; do
  [ -z "$(g small $t put_ops_s)" ] && continue
  printf '%-34s %9s %9s %8s %8s %8s %8s %8s\n' "$(name $t)" "$(f0 "$(g small $t put_ops_s)")" "$(f0 "$(g small $t get_ops_s)")" \
    "$(f0 "$(g small $t put_cpu_us)")" "$(f0 "$(g small $t get_cpu_us)")" "$(f2 "$(avg2 "$(g small $t put_ctxsw)" "$(g small $t get_ctxsw)")")" \
    "$(f0 "$(g small $t server_cpu_us)")" "$(g small $t rss_mib)"
done
printf '%-34s %9s %9s\n' "curl -Z, one key (server alone)" "$(f0 "$(g server_alone curl small_put_ops_s)")" "$(f0 "$(g server_alone curl small_get_ops_s)")"
echo "   (cpu: the client's CPU microseconds per request; srv cpu: cos-server's, over the same requests)"
if [ "$QUICK" = 0 ]; then
  echo
  printf '%-34s %9s %8s %8s %8s   %9s %8s %8s %8s\n' "1-2. $MIB MiB transfer" "up MB/s" "wall s" "cpu s" "RSS MiB" "down MB/s" "wall s" "cpu s" "RSS MiB"
  tools="curl libcos_default libcos_8x4"; [ -n "$CS" ] && tools="$tools csdk_8x4"; [ $NODE = 1 ] && tools="$tools node_default node_8x4"
  # xfer WORKLOAD TOOL: its MB/s, wall s, CPU s and RSS as four table columns
  xfer() { printf '%9s %8s %8s %8s' "$(f0 "$(g "$1" "$2" mb_s)")" "$(f2 "$(g "$1" "$2" wall_s)")" "$(f2 "$(g "$1" "$2" cpu_s)")" "$(g "$1" "$2" rss_mib)"; }
  for t in $tools; do
    printf '%-34s %s   %s\n' "$t" "$(xfer upload "$t")" "$(xfer download "$t")"
  done
  echo
  printf '%-34s %9s %8s %8s %8s\n' "1b. upload, --no-fsync server" "up MB/s" "wall s" "cpu s" "RSS MiB"
  for t in libcos_8x4 csdk_8x4 node_8x4; do
    if [ -n "$(g upload_nofsync $t mb_s)" ]; then printf '%-34s %s\n' "$t" "$(xfer upload_nofsync "$t")"; fi
  done
  if [ "$FILESN" -gt 0 ]; then
    echo
    printf '%-34s %9s %9s %8s %8s %8s\n' "8. $FILESN files, 4 KiB-1 MiB" "files/s" "MB/s" "cpu s" "RSS MiB" "ctxsw"
    for t in libcos cos_cp csdk node; do
      [ -z "$(g files $t files_s)" ] && continue
      case $t in libcos) n="libcos uploadFiles (16)" ;; cos_cp) n="cos cp -r (8)" ;; csdk) n="cos-c-sdk-v5 (16 threads)" ;; node) n="Node.js uploadFiles (16)" ;; esac
      printf '%-34s %9s %9s %8s %8s %8s\n' "$n" "$(f0 "$(g files $t files_s)")" "$(f0 "$(g files $t files_mb_s)")" "$(f2 "$(g files $t files_cpu_s)")" \
        "$(g files $t proc_rss_mib)" "$(f2 "$(g files $t files_ctxsw)")"
    done
  fi
  echo
  printf '%-34s %9s %9s %8s %8s\n' "4. list $LISTN keys, pages of 1000" "seconds" "keys" "cpu s" "RSS MiB"
  for t in libcos node; do
    [ -z "$(g list $t list_s)" ] && continue
    printf '%-34s %9s %9s %8s %8s\n' "$t" "$(g list $t list_s)" "$(g list $t keys)" "$(f2 "$(g list $t cpu_s)")" "$(g list $t rss_mib)"
  done
  echo
  echo "5. micro"; sed 's/^/   /' "$W/micro"
  echo
  echo "7. $QUEUEN queued uploads: $(g queue libcos bytes_per_task) bytes of RSS per queued task, $(g queue libcos threads) threads for the whole queue (FileParallelLimit 3)"
  echo
  printf '6. durable upload vs the disk: plain writer %s MB/s (8 MiB files x 4, fsync file + dir); libcos_8x4 to cos-server %s MB/s; ratio %s (target >= 0.80)\n' \
    "$(f0 "$(g upload disk_plain mb_s)")" "$(f0 "$(g upload libcos_8x4 mb_s)")" "$(f2 "$(ratio upload libcos_8x4 mb_s upload disk_plain mb_s)")"
  echo "6. cos-server alone (curl): download to /dev/null $(f0 "$(g server_alone curl download_mb_s)") MB/s;" \
       "upload $(f0 "$(g upload curl mb_s)") MB/s (fsync before the ack), $(f0 "$(g server_alone curl upload_nofsync_mb_s)") MB/s with --no-fsync"
fi
echo
echo "ratios (medians of per-run ratios; > 1 is libcos ahead, for CPU < 1)"
r() { local v; v=$(ratio "$@"); [ -n "$v" ] && f2 "$v" || echo "-"; }
for peer in csdk node curl; do
  [ -z "$(g seq $peer seq_get_ops_s)" ] && continue
  printf '  one at a time vs %-6s  GET p50 %s p99 %s  PUT p50 %s p99 %s  (its latency / ours)   CPU/request %s\n' "$peer" \
    "$(r seq $peer seq_get_p50_us seq libcos seq_get_p50_us)" "$(r seq $peer seq_get_p99_us seq libcos seq_get_p99_us)" \
    "$(r seq $peer seq_put_p50_us seq libcos seq_put_p50_us)" "$(r seq $peer seq_put_p99_us seq libcos seq_put_p99_us)" \
    "$(r seq libcos seq_get_cpu_us seq $peer seq_get_cpu_us)"
done
for peer in csdk node; do
  [ -z "$(g small $peer put_ops_s)" ] && continue
  printf '  16 in flight vs %-6s  PUT %s  GET %s (16 threads: %s %s)   CPU/request PUT %s GET %s (threads %s %s)\n' "$peer" \
    "$(r small libcos put_ops_s small $peer put_ops_s)" "$(r small libcos get_ops_s small $peer get_ops_s)" \
    "$(r small libcos_threads put_ops_s small $peer put_ops_s)" "$(r small libcos_threads get_ops_s small $peer get_ops_s)" \
    "$(r small libcos put_cpu_us small $peer put_cpu_us)" "$(r small libcos get_cpu_us small $peer get_cpu_us)" \
    "$(r small libcos_threads put_cpu_us small $peer put_cpu_us)" "$(r small libcos_threads get_cpu_us small $peer get_cpu_us)"
done
printf '  16 in flight vs curl -Z  PUT %s  GET %s\n' "$(r small libcos put_ops_s server_alone curl small_put_ops_s)" "$(r small libcos get_ops_s server_alone curl small_get_ops_s)"
if [ "$QUICK" = 0 ]; then
  printf '  libcos/curl      upload %s  download %s\n' "$(r upload libcos_8x4 mb_s upload curl mb_s)" "$(r download libcos_8x4 mb_s download curl mb_s)"
  for peer in csdk node; do
    [ -z "$(g upload ${peer}_8x4 mb_s)" ] && continue
    printf '  libcos/%-9s upload %s  download %s  --no-fsync upload %s   CPU up %s down %s\n' "$peer" \
      "$(r upload libcos_8x4 mb_s upload ${peer}_8x4 mb_s)" "$(r download libcos_8x4 mb_s download ${peer}_8x4 mb_s)" \
      "$(r upload_nofsync libcos_8x4 mb_s upload_nofsync ${peer}_8x4 mb_s)" \
      "$(r upload libcos_8x4 cpu_s upload ${peer}_8x4 cpu_s)" "$(r download libcos_8x4 cpu_s download ${peer}_8x4 cpu_s)"
  done
  for peer in csdk node; do
    [ -z "$(g files $peer files_s)" ] && continue
    printf '  many files vs %-6s   uploadFiles %s  cos cp -r %s (files/s)   CPU %s   RSS %s MiB vs %s\n' "$peer" \
      "$(r files libcos files_s files $peer files_s)" "$(r files cos_cp files_s files $peer files_s)" \
      "$(r files libcos files_cpu_s files $peer files_cpu_s)" "$(g files libcos proc_rss_mib)" "$(g files $peer proc_rss_mib)"
  done
  if [ $NODE = 1 ]; then
    printf '  listing          %s x faster than Node\n' "$(r list node list_s list libcos list_s)"
  fi
fi

# --- chart -----------------------------------------------------------------
if command -v gnuplot >/dev/null && [ "$QUICK" = 0 ]; then
  { for t in $tools; do echo "$t $(f0 "$(g upload "$t" mb_s)") $(f0 "$(g download "$t" mb_s)")"; done; } > "$W/transfer.dat"
  { for t in libcos libcos_threads csdk node; do [ -n "$(g small $t put_ops_s)" ] && echo "$t $(f0 "$(g small $t put_ops_s)") $(f0 "$(g small $t get_ops_s)")"; done
    echo "curl(server) $(f0 "$(g server_alone curl small_put_ops_s)") $(f0 "$(g server_alone curl small_get_ops_s)")"; } > "$W/small.dat"
  gnuplot -e "transfer='$W/transfer.dat'; small='$W/small.dat'; out='$OUT/chart.png'; title='$MIB MiB, medians of $RUNS runs, $(nproc) cores'" "$HERE/chart.gp"
  echo; echo "chart: $OUT/chart.png"
fi
echo "csv:   $OUT/results.csv"

# --- 7. the store at scale (bench/scale.sh; BENCH_SCALE_KEYS=0 skips it) ----
if [ "$QUICK" = 0 ] && [ "${BENCH_SCALE_KEYS:-1000000}" -gt 0 ]; then
  kill "$SP" "$SP2" 2>/dev/null || true
  OUT=$OUT bash "$HERE/scale.sh" "$BUILD"
fi
