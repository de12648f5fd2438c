#!/usr/bin/env bash
# bench/ab_client.sh — a same-run, interleaved A/B of two builds of the
# client (bench_ops) against one cos-server: 4 KiB PUTs then GETs, INFLIGHT
# at a time, A then B (B then A on odd rounds), so load drifts hit both alike.
#
#   bench/ab_client.sh BENCH_OPS_A BENCH_OPS_B [ROUNDS]
#     env: SERVER (build/cos-server), COS (build/cos: makes the bucket)
#          N (2000) requests per kind, INFLIGHT (16)
#          MODE (async)  async: cos_call_async ("small"); threads: INFLIGHT threads of sync calls
#          ENV_A, ENV_B  extra environment for each side (e.g. ENV_B="BENCH_NETWORK_THREADS=1")
#          PERF (1)      also count each client's system calls, futex calls and polls per request,
#                        and print conns_max: the most of the client's connections that one
#                        server thread accepted (libmicrohttpd's pool serves a connection on
#                        the thread that accepted it, and a PUT's durable wait holds that
#                        thread: with 12 of 16 on one thread, async PUT ran at 0.4x the rate
#                        of a run whose connections were spread; bench/stages.sh)
# Prints per run: op/s, client CPU us, context switches per request (and the
# perf counts); then per figure the median of the per-round B/A ratios.
# The load average is printed at the start and the end.
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-4}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SERVER=${SERVER:-$HERE/build/cos-server} COS=${COS:-$HERE/build/cos}
N=${N:-2000} INFLIGHT=${INFLIGHT:-16} MODE=${MODE:-async}
. "$(dirname "$0")/lib.sh"
bench_start abc "$SERVER"
COS_ENDPOINT=$EP "$COS" mb "cos://$BUCKET" >/dev/null
echo "load at start: $(uptime | sed 's/.*load average: //')"
one() { # SIDE BIN ENV -> "SIDE metric value" lines in $W/all
  local pre=() mode=small
  [ "$MODE" = threads ] && mode=threads
  [ "${PERF:-1}" = 1 ] && pre=(perf stat -x, -o "$W/perf" -e raw_syscalls:sys_enter,syscalls:sys_enter_futex,syscalls:sys_enter_poll,syscalls:sys_enter_write)
  local pp=
  if [ "${PERF:-1}" = 1 ]; then
    rm -f "$W/acc"
    perf record -q -o "$W/acc" -e syscalls:sys_exit_accept4 -p "$SP" 2>/dev/null & pp=$!
    for _ in $(seq 1 200); do [ -s "$W/acc" ] && break; sleep 0.05; done
  fi
  # shellcheck disable=SC2086
  env $3 "${pre[@]}" "$2" $mode "$EP" $BUCKET "$N" "$INFLIGHT" > "$W/out" 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
  if [ -n "$pp" ]; then
    kill -INT "$pp"; wait "$pp" || true
    perf script -i "$W/acc" -F tid,trace 2>/dev/null | awk -v s="$1" '$2 !~ /^0xf/ { n[$1]++ } END { for (t in n) if (n[t] > m) m = n[t]; print s, "conns_max", m + 0 }' >> "$W/all"
  fi
  awk -v s="$1" '/^(put|get)_(ops_s|cpu_us|ctxsw)/ { print s, $1, $2 }' "$W/out" >> "$W/all"
  [ "${PERF:-1}" = 1 ] && awk -F, -v s="$1" -v n="$((2 * N))" '/sys_enter/ { v = $1; sub(/.*:sys_enter_?/, "", $3); printf "%s both_%s %.2f\n", s, $3 == "" ? "sys" : $3, v / n }' "$W/perf" >> "$W/all"
  grep -h "thread" "$W/err" | sed "s/^/$1 /" >&2 || true
}
for r in $(seq 1 "$ROUNDS"); do
  : > "$W/all"
  if [ $((r % 2)) = 1 ]; then one A "$A" "${ENV_A:-}"; one B "$B" "${ENV_B:-}"; else one B "$B" "${ENV_B:-}"; one A "$A" "${ENV_A:-}"; fi
  echo "round $r: $(awk '{ printf "%s %s %s; ", $1, $2, $3 }' "$W/all")"
  awk '$1 == "A" { a[$2] = $3 } $1 == "B" { b[$2] = $3 } END { for (k in a) if (a[k] > 0) printf "%s %.4f\n", k, b[k] / a[k] }' "$W/all" >> "$W/ratios"
  cat "$W/all" >> "$W/figures"
done
echo "medians (A | B | B/A, medians of per-round ratios):"
for k in $(awk '{ print $2 }' "$W/figures" | sort -u); do
  med() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  printf '%-14s %10s | %10s | %6s\n' "$k" "$(awk -v k="$k" '$1 == "A" && $2 == k { print $3 }' "$W/figures" | med)" \
    "$(awk -v k="$k" '$1 == "B" && $2 == k { print $3 }' "$W/figures" | med)" "$(awk -v k="$k" '$1 == k { print $2 }' "$W/ratios" | med)"
done
echo "load at end: $(uptime | sed 's/.*load average: //')"
