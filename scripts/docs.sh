#!/usr/bin/env bash
# `make docs`: the API reference of include/cos with Doxygen.
#
# Every public function, type, enum value and macro must be documented: any
# Doxygen warning (an undocumented symbol, a bad @param) fails the build and
# is printed. The operations client.h generates from COS_OPERATIONS (the
# cos_op values, cos_NAME and cos_NAME_async) are invisible to Doxygen as
# written, so the preprocessor expands the table here and the reference is
# built from a copy of the headers in which each operation is written out
# with its own documentation (its SDK name, the request input and the result
# member it fills).
#
#   scripts/docs.sh [OUT]          OUT defaults to build/docs
#   COS_DOCS_HEADERS=dir           document another copy of include/cos (tests)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/docs}
HEADERS=${COS_DOCS_HEADERS:-include/cos}
CC=${CC:-cc}
command -v doxygen >/dev/null || { echo "doxygen is needed (apt-get install doxygen)"; exit 1; }
command -v "$CC" >/dev/null || { echo "a C compiler is needed to expand the operation table"; exit 1; }
mkdir -p "$OUT"
GEN="$OUT/headers"
rm -rf "$GEN"
mkdir -p "$GEN/cos"
cp "$HEADERS"/*.h "$GEN/cos/"

# One row per operation, as the compiler sees the table: fn NAME "api" in out
ROWS="$OUT/operations.txt"
printf '#include "cos/client.h"\n#define COS_DOC_ROW_(fn, NAME, api, in, out) COS_DOC_ROW fn NAME api in out\nCOS_OPERATIONS(COS_DOC_ROW_)\n' |
  "$CC" -E -P -I"$GEN" -x c - |
  grep -o 'COS_DOC_ROW [a-z0-9_]* [A-Z0-9_]* "[A-Za-z0-9]*" [a-z_]* [a-z_]*' | sed 's/^COS_DOC_ROW //' > "$ROWS"
NOPS=$(wc -l < "$ROWS")
[ "$NOPS" -gt 0 ] || { echo "docs: no operation found in COS_OPERATIONS"; exit 1; }

# client.h with the two expansions written out and documented.
awk -v rows="$ROWS" '
  BEGIN {
    while ((getline line < rows) > 0) { n++; split(line, f, " "); fn[n] = f[1]; NAME[n] = f[2]; api[n] = f[3]; in_[n] = f[4]; out_[n] = f[5]; gsub(/"/, "", api[n]) }
  }
  # the member -> type map of cos_request.input and cos_result.output
  /^ *(const )?struct cos_[a-z0-9_]+ \*[a-z_]+;/ { t = $0; sub(/^ *(const )?struct /, "", t); m = t; sub(/ .*/, "", t); sub(/.*\*/, "", m); sub(/;.*/, "", m); type[m] = t }
  /^ *COS_OPERATIONS\(COS_OP_ENUM_\)/ {
    for (i = 1; i <= n; i++) printf "    COS_OP_%s, /**< %s: cos_%s(), cos_%s_async() */\n", NAME[i], api[i], fn[i], fn[i]
    next
  }
  /^COS_OPERATIONS\(COS_DECLARE_OP_\)/ {
    for (i = 1; i <= n; i++) {
      input = in_[i] == "none" ? "It sends no XML document (req->input is not read)." : \
              in_[i] == "policy" ? "It sends req->input.policy, the bucket policy as JSON text." : \
              sprintf("It sends req->input.%s (struct %s) as its XML body.", in_[i], type[in_[i]])
      output = out_[i] == "none" ? "the response headers (etag, version_id, location, crc64 ...) and, where there is one, the raw body; output is NULL" : \
               sprintf("output.%s, the parsed struct %s", out_[i], type[out_[i]])
      printf "/**\n * %s (the official SDK'"'"'s `cos.%s`), synchronously: COS_OP_%s.\n", api[i], api[i], NAME[i]
      printf " * %s The other cos_request fields it uses are listed in docs/api-map.md.\n", input
      printf " * @param client the client; any thread may call\n"
      printf " * @param req the request, borrowed for the call; its version must be COS_REQUEST_VERSION\n"
      printf " * @param[out] out on success a new result, the caller'"'"'s to cos_result_free(): %s; NULL on failure (may be NULL to discard)\n", output
      printf " * @param[out] err NULL after a success; the error after a failure (contract in error.h); may be NULL\n"
      printf " * @return 0, or a negative cos_error_kind\n */\n"
      printf "COS_API int cos_%s(cos_client *client, const cos_request *req, cos_result **out, cos_error **err);\n\n", fn[i]
      printf "/**\n * %s, asynchronously: starts cos_%s() and returns at once (COS_OP_%s).\n", api[i], fn[i], NAME[i]
      printf " * @param client the client; any thread may call\n"
      printf " * @param req the request: its strings are copied before this returns; body memory and callbacks must stay valid until `done` runs\n"
      printf " * @param done called exactly once, on a worker thread, with the result (%s) or the error, both its to free; never called if this returns non-zero\n", out_[i] == "none" ? "headers only" : "output." out_[i]
      printf " * @param user_data passed to done\n"
      printf " * @return 0 once started; a negative cos_error_kind if refused up front, described by cos_async_error()\n */\n"
      printf "COS_API int cos_%s_async(cos_client *client, const cos_request *req, cos_done_fn done, void *user_data);\n\n", fn[i]
    }
    next
  }
  { print }
' "$HEADERS/client.h" > "$GEN/cos/client.h"
DECLS=$(grep -c '^COS_API int cos_[a-z0-9_]*(cos_client \*client, const cos_request \*req' "$GEN/cos/client.h" || true)
[ "$DECLS" -eq $((2 * NOPS)) ] || { echo "docs: $DECLS operation declarations written for $NOPS operations"; exit 1; }

WARN="$OUT/warnings.log"
rm -f "$WARN"
( cat docs/Doxyfile
  echo "INPUT = $GEN/cos docs/ownership.md docs/abi.md"
  echo "STRIP_FROM_PATH = $GEN"
  echo "OUTPUT_DIRECTORY = $OUT"
  echo "WARN_LOGFILE = $WARN" ) | doxygen - >/dev/null
if [ -s "$WARN" ]; then
  sed "s|$GEN/||" "$WARN"
  echo "docs: $(wc -l < "$WARN") warning(s): every public symbol needs documentation"
  exit 1
fi
echo "API reference ($NOPS operations, $((2 * NOPS)) functions generated): $OUT/html/index.html"
