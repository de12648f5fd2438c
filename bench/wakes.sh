#!/usr/bin/env bash
# bench/wakes.sh — who wakes whom in libcos's async path: bench_ops runs one
# kind of request (4 KiB, INFLIGHT async calls at a time) against its own
# cos-server under `perf record` of the scheduler's switch and wake-up
# events; printed per request: each client thread's sleeps (S), preemptions
# (R) and the wake-ups between the client's threads (network thread, workers,
# the submitting thread), and where the sleeps happened that were not in a
# wait for work (a network thread asleep in pthread_cond_signal was the
# pool's condition variable, fixed in the twelfth session).
#
#   bench/wakes.sh BENCH_OPS [put|get|head|delete] [N] [INFLIGHT]
#     env: SERVER (build/cos-server), COS (build/cos: makes the bucket)
# Threads are named by their first role seen: T0 is the submitting thread;
# the others in creation order (network threads first, then workers).
# Counts, not times: meaningful on a loaded machine too; print the load.
set -euo pipefail
BIN=$1 KIND=${2:-put} N=${3:-2000} INFLIGHT=${4:-16}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SERVER=${SERVER:-$HERE/build/cos-server} COS=${COS:-$HERE/build/cos}
. "$(dirname "$0")/lib.sh"
bench_start wakes "$SERVER"
COS_ENDPOINT=$EP "$COS" mb "cos://$BUCKET" >/dev/null
echo "load at start: $(uptime | sed 's/.*load average: //')"
perf record -q -g -o "$W/perf.data" -e sched:sched_switch,sched:sched_wakeup -- \
  "$BIN" one "$EP" "$BUCKET" "$N" "$INFLIGHT" "$KIND" async | grep -E "_(ops_s|ctxsw)"
COMM=$(basename "$BIN" | cut -c1-15)
perf script -i "$W/perf.data" 2>/dev/null | awk -v comm="$COMM" -v n="$N" '
  function name(t) { if (!(t in id)) id[t] = "T" nid++; return id[t] }
  /sched:sched_(wakeup|switch):/ { ev = $0; head = 1; next_is_frame = 1
    if ($1 == comm) name($2) }
  /sched:sched_wakeup:/ { match(ev, /comm=[^ ]+/); tc = substr(ev, RSTART + 5, RLENGTH - 5)
    match(ev, / pid=[0-9]+/); t = substr(ev, RSTART + 5, RLENGTH - 5)
    if ($1 == comm && tc == comm) wk[name($2) " -> " name(t)]++; sw_pending = 0; next }
  /sched:sched_switch:/ { sw_pending = 0; if ($1 != comm) next
    match(ev, /prev_state=[A-Z+]+/); st = substr(ev, RSTART + 11, RLENGTH - 11)
    s[name($2) " " st]++; if (st == "S") { sw_pending = 1; who = name($2) } next }
  sw_pending && NF >= 2 && $2 ~ /pthread_cond_signal|pthread_mutex_lock|__lll_lock_wait/ {
    sub(/\+0x[0-9a-f]+$/, "", $2); where[who " asleep in " $2]++; sw_pending = 0 }
  END {
    for (k in s) printf "%-28s %8.3f per request\n", k, s[k] / n
    for (k in wk) printf "wake %-23s %8.3f per request\n", k, wk[k] / n
    for (k in where) printf "%-28s %8.3f per request\n", k, where[k] / n
  }' | sort
echo "load at end: $(uptime | sed 's/.*load average: //')"
