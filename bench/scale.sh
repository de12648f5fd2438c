#!/usr/bin/env bash
# The store at scale (issue #15), part of `make bench`, runnable alone:
#   bench/scale.sh [BUILD_DIR]     BENCH_SCALE_KEYS=1000000 (the largest size),
#                                  BENCH_SCALE_INFLIGHT=32, OUT=dir
# One fresh cos-server (durable, default flags); keys go in through the API
# (libcos, INFLIGHT PUTs in flight) in steps of 10,000, 100,000 and then up
# to BENCH_SCALE_KEYS; at each size bench_scale measures 1,000-key pages at
# the start, middle and end, delimiter listings, and HEAD / GET / PUT latency
# idle and behind 4 nonstop listers. Prints a table with each figure's growth
# from the first size to the last, and writes OUT/scale.csv (metric,keys,value).
set -euo pipefail
BUILD=${1:-build}
MAXN=${BENCH_SCALE_KEYS:-1000000}
if [ "$MAXN" -lt 1000 ]; then echo "scale: BENCH_SCALE_KEYS must be at least 1000 (one full page)" >&2; exit 2; fi
INFLIGHT=${BENCH_SCALE_INFLIGHT:-32}
OUT=${OUT:-$BUILD/bench}
mkdir -p "$OUT"
. "$(dirname "$0")/lib.sh"
BUCKET=scale-1250000000
bench_start scale "$BUILD/cos-server"
"$BUILD/cos" mb "cos://$BUCKET" >/dev/null
BS="$BUILD/bench/bench_scale"
sizes=""
for n in 10000 100000 "$MAXN"; do
  [ "$n" -le "$MAXN" ] && case " $sizes " in *" $n "*) ;; *) sizes="$sizes $n" ;; esac
done
prev=0
echo "metric,keys,value" > "$OUT/scale.csv"
for n in $sizes; do
  echo "scale: PUT keys $prev..$n through the API ($INFLIGHT in flight) ..." >&2
  ops=$("$BS" fill "$EP" $BUCKET $prev "$n" "$INFLIGHT")
  echo "fill_put_ops_s,$n,$ops" >> "$OUT/scale.csv"
  echo "scale: measuring at $n keys ..." >&2
  "$BS" measure "$EP" $BUCKET "$n" 4 | awk -v n="$n" '{ print $1 "," n "," $2 }' >> "$OUT/scale.csv"
  prev=$n
done

echo
echo "Scale: one bucket grown through the API; ms (medians; p99 where named); $(nproc) cores; $(date -u +%F)"
awk -F, -v sizes="$sizes" '
  NR > 1 { v[$1 "," $2] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++m] = $1 } }
  END {
    k = split(sizes, S, " ")
    printf "%-24s", "metric"; for (i = 1; i <= k; i++) printf " %12s", S[i] " keys"; printf " %9s\n", "growth"
    for (j = 1; j <= m; j++) {
      name = order[j]; printf "%-24s", name
      for (i = 1; i <= k; i++) printf " %12s", v[name "," S[i]]
      a = v[name "," S[1]]; b = v[name "," S[k]]
      if (a > 0) printf " %8.2fx\n", b / a; else printf " %9s\n", "-"
    }
  }' "$OUT/scale.csv"
echo "csv:   $OUT/scale.csv"
