#!/usr/bin/env bash
# `make amalgamation`: libcos as two files, cos.h (every public header) and
# cos.c (every internal header and source), for projects that copy the SDK
# into their tree. Checked by compiling cos.c with the project's warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/amalgamation}
mkdir -p "$OUT"
PUB=(common error config client model sign hash transfer sts)
{
  echo "/* cos.h — the public API of libcos $(sed -n 's/.*COS_VERSION_STRING "\(.*\)"/\1/p' include/cos/common.h), amalgamated. */"
  echo "#ifndef COS_AMALGAMATION_H"
  echo "#define COS_AMALGAMATION_H"
  for h in "${PUB[@]}"; do
    echo "/* ---- include/cos/$h.h ---- */"
    grep -v '^#include "cos/' "include/cos/$h.h"
  done
  echo "#endif"
} > "$OUT/cos.h"
INTERNAL=(util json url signer hash_internal xml engine client_internal call s3names checksum)
{
  echo "/* cos.c — libcos amalgamated: compile with -lcurl -lcrypto -lexpat -lpthread. */"
  echo "#define _GNU_SOURCE"
  echo '#include "cos.h"'
  for h in "${INTERNAL[@]}"; do
    echo "/* ---- src/$h.h ---- */"
    grep -v -e '^#include "' -e '^#define _GNU_SOURCE' "src/$h.h"
  done
  for c in src/*.c; do
    echo "/* ---- $c ---- */"
    grep -v -e '^#include "' -e '^#define _GNU_SOURCE' "$c" | sed 's/^#ifdef COS_HAVE_ISAL/#if defined(COS_HAVE_ISAL)/'
  done
} > "$OUT/cos.c"
# static helpers of different files may share a name: fail loudly if they clash
cc -std=c11 -Wall -Wextra -c "$OUT/cos.c" -o "$OUT/cos.o" -I"$OUT"
echo "wrote $OUT/cos.h and $OUT/cos.c ($(wc -l < "$OUT/cos.c") lines); they compile"
