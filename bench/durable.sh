#!/usr/bin/env bash
# bench/durable.sh — cos-server's durable upload path against the disk itself
# (issue #21): in each round, interleaved on the same disk,
#   disk    bench_disk: WRITERS threads writing PART_MIB files, fsync of each
#           file and its directory (no network, no hash, no database)
#   upload  libcos uploadFile of the same bytes in PART_MIB parts, WRITERS in
#           flight, to a cos-server that fsyncs before it acknowledges
#   curl    one PUT of the whole file (one connection, one fsync)
# and prints the medians and the ratio upload / disk (target >= 0.8).
#   bench/durable.sh [BUILD_DIR]   BENCH_MIB=1024 PART_MIB=8 WRITERS=4 RUNS=3
#   OLD_SERVER=path/to/cos-server  also upload (libcos and curl) to that build (before/after, same run)
#   SYSCALLS=1  then one more upload to each server under `strace -f`: per part, system calls,
#               fsyncs (fsync + fdatasync), and those on the answering threads (the path to an
#               answer); strace slows it: counts only, no rate
# CPU: the server's from /proc around the upload, the client's (libcos) as it reports it.
set -euo pipefail
BUILD=${1:-build}
MIB=${BENCH_MIB:-1024}
PART=${PART_MIB:-8}
WRITERS=${WRITERS:-4}
RUNS=${RUNS:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/cos-durable-XXXXXX")
SP= SP2=
trap '[ -n "$SP" ] && kill $SP 2>/dev/null || true; [ -n "$SP2" ] && kill $SP2 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
"$BUILD/cos-server" --root "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" --quiet ${SERVER_ARGS:-} >/dev/null 2>&1 & SP=$!
for _ in $(seq 1 200); do [ -s "$W/port" ] && break; sleep 0.05; done
EP="127.0.0.1:$(cat "$W/port")"
if [ -n "${OLD_SERVER:-}" ]; then
  "$OLD_SERVER" --root "$W/old" --listen 127.0.0.1:0 --port-file "$W/port2" --quiet >/dev/null 2>&1 & SP2=$!
  for _ in $(seq 1 200); do [ -s "$W/port2" ] && break; sleep 0.05; done
  EP2="127.0.0.1:$(cat "$W/port2")"
  COS_ENDPOINT=$EP2 COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000 \
    "$BUILD/cos" mb "cos://bench-1250000000" >/dev/null
fi
export COS_ENDPOINT=$EP COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
BUCKET=bench-1250000000
HOSTH="$BUCKET.cos.ap-guangzhou.myqcloud.com"
"$BUILD/cos" mb "cos://$BUCKET" >/dev/null
head -c $((MIB * 1048576)) /dev/urandom > "$W/file"
sign() { "$BUILD/cos" sign --secret-id "$COS_SECRET_ID" --secret-key "$COS_SECRET_KEY" --method "$1" --key "$2" --header "Host: $HOSTH"; }
cpu_of() { awk '{ print $14 + $15 }' "/proc/${1:-$SP}/stat"; }  # a server's CPU in clock ticks
HZ=$(getconf CLK_TCK)
: > "$W/raw"
echo "durable uploads: $MIB MiB, $PART MiB parts, $WRITERS in flight, $RUNS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for run in $(seq 1 "$RUNS"); do
  sync
  read -r d _ < <("$BUILD/bench/bench_disk" "$W/data/plain" "$MIB" "$PART" "$WRITERS")
  sync
  curl_put() { # endpoint: MB/s of one PUT of the whole file
    local t0 t1
    t0=$(date +%s.%N)
    curl -sf --connect-to "::$1" -T "$W/file" -H "Authorization: $(sign put curl.bin)" "http://$HOSTH/curl.bin" >/dev/null
    t1=$(date +%s.%N)
    echo "$MIB * 1048576 / ($t1 - $t0) / 1000000" | bc -l
  }
  o=0 ocpu=0 occpu=0 oc=0
  run_old() {
    o0=$(cpu_of "$SP2")
    read -r o _ _ _ _ occpu _ < <("$BUILD/bench/bench_transfer" up "$EP2" $BUCKET up.bin "$W/file" "$PART" "$WRITERS")
    ocpu=$(echo "($(cpu_of "$SP2") - $o0) / $HZ * 1024 / $MIB" | bc -l)
    occpu=$(echo "$occpu * 1024 / $MIB" | bc -l)
    sync
    oc=$(curl_put "$EP2")
    sync
  }
  # old and new take turns going first (the disk's writeback of the round before may linger)
  if [ -n "${OLD_SERVER:-}" ] && [ $((run % 2)) = 1 ]; then run_old; fi
  c0=$(cpu_of)
  read -r u _ _ _ _ ccpu _ < <("$BUILD/bench/bench_transfer" up "$EP" $BUCKET up.bin "$W/file" "$PART" "$WRITERS")
  c1=$(cpu_of)
  ccpu=$(echo "$ccpu * 1024 / $MIB" | bc -l)
  sync
  c=$(curl_put "$EP")
  sync
  if [ -n "${OLD_SERVER:-}" ] && [ $((run % 2)) = 0 ]; then run_old; fi
  scpu=$(echo "($c1 - $c0) / $HZ * 1024 / $MIB" | bc -l)
  olds=
  [ -n "${OLD_SERVER:-}" ] && olds=$(printf '  old server: upload %.0f MB/s (ratio %.2f, CPU server %.2f client %.2f) curl %.0f MB/s' \
    "$o" "$(echo "$o / $d" | bc -l)" "$ocpu" "$occpu" "$oc")
  printf 'round %d: disk %.0f MB/s  upload %.0f MB/s (ratio %.2f, CPU s/GiB server %.2f client %.2f)  curl PUT %.0f MB/s%s  load %s\n' \
    "$run" "$d" "$u" "$(echo "$u / $d" | bc -l)" "$scpu" "$ccpu" "$c" "$olds" "$(cut -d' ' -f1 /proc/loadavg)" >&2
  echo "$d $u $c $scpu $o $ocpu $ccpu $occpu $oc" >> "$W/raw"
done
# One upload to the server pid $1 at $2 with every thread traced: per part, the system calls,
# the fsyncs (fsync + fdatasync), and the fsyncs made by the threads that answer (on the path
# to an answer; the others are made meanwhile: directories, checkpoints).
syscalls_per_part() {
  local out="$W/strace.$1" log="$W/strace.$1.log" st
  strace -f -o "$out" -s 16 -p "$1" 2>"$log" & st=$!
  for _ in $(seq 1 200); do grep -q attached "$log" 2>/dev/null && break; sleep 0.05; done
  "$BUILD/bench/bench_transfer" up "$2" $BUCKET sys.bin "$W/file" "$PART" "$WRITERS" >/dev/null
  kill -INT "$st"; wait "$st" 2>/dev/null || true
  awk -v parts=$(((MIB + PART - 1) / PART)) '
    / resumed>/ || $2 ~ /^(\+\+\+|---)$/ { next }  # a call is counted where it starts
    { calls++ }
    $2 ~ /^f(data)?sync\(/ { syncs++; by[$1]++ }
    /"HTTP\/1\.1 [0-9]/ { answers[$1] = 1 }
    END { for (t in by) if (t in answers) path += by[t]
          printf "%.0f %.2f %.2f\n", calls / parts, syncs / parts, path / parts }' "$out"
}
if [ -n "${SYSCALLS:-}" ]; then
  read -r sc sf sp < <(syscalls_per_part "$SP" "$EP")
  printf 'per %s MiB part (strace -f, one upload): %s system calls, %s fsyncs, %s on the answering threads' "$PART" "$sc" "$sf" "$sp" >&2
  if [ -n "${OLD_SERVER:-}" ]; then
    read -r oc of op < <(syscalls_per_part "$SP2" "$EP2")
    printf '; old server %s, %s, %s' "$oc" "$of" "$op" >&2
  fi
  echo >&2
fi
med() { awk -v k="$1" '{ print $k }' "$W/raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratios=$(awk '{ print $2 / $1 }' "$W/raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf 'disk (plain writer, fsync file + dir) %.0f MB/s; durable upload %.0f MB/s; curl single PUT %.0f MB/s; CPU s/GiB server %.2f client %.2f\n' \
  "$(med 1)" "$(med 2)" "$(med 3)" "$(med 4)" "$(med 7)"
printf 'upload / disk: median of per-round ratios %.2f (target >= 0.80)\n' "$ratios"
if [ -n "${OLD_SERVER:-}" ]; then
  printf 'old server: upload %.0f MB/s, CPU s/GiB server %.2f client %.2f, upload / disk %.2f; curl single PUT %.0f MB/s\n' "$(med 5)" "$(med 6)" "$(med 8)" \
    "$(awk '{ print $5 / $1 }' "$W/raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" "$(med 9)"
  printf 'new / old, median of per-round ratios: upload %.2f, curl %.2f, server CPU %.2f\n' \
    "$(awk '{ print $2 / $5 }' "$W/raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
    "$(awk '{ print $3 / $9 }' "$W/raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
    "$(awk '{ print $4 / $6 }' "$W/raw" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
fi
