#!/usr/bin/env bash
# test_install.sh — the three ways to use libcos from another project:
# make install + pkg-config (shared and --static), find_package(cos) (cos::cos
# and cos::cos_static), `make install PREFIX=...`, and the single-file amalgamation.
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
# C++ value-initialises and sets the version, which must be exactly
# COS_CONFIG_INIT; and the *_INIT macros themselves build from C++11 on with
# -Wextra -Werror (their designated initializers made g++ -Wextra warn about
# every field left out, C++20 included: a newcomer's C++ program failed)
cat > "$TEST_TMP/zero.cc" <<'CXX'
#include <cos/cos.h>
#include <cstring>
int main() {
    cos_config z{}; z.version = COS_CONFIG_VERSION;
    cos_config i; cos_config_init(&i);
    cos_url_params u{}; u.version = COS_URL_PARAMS_VERSION;
    cos_config m = COS_CONFIG_INIT;
    cos_request r = COS_REQUEST_INIT;
    cos_url_params mu = COS_URL_PARAMS_INIT;
    cos_transfer_params t = COS_TRANSFER_PARAMS_INIT;
    cos_upload_files_params f = COS_UPLOAD_FILES_PARAMS_INIT;
    cos_abort_params a = COS_ABORT_PARAMS_INIT;
    cos_sign_params s = COS_SIGN_PARAMS_INIT;
    cos_sigv4_params v = COS_SIGV4_PARAMS_INIT;
    return std::memcmp(&z, &i, sizeof z) != 0 || u.no_signature || z.tls_insecure || std::memcmp(&m, &i, sizeof m) != 0 ||
           std::memcmp(&mu, &u, sizeof u) != 0 || r.version != COS_REQUEST_VERSION || r.bucket || r.body.size ||
           t.version != COS_TRANSFER_PARAMS_VERSION || t.no_resume || f.version != COS_UPLOAD_FILES_PARAMS_VERSION ||
           a.version != COS_ABORT_PARAMS_VERSION || s.version != COS_SIGN_PARAMS_VERSION ||
           v.version != COS_SIGV4_PARAMS_VERSION;
}
CXX
for std in c++11 c++20; do
  check "a $std program's zeroed config and *_INIT macros (-Wextra -Werror)" bash -c "c++ ${COS_SANITIZE_FLAGS:-} -std=$std -Wall -Wextra -Werror $TEST_TMP/zero.cc -o $TEST_TMP/zero \$(pkg-config --cflags --libs cos) -Wl,-rpath,$LIBDIR && $TEST_TMP/zero"
done
# libcos.a with what cos.pc says a static link adds (Libs.private: ISA-L,
# threads) and its Requires.private (the -dev packages' shared libraries)
check "a static program builds from cos.pc's Libs.private" bash -c "cc ${COS_SANITIZE_FLAGS:-} -std=c11 -Wall -Werror $SRC/examples/readme.c -o $TEST_TMP/pcs \$(pkg-config --cflags cos) $LIBDIR/libcos.a \$(sed -n 's/^Libs.private: //p' $LIBDIR/pkgconfig/cos.pc) \$(pkg-config --libs libcurl libcrypto expat)"
check "and runs without libcos.so" bash -c "! ldd $TEST_TMP/pcs | grep -q libcos && $TEST_TMP/pcs 2>&1 | grep -q usage"
mkdir -p "$TEST_TMP/fps"
cat > "$TEST_TMP/fps/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(user_static C)
find_package(cos REQUIRED)
add_executable(user_static $SRC/examples/readme.c)
target_link_libraries(user_static cos::cos_static)
target_compile_options(user_static PRIVATE ${COS_SANITIZE_FLAGS:-})
target_link_options(user_static PRIVATE ${COS_SANITIZE_FLAGS:-})
CM
check "find_package(cos) offers cos::cos_static with its link interface" cmake -S "$TEST_TMP/fps" -B "$TEST_TMP/fps/b" -DCMAKE_PREFIX_PATH="$PREFIX"
check "and a static program builds" cmake --build "$TEST_TMP/fps/b"
check "that needs no libcos.so" bash -c "! ldd $TEST_TMP/fps/b/user_static | grep -q libcos"
# (under a DESTDIR, so a make that ignored PREFIX could not touch the system)
check "make install PREFIX=... is honoured once the build exists" env DESTDIR="$TEST_TMP/dest" make -s -C "$SRC" install BUILD="$COS_BUILD_DIR" PREFIX="$TEST_TMP/mkprefix" JOBS=1
check "and installed there" test -f "$TEST_TMP/dest$TEST_TMP/mkprefix/include/cos/cos.h"
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
