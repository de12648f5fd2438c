#!/usr/bin/env bash
# Build the libFuzzer targets with clang and run each for FUZZ_SECONDS (default 20)
# on a copy of its seed corpus (fuzz/corpus/AREA/ for fuzz_AREA; every seed is
# replayed first, so a kept crash is a regression test). A crash stops the run
# with the reproducer saved in build-fuzz/crashes/; turn it into a seed.
# Long run: FUZZ_SECONDS=3600 bash scripts/fuzz.sh; some targets: FUZZ_ONLY="srv_chunked json".
# The fast in-process targets run thousands of inputs a second; fuzz_server
# (the whole server over loopback) tens: it gets FUZZ_SERVER_SECONDS (default
# FUZZ_SECONDS) so a short pass can share its time across the targets.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-20}
SERVER_SECS=${FUZZ_SERVER_SECONDS:-$SECS}
targets=$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')
if [ -n "${FUZZ_ONLY:-}" ]; then targets=$(for a in $FUZZ_ONLY; do echo "fuzz_$a"; done); fi
cmake -S . -B "$B" -DCOS_FUZZ=ON -DCOS_BUILD_TESTS=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$B" -j "$(nproc)" --target $targets >/dev/null
mkdir -p "$B/crashes"
total=0
for name in $targets; do
  bin="$B/fuzz/$name"
  [ -x "$bin" ] || continue
  area=${name#fuzz_}
  secs=$SECS; [ "$name" = fuzz_server ] && secs=$SERVER_SECS
  # the CLI's targets print a usage error per input: the target's stderr is
  # closed (libFuzzer and the sanitizers still report on their own descriptor)
  extra=(); case $name in fuzz_cli_*|fuzz_srv_options) extra=(-close_fd_mask=2) ;; esac
  work="$B/corpus-$area"; mkdir -p "$work"; cp -n fuzz/corpus/"$area"/* "$work"/ 2>/dev/null || true
  out=$("$bin" "$work" -max_total_time="$secs" -max_len=65536 -timeout=5 "${extra[@]}" \
        -artifact_prefix="$B/crashes/$name-" 2>&1) || {
    echo "$out" | tail -30; echo "FUZZ CRASH in $name"; exit 1; }
  runs=$(echo "$out" | grep -o 'Done [0-9]* runs' | grep -o '[0-9]*' || echo 0)
  echo "$name: $runs executions in ${secs}s, no crash"
  total=$((total + runs))
done
echo "fuzzing: $total executions in all"
