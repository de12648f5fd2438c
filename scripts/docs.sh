#!/usr/bin/env bash
# `make docs`: the API reference from include/cos with Doxygen; any
# undocumented public symbol fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/docs}
mkdir -p "$OUT"
command -v doxygen >/dev/null || { echo "doxygen is needed (apt-get install doxygen)"; exit 1; }
( cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $OUT" ) | doxygen -
echo "API reference: $OUT/html/index.html"
