# Cross build for RISC-V 64 with Debian's clang-19 (GCC 12 lacks the RVV 1.0 intrinsics) against a sysroot of
# Debian trixie's riscv64 packages, which scripts/riscv64_deps.sh unpacks into build-riscv64-deps/ together with
# trixie's qemu-user 10. The baseline is rv64gc: only the RVV backend plugin (selected at run time when the CPU
# reports V) is compiled with -march=rv64gcv. QEMU_CPU picks the emulated core (scripts/cross.sh runs several
# vector lengths).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(TRIPLE riscv64-linux-gnu)
set(TERN_RISCV64_DEPS ${CMAKE_CURRENT_LIST_DIR}/../build-riscv64-deps)
set(CMAKE_SYSROOT ${TERN_RISCV64_DEPS}/sysroot)
set(CMAKE_C_COMPILER clang-19)
set(CMAKE_CXX_COMPILER clang++-19)
set(CMAKE_C_COMPILER_TARGET ${TRIPLE})
set(CMAKE_CXX_COMPILER_TARGET ${TRIPLE})
set(CMAKE_LIBRARY_ARCHITECTURE ${TRIPLE})
set(CMAKE_C_FLAGS_INIT "-march=rv64gc")
set(CMAKE_CXX_FLAGS_INIT "-march=rv64gc")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_FIND_ROOT_PATH ${CMAKE_SYSROOT})
set(CMAKE_CROSSCOMPILING_EMULATOR ${TERN_RISCV64_DEPS}/qemu/bin/qemu-riscv64 -L ${CMAKE_SYSROOT})
# pkg-config (FindOpenSSL asks it first) must describe the sysroot's packages, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} ${CMAKE_SYSROOT}/usr/lib/${TRIPLE}/pkgconfig:${CMAKE_SYSROOT}/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${CMAKE_SYSROOT})
# Everything comes from the sysroot (clang with --sysroot does not search the host's /usr/include).
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
