#!/usr/bin/env bash
# `make bench`: the six workloads of issue #7 (and the task queue's cost, 7.)
# against a cos-server on loopback.
# libcos vs the official Node.js SDK (cos-nodejs-sdk-v5, pinned by the
# lockfile in bench/node) vs curl (the ceiling: the same bytes, the same disk
# work, no SDK). Every figure is the median of RUNS runs; every ratio is taken
# between medians of runs interleaved on the same server, so a noisy host
# slows all sides alike. Not part of make test: nothing here asserts a time.
#
#   bench/run.sh [BUILD_DIR]      BENCH_MIB=1024 (file size), RUNS=3,
#                                 BENCH_QUICK=1 (256 MiB, 1 run), OUT=dir,
#                                 BENCH_SCALE_KEYS=1000000 (7. the store at
#                                 scale, bench/scale.sh; 0 skips it)
# Writes OUT/results.csv (workload,tool,metric,value) and, when gnuplot is
# installed, OUT/chart.png; prints the table.
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
MIB=${BENCH_MIB:-1024}
RUNS=${RUNS:-3}
if [ "${BENCH_QUICK:-0}" = 1 ]; then MIB=256; RUNS=1; fi
SMALL=${BENCH_SMALL:-2000}
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
"$BUILD/bench/micro" > "$W/micro"
head -c $((MIB * 1048576)) /dev/urandom > "$W/file"
BYTES=$((MIB * 1048576))
NODE=0
if [ -d "$HERE/node" ] && command -v node >/dev/null; then
  (cd "$HERE/node" && { [ -d node_modules ] || npm ci --silent --no-audit --no-fund; }) && NODE=1
fi

# --- measurement helpers ---------------------------------------------------
# Each record is "workload tool metric value" in $W/raw; medians at the end.
rec() { echo "$1 $2 $3 $4" >> "$W/raw"; }
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
"${CURL[@]}" -T "$W/small" -H "Authorization: $(sign put ceiling/small)" "http://$HOSTH/ceiling/small" >/dev/null

BT="$BUILD/bench/bench_transfer"
for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS ..." >&2
  # 1. upload; first the disk itself: plain writers, the same bytes in the
  # same part files and parallelism as libcos_8x4, fsync of each file and its
  # directory (cos-server's durable path is measured against it, issue #21)
  transfer upload disk_plain "$BUILD/bench/bench_disk" "$W/plain" "$MIB" 8 4
  transfer upload curl "${CURL[@]}" -T "$W/file" -H "Authorization: $(sign put curl.bin)" "http://$HOSTH/curl.bin"
  transfer upload libcos_default "$BT" up "$EP" $BUCKET lib-default.bin "$W/file"
  transfer upload libcos_8x4 "$BT" up "$EP" $BUCKET lib-8.bin "$W/file" 8 4
  if [ $NODE = 1 ]; then
    transfer upload node_default node "$HERE/node/transfer.js" up "$EP" "$W/file"
    transfer upload node_8x4 node "$HERE/node/transfer.js" up "$EP" "$W/file" 8 4
  fi
  # 1b. the same tuned uploads to the --no-fsync server: what each SDK costs
  # when the server does not wait for the disk (with fsync it is the limit)
  transfer upload_nofsync libcos_8x4 "$BT" up "$EP2" $BUCKET lib-8.bin "$W/file" 8 4
  if [ $NODE = 1 ]; then
    transfer upload_nofsync node_8x4 node "$HERE/node/transfer.js" up "$EP2" "$W/file" 8 4
  fi
  # 2. download (curl -o FILE does the same disk work as the SDKs)
  transfer download curl "${CURL[@]}" -o "$W/back" -H "Authorization: $(sign get curl.bin)" "http://$HOSTH/curl.bin"; same "$W/back"
  transfer download libcos_default "$BT" down "$EP" $BUCKET lib-8.bin "$W/back"; same "$W/back"
  transfer download libcos_8x4 "$BT" down "$EP" $BUCKET lib-8.bin "$W/back" 8 4; same "$W/back"
  if [ $NODE = 1 ]; then
    transfer download node_default node "$HERE/node/transfer.js" down "$EP" "$W/back"; same "$W/back"
    transfer download node_8x4 node "$HERE/node/transfer.js" down "$EP" "$W/back" 8 4; same "$W/back"
  fi
  # 6. cos-server alone: curl streaming to /dev/null, and small objects in parallel
  timed "${CURL[@]}" -o /dev/null -H "Authorization: $(sign get curl.bin)" "http://$HOSTH/curl.bin"
  rec server_alone curl download_mb_s "$(mbs "$WALL")"
  sync
  timed curl -sf --connect-to "::$EP2" -T "$W/file" -H "Authorization: $(sign put nofsync.bin)" "http://$HOSTH/nofsync.bin"
  rec server_alone curl upload_nofsync_mb_s "$(mbs "$WALL")"
  timed curl -sf --no-progress-meter -Z --parallel-max 16 --connect-to "::$EP" -H "Authorization: $(sign put ceiling/small)" -K "$W/put.cfg"
  rec server_alone curl small_put_ops_s "$(echo "$SMALL / $WALL" | bc -l)"
  timed curl -sf --no-progress-meter -Z --parallel-max 16 --connect-to "::$EP" -H "Authorization: $(sign get ceiling/small)" -K "$W/get.cfg"
  rec server_alone curl small_get_ops_s "$(echo "$SMALL / $WALL" | bc -l)"
  # 3. small objects, 16 in flight; 4. listing with pagination
  timed "$BUILD/bench/bench_ops" small "$EP" $BUCKET "$SMALL" 16
  read -r p g _ < "$W/out"; rec small libcos put_ops_s "$p"; rec small libcos get_ops_s "$g"
  rec small libcos cpu_s "$CPU"; rec small libcos rss_mib "$RSS"
  if [ $NODE = 1 ]; then
    timed node "$HERE/node/ops.js" small "$EP" "$SMALL" 16
    read -r p g _ < "$W/out"; rec small node put_ops_s "$p"; rec small node get_ops_s "$g"
    rec small node cpu_s "$CPU"; rec small node rss_mib "$RSS"
  fi
  timed "$BUILD/bench/bench_ops" list "$EP" $BUCKET "$LISTN"
  read -r secs n _ < "$W/out"; rec list libcos list_s "$secs"; rec list libcos keys "$n"
  rec list libcos cpu_s "$CPU"; rec list libcos rss_mib "$RSS"
  if [ $NODE = 1 ]; then
    timed node "$HERE/node/ops.js" list "$EP" "$LISTN"
    read -r secs n _ < "$W/out"; rec list node list_s "$secs"; rec list node keys "$n"
    rec list node cpu_s "$CPU"; rec list node rss_mib "$RSS"
  fi
