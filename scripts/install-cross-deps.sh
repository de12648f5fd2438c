#!/usr/bin/env bash
# Install what `make cross-test` needs on a Debian 12 amd64 host, by package
# name: Debian's cross compilers (gcc-<triplet>, which bring the target's C
# library under /usr/<triplet>), qemu-user to run the results, and the
# target's -dev packages (libcurl, OpenSSL, expat, SQLite, and ISA-L where
# Debian builds it) taken from the :ARCH archives that
# `dpkg --add-architecture` enables.
#
# The :ARCH packages are unpacked into a sysroot per architecture
# (COS_CROSS_ROOT/ARCH, default /var/cache/cos-cross/ARCH) instead of being
# installed into / beside the host's: Multi-Arch: same forces every
# architecture of a library to the very same version, so one security update
# published for amd64 before armhf (or a -dev package such as libisal-dev
# that is not co-installable at all) would make the install impossible and
# would up- or downgrade the host's own libraries. The sysroot leaves the
# host untouched. Idempotent: a sysroot already made for the same package
# versions is kept.
#   usage: install-cross-deps.sh [ARCH...]   (default: arm64 armhf s390x)
set -euo pipefail
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(arm64 armhf s390x)
ROOT=${COS_CROSS_ROOT:-/var/cache/cos-cross}

triplet() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
    s390x) echo s390x-linux-gnu ;;
    *) echo "install-cross-deps: unknown architecture '$1' (arm64, armhf, s390x)" >&2; exit 2 ;;
  esac
}

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

# A mirror caught mid-sync fails one index now and then: try again, then go
# on with what we have and let the install say what is really missing.
apt_update() {
  for try in 1 2 3; do
    "${APT[@]}" update -qq && return 0
    echo "apt-get update failed (try $try)" >&2; sleep 5
  done
  return 0
}

need_update=0
for a in "${ARCHES[@]}"; do
  triplet "$a" >/dev/null
  if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
    dpkg --add-architecture "$a"; need_update=1
  fi
done

HOST_PKGS=(qemu-user)
for a in "${ARCHES[@]}"; do HOST_PKGS+=("gcc-$(triplet "$a")" "libc6-dev-$a-cross"); done
missing=()
for p in "${HOST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
  apt_update; need_update=0
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi

# What the cross compiler's own C library (/usr/TRIPLET) already provides.
SKIP='^(libc6|libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt1|libcrypt-dev|libgcc-s1|gcc-12-base|libnsl2|libnsl-dev|libtirpc3|libtirpc-dev|libtirpc-common|rpcsvc-proto)$'

for a in "${ARCHES[@]}"; do
  t=$(triplet "$a")
  DEV=("libcurl4-openssl-dev:$a" "libssl-dev:$a" "libexpat1-dev:$a" "libsqlite3-dev:$a")
  # ISA-L only where it has an accelerated CRC-64 (arm64's PMULL); on armhf
  # and s390x Debian's build is byte-at-a-time C and libcos uses its own
  # slicing-by-8 table instead (see CMakeLists.txt).
  [ "$a" = arm64 ] && DEV+=("libisal-dev:$a")
  mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances "${DEV[@]}" 2>/dev/null |
    grep -E "^[a-z0-9][^ ]*:$a\$" | sed "s/:$a\$//" | grep -Ev "$SKIP" | sort -u)
  if [ ${#pkgs[@]} -eq 0 ] && [ $need_update = 0 ]; then apt_update; need_update=1; fi
  [ ${#pkgs[@]} -gt 0 ] || mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
      --no-conflicts --no-breaks --no-replaces --no-enhances "${DEV[@]}" 2>/dev/null |
    grep -E "^[a-z0-9][^ ]*:$a\$" | sed "s/:$a\$//" | grep -Ev "$SKIP" | sort -u)
  [ ${#pkgs[@]} -gt 0 ] || { echo "install-cross-deps: no $a packages known to apt" >&2; exit 1; }
  # The files (names carry versions) apt would take now: the sysroot is
  # remade when they change.
  stamp=$("${APT[@]}" download --print-uris -qq "${pkgs[@]/%/:$a}" | awk '{print $2}' | sort)
  dest="$ROOT/$a"
  if [ -f "$dest/.packages" ] && [ "$(cat "$dest/.packages")" = "$stamp" ]; then
    echo "cross sysroot $dest: up to date (${#pkgs[@]} packages)"; continue
  fi
  echo "cross sysroot $dest: ${#pkgs[@]} $a packages"
  dl=$(mktemp -d); chmod 755 "$dl"; chown _apt "$dl" 2>/dev/null || true
  (cd "$dl" && "${APT[@]}" download -qq "${pkgs[@]/%/:$a}")
  rm -rf "$dest.new"; mkdir -p "$dest.new"
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$dest.new"; done
  rm -rf "$dl"
  # Debian's usr-merge: /lib/TRIPLET and /usr/lib/TRIPLET are one directory.
  if [ -d "$dest.new/lib/$t" ]; then
    mkdir -p "$dest.new/usr/lib/$t"; cp -a "$dest.new/lib/$t/." "$dest.new/usr/lib/$t/"; rm -rf "$dest.new/lib"
  fi
  # Absolute symlinks (libfoo.so -> /lib/...) must point inside the sysroot.
  find "$dest.new" -type l | while read -r l; do
    target=$(readlink "$l")
    case "$target" in
      /lib/*) ln -sfn "$dest/usr$target" "$l" ;;
      /*) ln -sfn "$dest$target" "$l" ;;
    esac
  done
  echo "$stamp" > "$dest.new/.packages"
  rm -rf "$dest"; mv "$dest.new" "$dest"
done
