#!/usr/bin/env bash
# bench/ab_seq.sh — one request at a time, same run: two libcos builds (old
# and new bench_ops) and, when given, the official C SDK's csdk_bench, taking
# turns on one cos-server; per-request latency histograms of each.
#
#   bench/ab_seq.sh BENCH_OPS_A BENCH_OPS_B [CSDK_BENCH]
#     env: ROUNDS (5)  rounds; the order of the clients turns each round
#          N (1000)    4 KiB PUTs then GETs per client per round (`seq`)
#          SERVER      the cos-server (default: next to BENCH_OPS_B, ../cos-server)
#          OUT         a directory to keep every run's output and latencies in
#
# Prints each run's CPU us per request (getrusage: user + system), p50 / p99
# latency, then the medians of the per-round ratios B/A and B/CSDK (CPU: lower
# is better; latency ratios as bench/run.sh gives them, other / B: higher is
# better), and for GET and PUT a latency histogram of every request of every
# round per client (log2 buckets of microseconds) with the slowest requests'
# positions in their run (a tail that recurs every Nth request shows there).
# The load average at the start and the end. Nothing here asserts a time.
set -euo pipefail
A=$1 B=$2 CS=${3:-}
ROUNDS=${ROUNDS:-5} N=${N:-1000}
SERVER=${SERVER:-$(dirname "$B")/../cos-server}
CLI=$(dirname "$SERVER")/cos
. "$(dirname "$0")/lib.sh"
bench_start abseq "$SERVER"
"$CLI" mb "cos://$BUCKET" >/dev/null
echo "load at the start: $(uptime | sed 's/.*load average: //')"
tools=(a b); [ -n "$CS" ] && tools+=(csdk)
bin() { case $1 in a) echo "$A" ;; b) echo "$B" ;; csdk) echo "$CS" ;; esac; }
for r in $(seq 1 "$ROUNDS"); do
  n=${#tools[@]}
  for i in $(seq 0 $((n - 1))); do
    t=${tools[$(((i + r) % n))]}
    BENCH_LAT_OUT="$W/lat.$t.$r" "$(bin "$t")" seq "$EP" $BUCKET "$N" > "$W/out.$t.$r"
    printf 'round %d %-5s' "$r" "$t"
    grep -E '_(cpu_us|p50_us|p99_us) ' "$W/out.$t.$r" | awk '{ sub(/^seq_/, "", $1); printf " %s %.0f", $1, $2 }'
    echo
  done
done
echo "load at the end: $(uptime | sed 's/.*load average: //')"
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && cp "$W"/out.* "$W"/lat.* "$OUT"/
val() { awk -v m="$3" '$1 == m { print $2 }' "$W/out.$1.$2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratio X Y METRIC: median over rounds of X's metric / Y's
ratio() { for r in $(seq 1 "$ROUNDS"); do echo "$(val "$1" "$r" "$3") / $(val "$2" "$r" "$3")" | bc -l; done | median; }
echo "medians of per-round ratios:"
for m in seq_put_cpu_us seq_get_cpu_us; do
  printf '  %-16s B/A %.3f' "$m" "$(ratio b a $m)"
  [ -n "$CS" ] && printf '   B/CSDK %.3f' "$(ratio b csdk $m)"
  echo
done
for m in seq_put_p50_us seq_put_p99_us seq_get_p50_us seq_get_p99_us; do
  printf '  %-16s A/B %.3f' "$m" "$(ratio a b $m)"
  [ -n "$CS" ] && printf '   CSDK/B %.3f' "$(ratio csdk b $m)"
  echo
done
for phase in seq_put seq_get; do
  echo "$phase latency histogram (requests per bucket, all rounds; us):"
  for t in "${tools[@]}"; do
    cat "$W"/lat."$t".* | awk -v p="$phase" -v t="$t" '$1 == p {
        b = 0; v = $3; while (v >= 2 && b < 16) { v /= 2; b++ } h[b]++; n++ }
      END { printf "  %-5s", t; for (b = 6; b <= 16; b++) printf " <%d:%d", 2 ^ (b + 1), h[b]; printf "  (%d)\n", n }'
    cat "$W"/lat."$t".* | awk -v p="$phase" '$1 == p { print $3, $2 }' | sort -gr | awk 'NR <= 10' |
      awk -v t="$t" '{ s = s sprintf(" %.0f@%d", $1, $2) } END { printf "        slowest (us@index):%s\n", s }'
  done
done
