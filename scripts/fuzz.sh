#!/usr/bin/env bash
# Build the libFuzzer targets with clang and run each for FUZZ_SECONDS (default 20)
# on a copy of its seed corpus. A crash stops the run with the reproducer saved in
# build-fuzz/crashes/; turn it into a regression test (a seed in fuzz/corpus/).
# Long run: FUZZ_SECONDS=3600 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-20}
cmake -S . -B "$B" -DCOS_FUZZ=ON -DCOS_BUILD_TESTS=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$B" -j "$(nproc)" --target $(cd fuzz && ls fuzz_*.c | sed 's/\.c$//') >/dev/null
mkdir -p "$B/crashes"
total=0
for bin in "$B"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); area=${name#fuzz_}
  work="$B/corpus-$area"; mkdir -p "$work"; cp -n fuzz/corpus/"$area"/* "$work"/ 2>/dev/null || true
  out=$("$bin" "$work" -max_total_time="$SECS" -max_len=65536 -timeout=5 -artifact_prefix="$B/crashes/$name-" 2>&1) || {
    echo "$out" | tail -30; echo "FUZZ CRASH in $name"; exit 1; }
  runs=$(echo "$out" | grep -o 'Done [0-9]* runs' | grep -o '[0-9]*' || echo 0)
  echo "$name: $runs executions in ${SECS}s, no crash"
  total=$((total + runs))
done
echo "fuzzing: $total executions in all"
