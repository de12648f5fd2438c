#!/usr/bin/env bash
# `make deb`: Debian packages of this tree (libcos1, libcos-dev, cos,
# cos-server) for the host architecture, built by dpkg-buildpackage and
# debhelper from a copy of the tree in OUT/src (the .debs land in OUT,
# default build/deb), then checked by lintian: any error fails.
#   usage: build-deb.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-build/deb}")
TOOLS=(debhelper dpkg-dev lintian fakeroot)
missing=()
for p in "${TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq || true
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

rm -rf "$OUT"; mkdir -p "$OUT/src"
# The tree as it is (committed or not), without build directories.
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$OUT/src"
cd "$OUT/src"
# -b: binary packages only; -us -uc: unsigned; build dependencies checked.
dpkg-buildpackage -b -us -uc -j"$(nproc)" > "$OUT/build.log" 2>&1 || {
  tail -40 "$OUT/build.log"; echo "dpkg-buildpackage failed; log: $OUT/build.log" >&2; exit 1; }
cd "$OUT"
rm -rf src
ls -l ./*.deb
# Errors fail the build; warnings are printed for the reader.
lintian --fail-on error --tag-display-limit 0 ./*.changes | tee lintian.txt
