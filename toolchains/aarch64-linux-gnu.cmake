# Cross build for 64-bit Arm with Debian's g++-aarch64-linux-gnu against bookworm's arm64 multiarch packages
# (/usr/lib/aarch64-linux-gnu: Boost.Program_options, GoogleTest, Google Benchmark, cpuinfo, libcrypto);
# programs run under qemu-aarch64-static. QEMU_CPU picks the emulated core (scripts/cross.sh runs several).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
# pkg-config (FindOpenSSL asks it first) must describe the arm64 packages, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Libraries must come from the target; header-only dependencies (Boost.DLL, nlohmann_json) may come from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
