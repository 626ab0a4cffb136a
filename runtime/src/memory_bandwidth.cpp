#include "tern/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <vector>

#include "tern/thread_pool.h"

namespace tern {

double measure_read_bandwidth(size_t threads, size_t bytes) {
  using Clock = std::chrono::steady_clock;
  const size_t n = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buf(new uint64_t[n]);
  ThreadPool pool(threads);
  pool.for_range(n, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) buf[i] = i;  // first touch by the threads that will read it
  });
  double best = 0;
  std::vector<uint64_t> sinks(threads * 8);
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    pool.for_range(threads, [&](size_t b, size_t e) {
      for (size_t t = b; t < e; ++t) {
        const size_t lo = n / threads * t, hi = t + 1 == threads ? n : n / threads * (t + 1);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = lo; i + 4 <= hi; i += 4)
          s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
        sinks[t * 8] = s0 + s1 + s2 + s3;
      }
    });
    best = std::max(best, double(bytes) / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  if (std::accumulate(sinks.begin(), sinks.end(), uint64_t(0)) == 42)
    std::fputc(' ', stderr);  // keep the reads
  return best;
}

}  // namespace tern
