#!/usr/bin/env bash
# test_install.sh — the three ways to use libcos from another project:
# make install + pkg-config, find_package(cos), and the single-file amalgamation.
set -u
. "$(dirname "$0")/lib.sh"
SRC=$COS_SOURCE_DIR
PREFIX="$TEST_TMP/prefix"
check "cmake --install" cmake --install "$COS_BUILD_DIR" --prefix "$PREFIX"
check "headers installed" test -f "$PREFIX/include/cos/cos.h"
LIBDIR=$(dirname "$(find "$PREFIX" -name cos.pc | head -1)")/..
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
check "pkg-config knows cos" pkg-config --exists cos
check "a program builds with pkg-config" bash -c "cc ${COS_SANITIZE_FLAGS:-} -std=c11 -Wall -Werror $SRC/examples/readme.c -o $TEST_TMP/pc \$(pkg-config --cflags --libs cos) -Wl,-rpath,$LIBDIR"
check "and runs" bash -c "$TEST_TMP/pc 2>&1 | grep -q usage"
mkdir -p "$TEST_TMP/fp"
cat > "$TEST_TMP/fp/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(user C)
find_package(cos REQUIRED)
add_executable(user $SRC/examples/readme.c)
target_link_libraries(user cos::cos)
target_compile_options(user PRIVATE ${COS_SANITIZE_FLAGS:-})
target_link_options(user PRIVATE ${COS_SANITIZE_FLAGS:-})
CM
check "find_package(cos) configures" cmake -S "$TEST_TMP/fp" -B "$TEST_TMP/fp/b" -DCMAKE_PREFIX_PATH="$PREFIX"
check "and builds" cmake --build "$TEST_TMP/fp/b"
check "amalgamation compiles" bash "$SRC/scripts/amalgamate.sh" "$TEST_TMP/amal"
check "a program links the amalgamation alone" cc ${COS_SANITIZE_FLAGS:-} -std=c11 -I"$TEST_TMP/amal" -DCOS_AMALGAMATED "$TEST_TMP/amal/cos.c" \
  -x c - -o "$TEST_TMP/am" -lcurl -lcrypto -lexpat -lpthread <<'PROG'
#include "cos.h"
#include <stdio.h>
int main(void) { printf("%llu\n", (unsigned long long)cos_crc64(0, "123456789", 9)); return 0; }
PROG
check "the amalgamation computes the check value" bash -c "$TEST_TMP/am | grep -q 11051210869376104954"
start_server
export COS_ENDPOINT
check "the installed library talks to cos-server" bash -c "'$PREFIX/bin/cos' mb cos://examplebucket-1250000000 && head -c 2000000 /dev/urandom > $TEST_TMP/i && $TEST_TMP/pc $TEST_TMP/i $TEST_TMP/o && cmp $TEST_TMP/i $TEST_TMP/o"
finish
