# Shared part of the cmake/toolchain-*.cmake files (they set
# COS_CROSS_TRIPLET, COS_CROSS_ARCH and COS_CROSS_QEMU, then include this).
set(CMAKE_C_COMPILER ${COS_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${COS_CROSS_TRIPLET})

if(NOT COS_CROSS_SYSROOT)
  if(DEFINED ENV{COS_CROSS_ROOT})
    set(COS_CROSS_SYSROOT $ENV{COS_CROSS_ROOT}/${COS_CROSS_ARCH})
  else()
    set(COS_CROSS_SYSROOT /var/cache/cos-cross/${COS_CROSS_ARCH})
  endif()
endif()
set(COS_CROSS_SYSROOT ${COS_CROSS_SYSROOT} CACHE PATH "the target's -dev packages, unpacked")
if(NOT EXISTS ${COS_CROSS_SYSROOT}/usr/lib/${COS_CROSS_TRIPLET})
  message(FATAL_ERROR "no ${COS_CROSS_ARCH} libraries in ${COS_CROSS_SYSROOT}: run scripts/install-cross-deps.sh ${COS_CROSS_ARCH}")
endif()
set(COS_CROSS_LIBDIR ${COS_CROSS_SYSROOT}/usr/lib/${COS_CROSS_TRIPLET})

# Headers and libraries come from the sysroot and the cross compiler's own
# C library, never from the build host's /usr.
set(CMAKE_FIND_ROOT_PATH ${COS_CROSS_SYSROOT} /usr/${COS_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${COS_CROSS_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR} "${COS_CROSS_LIBDIR}/pkgconfig:${COS_CROSS_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# libcurl's own dependencies (nghttp2, krb5, ...) are found by the linker
# through rpath-link; they are not linked directly.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${COS_CROSS_LIBDIR}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${COS_CROSS_LIBDIR}")

# ctest and add_test run target programs through qemu-user: the C library
# of the cross compiler (-L), the rest from the sysroot.
find_program(COS_QEMU_BIN ${COS_CROSS_QEMU})
if(COS_QEMU_BIN)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${COS_QEMU_BIN} -L /usr/${COS_CROSS_TRIPLET}
      -E LD_LIBRARY_PATH=${COS_CROSS_LIBDIR})
endif()
