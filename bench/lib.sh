# Sourced by the bench scripts: one cos-server in a temp dir on a free loopback
# port, stopped and removed at exit. bench_start NAME SERVER [server args...]
# sets W (the temp dir), SP (the server's pid), EP (host:port), BUCKET (unless
# set) and exports the local development credentials and COS_ENDPOINT.
bench_start() {
  local name=$1 server=$2
  shift 2
  W=$(mktemp -d "${TMPDIR:-/tmp}/cos-$name-XXXXXX")
  SP=
  # (|| true: under set -e a failed kill of a server already stopped would make the exit status 1)
  trap '[ -n "$SP" ] && kill $SP 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
  "$server" --root "$W/data" --listen 127.0.0.1:0 --port-file "$W/port" --quiet "$@" >/dev/null 2>&1 & SP=$!
  # until it listens; 60 s only bounds a server that never does (tests/test_bench_scale.sh runs this under ASan)
  for _ in $(seq 1 2400); do [ -s "$W/port" ] && break; kill -0 $SP 2>/dev/null || break; sleep 0.025; done
  EP="127.0.0.1:$(cat "$W/port")"
  BUCKET=${BUCKET:-bench-1250000000}
  export COS_ENDPOINT=$EP COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000
}
