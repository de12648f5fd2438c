#!/usr/bin/env bash
# bench/stages.sh — where a workload's requests in flight wait, from system
# call tracepoints on both sides (perf record), and how the server spread the
# client's connections over its threads. Each round starts a new client (new
# connections), for each MODE in turn: async (INFLIGHT cos_call_async at a
# time) and threads (INFLIGHT threads of synchronous calls), 4 KiB requests.
#
#   bench/stages.sh BENCH_OPS [put|get] [N] [INFLIGHT] [ROUNDS]
#     env: SERVER (build/cos-server), COS (build/cos: makes the bucket),
#          MODES ("async threads")
# Printed per run: op/s; the server thread that accepted each connection
# ("conns/thread": the sorted counts, e.g. "12 4" = 12 of 16 connections on
# one thread); fdatasyncs per request; and, averaged over the middle of the
# run (Little's law: time-averaged counts of requests between two events),
# how many requests were
#   to_srv   sent by the client, not yet read by the server (in a socket, or
#            waiting for the server thread that owns the connection)
#   in_srv   read by the server, not yet answered (its work, its durable wait)
#   to_cli   answered, not yet read by the client
#   in_cli   the rest of INFLIGHT: in the client between an answer and the
#            next request's send (completion, callback, the next submission)
# Per connection, a request starts with its first send (received: its first
# receive) and its answer with the first send back, so it holds for small
# requests whose request goes out whole before the answer (the counts seen
# per request are printed: they should be 1.00). With a thread per
# connection, one thread accepts them all.
# Why: the twelfth session's async PUT at 0.68x of 16 synchronous threads
# came from the server, not the client: libcos's network thread opens its
# connections in one burst, libmicrohttpd's pool accepts up to ten at a time
# on whichever thread wakes first, and a PUT's durable wait holds its thread,
# so the requests of the other connections on it waited unread (RESULTS.md).
set -euo pipefail
BIN=$1 OP=${2:-put} N=${3:-2000} INFLIGHT=${4:-16} ROUNDS=${5:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SERVER=${SERVER:-$HERE/build/cos-server} COS=${COS:-$HERE/build/cos}
MODES=${MODES:-async threads}
. "$(dirname "$0")/lib.sh"
bench_start stages "$SERVER"
COS_ENDPOINT=$EP "$COS" mb "cos://$BUCKET" >/dev/null
perf record -q -o "$W/probe.data" -e syscalls:sys_enter_sendto -- true >/dev/null 2>&1 ||
  { echo "stages.sh: perf cannot record syscall tracepoints here" >&2; exit 1; }
[ "$OP" = put ] || "$BIN" one "$EP" "$BUCKET" "$N" "$INFLIGHT" put async >/dev/null # (keys for get)
echo "load at start: $(uptime | sed 's/.*load average: //')"
# a request's first send, and its answer's: sendto (libcos), or writev,
# sendmsg, sendfile (the server's GET); counted per descriptor, so a file
# write is not an answer and a body sent in two calls is one
CIO=syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto
SIO=$CIO,syscalls:sys_enter_writev,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendfile64,syscalls:sys_enter_write
one() { # MODE
  local async=()
  [ "$1" = async ] && async=(async)
  perf record -q -o "$W/srv.data" -e "$SIO,syscalls:sys_exit_accept4,syscalls:sys_enter_fdatasync" -p "$SP" 2>/dev/null &
  local pp=$!
  # perf writes its header once it has opened the server's events (it
  # enables them just after: "of N seen" says if it missed a connection)
  for _ in $(seq 1 200); do [ -s "$W/srv.data" ] && break; sleep 0.05; done
  perf record -q -o "$W/cli.data" -e "$CIO" -- "$BIN" one "$EP" "$BUCKET" "$N" "$INFLIGHT" "$OP" "${async[@]}" > "$W/out" 2>/dev/null
  kill -INT "$pp"
  wait "$pp" || true
  # -> "time side tid event fd-or-return"
  { perf script -i "$W/srv.data" -F tid,time,event,trace 2>/dev/null | sed 's/^/S /'
    perf script -i "$W/cli.data" -F tid,time,event,trace 2>/dev/null | sed 's/^/C /'; } |
    awk '{ t = $3; sub(/:$/, "", t); e = $4; sub(/^syscalls:sys_/, "", e); sub(/:$/, "", e)
           v = $NF; if ($5 ~ /fd:$/) { v = $6; sub(/,$/, "", v) }
           print t, $1, $2, e, v }' |
    sort -k1,1g | awk -v n="$N" -v inflight="$INFLIGHT" -v mode="$1" -v ops="$(awk '/_ops_s/ { print $2 }' "$W/out")" '
      { t[NR] = $1; side[NR] = $2; tid[NR] = $3; ev[NR] = $4; v[NR] = $5
        if ($2 == "C" && $4 == "enter_sendto") sends[++ns] = $1 }
      END {
        t0 = sends[int(ns / 10) + 1]; t1 = sends[ns - int(ns / 10)] # the middle of the run
        for (i = 1; i <= NR; i++) {
          if (t[i] >= t0 && t[i] <= t1 && pt) {
            dt = t[i] - (pt > t0 ? pt : t0)
            a1 += dt * (cs - sr); a2 += dt * (sr - ss); a3 += dt * (ss - cr)
          }
          pt = t[i]
          k = side[i] " " ev[i]; fd = side[i] v[i]
          if (k == "C enter_sendto") { if (!out[fd]) { cs++; out[fd] = 1 } }
          else if (k == "C enter_recvfrom") { if (out[fd]) { cr++; out[fd] = 0 } }
          else if (k == "S enter_recvfrom") { if (!open[fd]) { sr++; open[fd] = 1 } }
          else if (k == "S enter_fdatasync") fsyncs++
          else if (k == "S exit_accept4") { if (v[i] !~ /^0xf/) per[tid[i]]++ }
          else if (side[i] == "S" && open[fd]) { ss++; open[fd] = 0 } # the first of an answer
        }
        T = t1 - t0; c = ""
        for (x in per) { c = c " " per[x]; nacc += per[x] }
        cmd = "echo" c " | tr \" \" \"\\n\" | sort -rn | tr \"\\n\" \" \""; cmd | getline c; close(cmd)
        printf "%-7s op/s %8s  conns/thread [%s] of %d seen  fdatasync/req %.2f  to_srv %5.2f in_srv %5.2f to_cli %5.2f in_cli %5.2f  (requests seen per request sent: %.2f %.2f %.2f %.2f)\n",
          mode, ops, c, nacc, fsyncs / n, a1 / T, a2 / T, a3 / T, inflight - (a1 + a2 + a3) / T, cs / n, sr / n, ss / n, cr / n
      }'
}
for _ in $(seq 1 "$ROUNDS"); do
  for m in $MODES; do one "$m"; done
done
echo "load at end: $(uptime | sed 's/.*load average: //')"
