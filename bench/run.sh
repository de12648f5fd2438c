#!/usr/bin/env bash
# `make bench`: cos-server on loopback; libcos vs curl (the ceiling) vs the
# official Node.js SDK on the same file, plus micro figures. Each figure is
# the median of RUNS runs; ratios come from the same run. Not part of make test.
# BENCH_MIB=1024 (default) sets the file size; BENCH_QUICK=1 uses 256 MiB.
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
MIB=${BENCH_MIB:-1024}; [ "${BENCH_QUICK:-0}" = 1 ] && MIB=256
RUNS=${RUNS:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/cos-bench-XXXXXX")
trap 'kill $SP 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
"$BUILD/cos-server" --root "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" --quiet >/dev/null 2>&1 & SP=$!
for _ in $(seq 1 200); do [ -s "$W/port" ] && break; sleep 0.05; done
EP="127.0.0.1:$(cat "$W/port")"
export COS_ENDPOINT=$EP COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
"$BUILD/cos" mb cos://bench-1250000000 >/dev/null
head -c $((MIB * 1048576)) /dev/urandom > "$W/file"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sign() { "$BUILD/cos" sign --secret-id $COS_SECRET_ID --secret-key $COS_SECRET_KEY --method "$1" --key "$2" \
  --header "Host: bench-1250000000.cos.ap-guangzhou.myqcloud.com"; }
HOSTH="bench-1250000000.cos.ap-guangzhou.myqcloud.com"
curl_put() { local t0 t1; t0=$(date +%s.%N); curl -sf -T "$W/file" -H "Authorization: $(sign put curl.bin)" --connect-to "::$EP" "http://$HOSTH/curl.bin" >/dev/null; t1=$(date +%s.%N); echo "$MIB * 1.048576 / ($t1 - $t0)" | bc -l; }
curl_get() { local t0 t1; t0=$(date +%s.%N); curl -sf -o /dev/null -H "Authorization: $(sign get curl.bin)" --connect-to "::$EP" "http://$HOSTH/curl.bin"; t1=$(date +%s.%N); echo "$MIB * 1.048576 / ($t1 - $t0)" | bc -l; }
lib() { "$BUILD/bench/bench_transfer" "$@" | awk '{print $1, $9}'; }
declare -A R
for i in $(seq 1 "$RUNS"); do
  R[curl_up]+="$(curl_put)"$'\n'; R[curl_down]+="$(curl_get)"$'\n'
  read -r mbs rss < <(lib up "$EP" bench-1250000000 lib.bin "$W/file"); R[lib_up]+="$mbs"$'\n'; R[lib_up_rss]+="$rss"$'\n'
  read -r mbs rss < <(lib up "$EP" bench-1250000000 lib8.bin "$W/file" 8 4); R[lib_up8]+="$mbs"$'\n'; R[lib_up8_rss]+="$rss"$'\n'
  rm -f "$W/back"
  read -r mbs rss < <(lib down "$EP" bench-1250000000 lib8.bin "$W/back"); R[lib_down]+="$mbs"$'\n'; R[lib_down_rss]+="$rss"$'\n'
  cmp -s "$W/file" "$W/back" || { echo "download differs!"; exit 1; }
done
if [ -d "$HERE/node" ] && command -v node >/dev/null; then
  (cd "$HERE/node" && { [ -d node_modules ] || npm ci --silent --no-audit --no-fund; })
  for i in $(seq 1 "$RUNS"); do
    out=$(node "$HERE/node/transfer.js" "$EP" "$W/file" "$W/nback" 2>/dev/null || echo "0 0 0 0")
    set -- $out; R[node_up]+="$1"$'\n'; R[node_down]+="$2"$'\n'; R[node_rss]+="$3"$'\n'
  done
fi
m() { printf '%s' "${R[$1]:-0}" | grep -v '^$' | median; }
printf '\n%s MiB file, %s runs, medians (MB/s; RSS MiB)\n' "$MIB" "$RUNS"
printf '%-34s %10s %10s\n' workload upload download
printf '%-34s %10.0f %10.0f\n' "curl (the ceiling)" "$(m curl_up)" "$(m curl_down)"
printf '%-34s %10.0f %10s\n' "libcos default (1 MiB x 3)" "$(m lib_up)" "-"
printf '%-34s %10.0f %10.0f\n' "libcos tuned (8 MiB x 4)" "$(m lib_up8)" "$(m lib_down)"
[ -n "${R[node_up]:-}" ] && printf '%-34s %10.0f %10.0f\n' "official Node.js SDK (8 MiB x 4)" "$(m node_up)" "$(m node_down)"
printf 'peak RSS: libcos up %s MiB (default) / %s MiB (tuned), down %s MiB' "$(m lib_up_rss)" "$(m lib_up8_rss)" "$(m lib_down_rss)"
[ -n "${R[node_rss]:-}" ] && printf ', Node SDK %s MiB' "$(m node_rss)"
echo
printf 'libcos/curl: upload %.2f, download %.2f\n' "$(echo "$(m lib_up8) / $(m curl_up)" | bc -l)" "$(echo "$(m lib_down) / $(m curl_down)" | bc -l)"
[ -n "${R[node_up]:-}" ] && printf 'libcos/Node: upload %.2f, download %.2f\n' "$(echo "$(m lib_up8) / $(m node_up)" | bc -l)" "$(echo "$(m lib_down) / $(m node_down)" | bc -l)"
echo; "$BUILD/bench/micro"
