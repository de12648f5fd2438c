#!/usr/bin/env bash
# `make deb-test`: the .debs of `make deb` on a Debian 12 that has never seen
# this project. A scratch root (debootstrap --variant=minbase bookworm, kept
# in COS_DEB_BASE as a tarball so later runs skip the download) gets
# `apt-get install ./*.deb`; then, with no systemd running, the test starts
# what the installed unit names (its ExecStart, as its User, with its
# EnvironmentFile), drives the installed `cos` against it, and checks what
# the packages promised: the system user, the data under /var/lib, the
# generated key readable by that user only, the -dev files.
#   usage: deb-test.sh [DEB_DIR]      (default build/deb)
set -euo pipefail
cd "$(dirname "$0")/.."
DEBS=$(realpath "${1:-build/deb}")
BASE=${COS_DEB_BASE:-/var/cache/cos-cross/bookworm-minbase.tar}
MIRROR=${COS_DEB_MIRROR:-http://deb.debian.org/debian}
ls "$DEBS"/*.deb >/dev/null 2>&1 || { echo "deb-test: no .deb in $DEBS (make deb)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap; }

R=$(mktemp -d "${TMPDIR:-/tmp}/cos-deb-root-XXXXXX")
SP=
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
  umount "$R/proc" 2>/dev/null || true
  rm -rf "$R"
}
trap cleanup EXIT
if [ ! -s "$BASE" ]; then
  echo "deb-test: debootstrap bookworm (minbase) from $MIRROR"
  mkdir -p "$(dirname "$BASE")"
  debootstrap --variant=minbase bookworm "$R" "$MIRROR" > "$R.debootstrap.log" 2>&1 || {
    tail -20 "$R.debootstrap.log"; exit 1; }
  rm -f "$R.debootstrap.log"
  tar -C "$R" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
else
  tar -C "$R" -xf "$BASE"
fi
chmod 755 "$R"   # mktemp made it 0700: the service's user must get through /
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc" 2>/dev/null || true
mkdir -p "$R/tmp/debs"
cp "$DEBS"/*.deb "$R/tmp/debs/"
rm -f "$R"/tmp/debs/*-dbgsym_*.deb
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
pass=0
ok() { echo "ok $*"; pass=$((pass + 1)); }

echo "deb-test: apt-get install ./*.deb in a scratch bookworm root"
in_root sh -c 'apt-get update -qq && cd /tmp/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./*.deb' \
  > "$DEBS/deb-test-install.log" 2>&1 || { tail -30 "$DEBS/deb-test-install.log"; fail "apt-get install"; }
ok "apt-get install ./*.deb"
for p in libcos1 libcos-dev cos cos-server; do
  in_root dpkg-query -W -f='${Status}' "$p" | grep -q "install ok installed" || fail "$p not installed"
done
ok "libcos1, libcos-dev, cos, cos-server installed"

# What the -dev package promises.
for f in /usr/include/cos/cos.h /usr/lib/x86_64-linux-gnu/libcos.a /usr/lib/x86_64-linux-gnu/libcos.so \
         /usr/lib/x86_64-linux-gnu/pkgconfig/cos.pc /usr/lib/x86_64-linux-gnu/cmake/cos/cosConfig.cmake; do
  f=${f//x86_64-linux-gnu/$(dpkg-architecture -qDEB_HOST_MULTIARCH)}
  [ -e "$R$f" ] || fail "missing $f"
done
ok "libcos-dev: headers, libcos.a, libcos.so, cos.pc, cosConfig.cmake"

# The system user, the data directory, the key.
in_root getent passwd cos-server > /dev/null || fail "no cos-server user"
# (numeric ids: the names are the scratch root's, not this machine's)
uid=$(in_root id -u cos-server)
gid=$(in_root id -g cos-server)
[ "$uid" -lt 1000 ] || fail "cos-server is not a system user (uid $uid)"
[ "$(stat -c %u "$R/var/lib/cos-server")" = "$uid" ] || fail "/var/lib/cos-server not owned by cos-server"
envf=$R/etc/cos-server/cos-server.env
[ "$(stat -c '%a %u %g' "$envf")" = "640 0 $gid" ] || fail "key file mode: $(stat -c '%a %u %g' "$envf")"
grep -q '^COS_SERVER_SECRET_KEY=[A-Za-z0-9]\{32\}$' "$envf" || fail "no generated key"
grep -q cosLOCALdevelopment "$envf" && fail "the development key was installed"
ok "system user cos-server (uid $uid), /var/lib/cos-server, key file 0640 root:cos-server"

# The unit, as systemd would run it (no systemd here): its ExecStart, as its
# User, with its EnvironmentFile. The test only adds a free port and a port file.
unit=$R/lib/systemd/system/cos-server.service
[ -f "$unit" ] || fail "no unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
env_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
[ -n "$exec_start" ] && [ -n "$user" ] && [ -n "$env_file" ] || fail "unit lacks ExecStart/User/EnvironmentFile"
set -a; . "$R$env_file"; set +a
chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin COS_SERVER_LISTEN=127.0.0.1:0 \
  COS_SERVER_SECRET_ID="$COS_SERVER_SECRET_ID" COS_SERVER_SECRET_KEY="$COS_SERVER_SECRET_KEY" \
  COS_SERVER_APPID="$COS_SERVER_APPID" \
  setpriv --reuid="$user" --regid="$user" --init-groups $exec_start --port-file /var/lib/cos-server/port \
  > "$DEBS/deb-test-server.log" 2>&1 & SP=$!
for _ in $(seq 1 200); do [ -s "$R/var/lib/cos-server/port" ] && break; sleep 0.05; done
[ -s "$R/var/lib/cos-server/port" ] || { cat "$DEBS/deb-test-server.log"; fail "the service did not start"; }
port=$(cat "$R/var/lib/cos-server/port")
[ "$(ps -o uid= -p "$SP" | tr -d ' ')" = "$uid" ] || fail "the service does not run as $user"
ok "service started as $user: $exec_start (port $port)"

cos() {
  chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root COS_ENDPOINT=127.0.0.1:$port \
    COS_SECRET_ID="$COS_SERVER_SECRET_ID" COS_SECRET_KEY="$COS_SERVER_SECRET_KEY" cos "$@"
}
B=debtest-$COS_SERVER_APPID
head -c 9000005 /dev/urandom > "$R/tmp/in.bin"
cos mb "cos://$B" > /dev/null || fail "cos mb"
cos cp /tmp/in.bin "cos://$B/in.bin" > /dev/null || fail "cos cp upload"
cos ls "cos://$B" | grep -q in.bin || fail "cos ls"
cos cp "cos://$B/in.bin" /tmp/out.bin > /dev/null || fail "cos cp download"
cmp "$R/tmp/in.bin" "$R/tmp/out.bin" || fail "downloaded bytes differ"
ok "installed cos: mb, cp up, ls, cp down, byte-exact"
# A wrong key is refused by the installed service.
if chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root COS_ENDPOINT=127.0.0.1:$port \
     COS_SECRET_ID=AKIDcosLOCALdevelopment0000000000000 COS_SECRET_KEY=cosLOCALdevelopmentSECRETkey00000 \
     cos ls "cos://$B" > /dev/null 2>&1; then
  fail "the development key was accepted"
fi
ok "the development key is refused"
# The objects live in the data directory, owned by the service's user.
[ -n "$(find "$R/var/lib/cos-server" -type f -uid "$uid" -print -quit)" ] || fail "no data in /var/lib/cos-server"
[ -z "$(find "$R/var/lib/cos-server" ! -uid "$uid" -print -quit)" ] || fail "files in /var/lib/cos-server not owned by $user"
ok "data in /var/lib/cos-server, owned by $user"
echo "$pass passed, 0 failed"
