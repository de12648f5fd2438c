# CMake toolchain file: cross-compile cos-c for Debian arm64 (aarch64-linux-gnu) on a Debian
# amd64 host, with Debian's cross compiler (gcc-aarch64-linux-gnu) and the arm64 -dev packages
# that scripts/install-cross-deps.sh arm64 unpacks into a sysroot
# (COS_CROSS_ROOT, default /var/cache/cos-cross/arm64). Programs and ctest run
# under qemu-aarch64 (qemu-user).
#   bash scripts/install-cross-deps.sh arm64
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
#   cmake --build build-arm64 && (cd build-arm64 && ctest)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(COS_CROSS_TRIPLET aarch64-linux-gnu)
set(COS_CROSS_ARCH arm64)
set(COS_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
