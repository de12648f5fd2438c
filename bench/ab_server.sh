#!/usr/bin/env bash
# bench/ab_server.sh — a same-run, interleaved A/B of two cos-servers (or one
# server with two sets of flags) under small requests, per kind of request.
#
#   bench/ab_server.sh SERVER_A SERVER_B [ROUNDS]
#     env: ARGS_A, ARGS_B   extra flags for each server (e.g. ARGS_B="--threads 4")
#          N (2000)         requests per kind per round
#          INFLIGHT (16)    threads (or requests in flight with MODE=async)
#          MODE (threads)   threads: synchronous calls on INFLIGHT threads; async: cos_call_async
#          OPS (put get head): put first (get, head and delete use what it wrote; delete last)
#          CLIENT_A, CLIENT_B  the bench_ops each side runs (default: build/bench/bench_ops for both)
#          COS (build/cos)  makes the buckets
#          CLIENT_PERF (0)  1: also count the client's syscalls per request (all, futex, poll)
#          PERF (1)         also count the server's syscalls per request (perf stat on tracepoints:
#                           all, fdatasync, pwrite64, pread64, futex); 0: without perf
#
# Both servers run at once on fresh roots; each round runs every kind against
# A then B (B then A on odd rounds), so load drifts hit both alike. Printed
# per run: the client's op/s, CPU us and context switches per request, and
# the server's CPU us, voluntary / involuntary context switches per request
# (its /proc counters, every thread). Load averages at the start and end.
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-4}
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-2000} INFLIGHT=${INFLIGHT:-16} MODE=${MODE:-threads} OPS=${OPS:-put get head}
CLIENT_A=${CLIENT_A:-$HERE/build/bench/bench_ops} CLIENT_B=${CLIENT_B:-$CLIENT_A}
COS=${COS:-$HERE/build/cos}
W=$(mktemp -d "${TMPDIR:-/tmp}/cos-ab-XXXXXX")
PA= PB=
trap '[ -n "$PA" ] && kill $PA 2>/dev/null || true; [ -n "$PB" ] && kill $PB 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
start() { # BIN DIR ARGS -> pid on stdout's last line; endpoint in DIR/port
  "$1" --root "$2/data" --listen 127.0.0.1:0 --port-file "$2/port" --quiet $3 >/dev/null 2>&1 &
  echo $!
}
mkdir -p "$W/a" "$W/b"
PA=$(start "$A" "$W/a" "${ARGS_A:-}")
PB=$(start "$B" "$W/b" "${ARGS_B:-}")
for _ in $(seq 1 200); do [ -s "$W/a/port" ] && [ -s "$W/b/port" ] && break; sleep 0.05; done
EA="127.0.0.1:$(cat "$W/a/port")" EB="127.0.0.1:$(cat "$W/b/port")"
export COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
BUCKET=bench-1250000000
COS_ENDPOINT=$EA "$COS" mb "cos://$BUCKET" >/dev/null
COS_ENDPOINT=$EB "$COS" mb "cos://$BUCKET" >/dev/null
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{ printf "%.4f", ($14 + $15) / t }' "/proc/$1/stat"; }
minflt() { awk '{ print $10 }' "/proc/$1/stat"; }
csw() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt/ { v += $2 } /^nonvoluntary_ctxt/ { n += $2 } END { print v, n }'; }
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_pread64,syscalls:sys_enter_futex
one() { # SIDE PID EP CLIENT OP
  local c0 c1 v0 n0 v1 n1 f0 f1 out pp=
  if [ "${PERF:-1}" = 1 ]; then perf stat -x, -e $EVENTS -o "$W/perf" -p "$2" 2>/dev/null & pp=$!; sleep 0.2; fi
  c0=$(cpu "$2"); read -r v0 n0 < <(csw "$2"); f0=$(minflt "$2")
  local pre=() csys=
  [ "${CLIENT_PERF:-0}" = 1 ] && pre=(perf stat -x, -o "$W/cperf" -e raw_syscalls:sys_enter,syscalls:sys_enter_futex,syscalls:sys_enter_poll)
  if [ "$MODE" = async ]; then out=$("${pre[@]}" "$4" one "$3" $BUCKET "$N" "$INFLIGHT" "$5" async 2>"$W/err")
  else out=$("${pre[@]}" "$4" one "$3" $BUCKET "$N" "$INFLIGHT" "$5" 2>"$W/err"); fi
  [ "${CLIENT_PERF:-0}" = 1 ] && csys=$(awk -F, -v n="$N" '/sys_enter/ { v = $1; sub(/.*:sys_enter_?/, "", $3); printf " cli_%s %.2f", $3 == "" ? "sys" : $3, v / n }' "$W/cperf")
  c1=$(cpu "$2"); read -r v1 n1 < <(csw "$2"); f1=$(minflt "$2")
  local sys=
  if [ -n "$pp" ]; then
    kill -INT $pp; wait $pp 2>/dev/null || true
    sys=$(awk -F, -v n="$N" '/sys_enter/ { v = $1; sub(/.*:sys_enter_?/, "", $3); printf " %s %.2f", $3 == "" ? "sys" : $3, v / n }' "$W/perf")
  fi
  echo "$out" | awk -v sys="$sys$csys" -v side="$1" -v op="$5" -v r="$round" -v sc="$(echo "($c1 - $c0) * 1000000 / $N" | bc -l)" \
    -v sv="$(echo "($v1 - $v0) / $N" | bc -l)" -v sn="$(echo "($n1 - $n0) / $N" | bc -l)" -v fl="$(echo "($f1 - $f0) / $N" | bc -l)" '
    { m[$1] = $2 }
    END { printf "round %d %-4s %s  ops_s %7.0f  cli_cpu_us %6.1f cli_cs %5.2f  srv_cpu_us %6.1f srv_vcs %5.2f srv_ivcs %5.2f faults %5.2f %s\n",
          r, op, side, m[op "_ops_s"], m[op "_cpu_us"], m[op "_ctxsw"], sc, sv, sn, fl, sys }'
}
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  for op in $OPS; do
    if [ $((round % 2)) = 1 ]; then one A "$PA" "$EA" "$CLIENT_A" "$op"; one B "$PB" "$EB" "$CLIENT_B" "$op"
    else one B "$PB" "$EB" "$CLIENT_B" "$op"; one A "$PA" "$EA" "$CLIENT_A" "$op"; fi
  done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
