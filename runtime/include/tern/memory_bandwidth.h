#pragma once
#include <cstddef>

namespace tern {

// Sustained read bandwidth (bytes/s, best of five passes) of `threads` threads streaming a buffer far larger
// than the caches: the yardstick for memory-bound kernels (`tern bench --bandwidth`, bench_x86_kernels).
double measure_read_bandwidth(size_t threads, size_t bytes = size_t(1) << 30);

}  // namespace tern
