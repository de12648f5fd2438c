# CMake toolchain file: cross-compile cos-c for Debian s390x (s390x-linux-gnu) on a Debian
# amd64 host, with Debian's cross compiler (gcc-s390x-linux-gnu) and the s390x -dev packages
# that scripts/install-cross-deps.sh s390x unpacks into a sysroot
# (COS_CROSS_ROOT, default /var/cache/cos-cross/s390x). Programs and ctest run
# under qemu-s390x (qemu-user).
#   bash scripts/install-cross-deps.sh s390x
#   cmake -S . -B build-s390x -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-s390x-linux-gnu.cmake
#   cmake --build build-s390x && (cd build-s390x && ctest)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(COS_CROSS_TRIPLET s390x-linux-gnu)
set(COS_CROSS_ARCH s390x)
set(COS_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