done
while read -r name value _; do rec micro libcos "$name" "$value"; done < "$W/micro"
# 7. the task queue: memory and threads that 10,000 queued uploads hold
QUEUEN=${BENCH_QUEUE:-10000}
"$BUILD/bench/bench_queue" "$EP" $BUCKET "$QUEUEN" > "$W/queue"
read -r qb qt _ < "$W/queue"; rec queue libcos bytes_per_task "$qb"; rec queue libcos threads "$qt"

# --- medians, CSV, table ---------------------------------------------------
awk '{ k = $1 "," $2 "," $3; v[k] = v[k] " " $4 }
     END { for (k in v) { n = split(substr(v[k], 2), a, " ");
             for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
             print k "," a[int((n + 1) / 2)] } }' "$W/raw" | sort > "$W/med"
{ echo "workload,tool,metric,value"; cat "$W/med"; } > "$OUT/results.csv"
g() { awk -F, -v k="$1,$2,$3" '$1 "," $2 "," $3 == k { print $4 }' "$W/med"; }
ratio() { local a b; a=$(g "$@" | head -1); b=$(g "$4" "$5" "$6"); [ -n "$a" ] && [ -n "$b" ] && echo "$a / $b" | bc -l || echo 0; }
f0() { printf '%.0f' "${1:-0}"; }
f2() { printf '%.2f' "${1:-0}"; }

echo
echo "cos-server on loopback; $MIB MiB file; medians of $RUNS runs; $(nproc) cores; $(date -u +%F)"
echo
printf '%-34s %9s %8s %8s %8s   %9s %8s %8s %8s\n' "1-2. 1 GiB-class transfer" "up MB/s" "wall s" "cpu s" "RSS MiB" "down MB/s" "wall s" "cpu s" "RSS MiB"
tools="curl libcos_default libcos_8x4"; [ $NODE = 1 ] && tools="$tools node_default node_8x4"
# xfer WORKLOAD TOOL: its MB/s, wall s, CPU s and RSS as four table columns
xfer() { printf '%9s %8s %8s %8s' "$(f0 "$(g "$1" "$2" mb_s)")" "$(f2 "$(g "$1" "$2" wall_s)")" "$(f2 "$(g "$1" "$2" cpu_s)")" "$(g "$1" "$2" rss_mib)"; }
for t in $tools; do
  printf '%-34s %s   %s\n' "$t" "$(xfer upload "$t")" "$(xfer download "$t")"
