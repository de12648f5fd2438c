# CMake toolchain file: cross-compile cos-c for Debian armhf (arm-linux-gnueabihf) on a Debian
# amd64 host, with Debian's cross compiler (gcc-arm-linux-gnueabihf) and the armhf -dev packages
# that scripts/install-cross-deps.sh armhf unpacks into a sysroot
# (COS_CROSS_ROOT, default /var/cache/cos-cross/armhf). Programs and ctest run
# under qemu-arm (qemu-user).
#   bash scripts/install-cross-deps.sh armhf
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-linux-gnueabihf.cmake
#   cmake --build build-armhf && (cd build-armhf && ctest)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(COS_CROSS_TRIPLET arm-linux-gnueabihf)
set(COS_CROSS_ARCH armhf)
set(COS_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
