#!/usr/bin/env bash
# bench/ab_files.sh — a same-run, interleaved A/B of the many-files workload
# (bench_files: cos_upload_files, 16 at a time) of two builds against one
# cos-server, A then B (B then A on even rounds), with the peers in the same
# rounds when given: the official C SDK's upload call in 16 threads
# (CSDK=path of csdk_bench) and the Node.js SDK's uploadFiles
# (NODE_FILES=path of bench/node/files.js, its node_modules beside it), and
# `cos cp -r` of each build (COS_A, COS_B).
#
#   bench/ab_files.sh BENCH_FILES_A BENCH_FILES_B [ROUNDS]
#     env: SERVER (build/cos-server), N (2000) files, TREE (a tree made by
#          `bench_files gen`, else one of N files is made), PERF (1: system
#          calls per file counted with perf)
# Prints per round each side's files/s, CPU ms per file, peak RSS, context
# switches and system calls per file; then medians and the medians of the
# per-round B/A ratios. The load average is printed at the start and the end.
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SERVER=${SERVER:-$HERE/build/cos-server}
N=${N:-2000}
. "$(dirname "$0")/lib.sh"
bench_start abf "$SERVER"
TREE=${TREE:-}
if [ -z "$TREE" ]; then TREE=$W/tree; "$A" gen "$TREE" "$N"; fi
N=$(find "$TREE" -type f | wc -l)
# the bucket, made with a raw signed PUT by whichever cos is at hand
"${COS_A:-${COS_B:-$HERE/build/cos}}" mb "cos://$BUCKET" >/dev/null
echo "load at start: $(uptime | sed 's/.*load average: //'); $N files"
# one SIDE COMMAND...: the command's metric lines as "SIDE metric value" in $W/all
one() {
  local side=$1; shift
  local pre=()
  [ "${PERF:-1}" = 1 ] && pre=(perf stat -x, -o "$W/perf" -e raw_syscalls:sys_enter)
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$W/tm" "${pre[@]}" "$@" > "$W/out" 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
  local wall u s k
  read -r wall u s k < "$W/tm"
  if grep -q '^files_s' "$W/out"; then
    awk -v s="$side" -v n="$N" '/^files_s/ { print s, "files_s", $2 } /^files_cpu_s/ { print s, "cpu_ms_per_file", $2 * 1000 / n }
      /^files_ctxsw/ { print s, "ctxsw_per_file", $2 }' "$W/out" >> "$W/all"
  else # cos cp -r prints no figures: the wall clock and the process's CPU
    awk -v s="$side" -v n="$N" -v w="$wall" -v c="$(echo "$u + $s" | bc -l)" \
      'BEGIN { print s, "files_s", n / w; print s, "cpu_ms_per_file", c * 1000 / n }' >> "$W/all"
  fi
  echo "$side rss_mib $((k / 1024))" >> "$W/all"
  [ "${PERF:-1}" = 1 ] && awk -F, -v s="$side" -v n="$N" '/sys_enter/ { printf "%s syscalls_per_file %.2f\n", s, $1 / n }' "$W/perf" >> "$W/all"
  return 0
}
sides() { # the round's order: A and B turn; peers after
  if [ $(($1 % 2)) = 1 ]; then echo A B; else echo B A; fi
  [ -n "${COS_A:-}" ] && { if [ $(($1 % 2)) = 1 ]; then echo cpA cpB; else echo cpB cpA; fi; }
  [ -n "${CSDK:-}" ] && echo csdk
  [ -n "${NODE_FILES:-}" ] && echo node
  return 0
}
# a first pass, not counted: every key then exists, so each measured side
# overwrites (round 1's first side would otherwise be the only one creating)
one warm "$A" "$EP" $BUCKET "$TREE" 16
[ -n "${COS_A:-}" ] && one warm "$COS_A" cp -r "$TREE" "cos://$BUCKET/clifiles/"
for r in $(seq 1 "$ROUNDS"); do
  : > "$W/all"
  for s in $(sides "$r"); do
    case $s in
      A) one A "$A" "$EP" $BUCKET "$TREE" 16 ;;
      B) one B "$B" "$EP" $BUCKET "$TREE" 16 ;;
      cpA) one cpA "$COS_A" cp -r "$TREE" "cos://$BUCKET/clifiles/" ;;
      cpB) one cpB "$COS_B" cp -r "$TREE" "cos://$BUCKET/clifiles/" ;;
      csdk) one csdk "$CSDK" files "$EP" $BUCKET "$TREE" 16 ;;
      node) one node node "$NODE_FILES" "$EP" "$TREE" 16 ;;
    esac
  done
  echo "round $r: $(awk '{ printf "%s %s %s; ", $1, $2, $3 }' "$W/all")"
  awk '{ v[$1 " " $2] = $3 } END { for (k in v) { split(k, p, " "); if (p[1] != "A" && v["A " p[2]] > 0) printf "%s/A %s %.4f\n", p[1], p[2], v[k] / v["A " p[2]];
       if (p[1] == "cpB" && v["cpA " p[2]] > 0) printf "cpB/cpA %s %.4f\n", p[2], v[k] / v["cpA " p[2]] } }' "$W/all" >> "$W/ratios"
  cat "$W/all" >> "$W/figures"
done
med() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "medians:"
for s in $(awk '{ print $1 }' "$W/figures" | sort -u); do
  printf '%-5s' "$s"
  for k in files_s cpu_ms_per_file rss_mib ctxsw_per_file syscalls_per_file; do
    v=$(awk -v s="$s" -v k="$k" '$1 == s && $2 == k { print $3 }' "$W/figures" | med)
    printf ' %s %s' "$k" "$v"
  done
  echo
done
echo "ratios (medians of the per-round ratios):"
for p in $(awk '{ print $1 }' "$W/ratios" | sort -u); do
  printf '%-8s' "$p"
  for k in files_s cpu_ms_per_file rss_mib ctxsw_per_file syscalls_per_file; do
    printf ' %s %s' "$k" "$(awk -v p="$p" -v k="$k" '$1 == p && $2 == k { print $3 }' "$W/ratios" | med)"
  done
  echo
done
echo "load at end: $(uptime | sed 's/.*load average: //')"