done
echo
printf '%-34s %9s %8s %8s %8s\n' "1b. upload, --no-fsync server" "up MB/s" "wall s" "cpu s" "RSS MiB"
for t in libcos_8x4 node_8x4; do
  if [ -n "$(g upload_nofsync $t mb_s)" ]; then printf '%-34s %s\n' "$t" "$(xfer upload_nofsync "$t")"; fi
done
echo
printf '%-34s %9s %9s %8s %8s\n' "3. $SMALL x 4 KiB, 16 in flight" "PUT op/s" "GET op/s" "cpu s" "RSS MiB"
for t in libcos node; do
  [ -z "$(g small $t put_ops_s)" ] && continue
  printf '%-34s %9s %9s %8s %8s\n' "$t" "$(f0 "$(g small $t put_ops_s)")" "$(f0 "$(g small $t get_ops_s)")" "$(f2 "$(g small $t cpu_s)")" "$(g small $t rss_mib)"
done
printf '%-34s %9s %9s\n' "curl -Z, one key (server alone)" "$(f0 "$(g server_alone curl small_put_ops_s)")" "$(f0 "$(g server_alone curl small_get_ops_s)")"
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
echo
echo "ratios (medians, same runs)"
printf '  libcos/curl      upload %s  download %s   (target >= 0.85)\n' "$(f2 "$(ratio upload libcos_8x4 mb_s upload curl mb_s)")" "$(f2 "$(ratio download libcos_8x4 mb_s download curl mb_s)")"
if [ $NODE = 1 ]; then
  printf '  libcos/Node      upload %s (default %s)  download %s (default %s)   (target >= 3)\n' \
    "$(f2 "$(ratio upload libcos_8x4 mb_s upload node_8x4 mb_s)")" "$(f2 "$(ratio upload libcos_default mb_s upload node_default mb_s)")" \
    "$(f2 "$(ratio download libcos_8x4 mb_s download node_8x4 mb_s)")" "$(f2 "$(ratio download libcos_default mb_s download node_default mb_s)")"
  printf '  libcos/Node      upload to the --no-fsync server %s   (the SDKs without the disk as the limit)\n' \
    "$(f2 "$(ratio upload_nofsync libcos_8x4 mb_s upload_nofsync node_8x4 mb_s)")"
  printf '  small objects    PUT %s  GET %s   (target >= 3)\n' "$(f2 "$(ratio small libcos put_ops_s small node put_ops_s)")" "$(f2 "$(ratio small libcos get_ops_s small node get_ops_s)")"
  printf '  listing          %s x faster\n' "$(f2 "$(ratio list node list_s list libcos list_s)")"
  printf '  peak RSS         libcos %s MiB vs Node %s MiB (target <= 64 and <= 1/5)\n' "$(g upload libcos_8x4 rss_mib)" "$(g upload node_8x4 rss_mib)"
fi

# --- chart -----------------------------------------------------------------
if command -v gnuplot >/dev/null; then
  { for t in $tools; do echo "$t $(f0 "$(g upload "$t" mb_s)") $(f0 "$(g download "$t" mb_s)")"; done; } > "$W/transfer.dat"
  { for t in libcos node; do [ -n "$(g small $t put_ops_s)" ] && echo "$t $(f0 "$(g small $t put_ops_s)") $(f0 "$(g small $t get_ops_s)")"; done
    echo "curl(server) $(f0 "$(g server_alone curl small_put_ops_s)") $(f0 "$(g server_alone curl small_get_ops_s)")"; } > "$W/small.dat"
  gnuplot -e "transfer='$W/transfer.dat'; small='$W/small.dat'; out='$OUT/chart.png'; title='$MIB MiB, medians of $RUNS runs, $(nproc) cores'" "$HERE/chart.gp"
  echo; echo "chart: $OUT/chart.png"
fi
echo "csv:   $OUT/results.csv"

# --- 7. the store at scale (bench/scale.sh; BENCH_SCALE_KEYS=0 skips it) ----
if [ "${BENCH_SCALE_KEYS:-1000000}" -gt 0 ]; then
  kill "$SP" "$SP2" 2>/dev/null || true
  OUT=$OUT bash "$HERE/scale.sh" "$BUILD"
fi
