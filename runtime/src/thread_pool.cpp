#include "tern/thread_pool.h"

#include <algorithm>

namespace tern {

ThreadPool::ThreadPool(size_t n_threads) {
  for (size_t i = 1; i < std::max<size_t>(1, n_threads); ++i)
    workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {

// Tells the core we are spinning (frees resources for its sibling hyper-thread); a plain loop elsewhere.
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// About 50-100 microseconds: longer than the gaps between the ranges of one decode step, much shorter than a
// pause between requests.
constexpr int kSpinIterations = 1 << 12;

// A range is cut into chunks taken first come first served: on a shared machine one core is often slower, and
// with one chunk per thread the other would wait for it. At least kMinChunksPerThread per thread; long ranges
// (the LM head's 128k rows) get up to kMaxChunksPerThread, one per kChunkGrain items, so the last chunk is
// short.
constexpr size_t kMinChunksPerThread = 4, kMaxChunksPerThread = 32, kChunkGrain = 2048;

size_t chunk_count(size_t n, size_t threads) {
  const size_t per_thread = std::clamp(n / (kChunkGrain * threads), kMinChunksPerThread, kMaxChunksPerThread);
  return std::min(n, threads * per_thread);
}

}  // namespace

void ThreadPool::run_chunks() const {
  for (size_t c; (c = next_chunk_.fetch_add(1, std::memory_order_relaxed)) < job_chunks_;) {
    const size_t begin = job_n_ * c / job_chunks_, end = job_n_ * (c + 1) / job_chunks_;
    if (begin < end) (*job_)(begin, end);
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    bool ready = false;
    for (int i = 0; i < kSpinIterations && !ready; ++i) {
      ready = stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen;
      if (!ready) spin_pause();
    }
    if (!ready) {
      std::unique_lock lk(mu_);
      cv_work_.wait(lk, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
    }
    if (stop_) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunks();
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lk(mu_);  // the caller may be between its predicate check and its wait
      cv_done_.notify_one();
    }
  }
}

void ThreadPool::for_range(size_t n, const std::function<void(size_t, size_t)>& fn) const {
  if (workers_.empty() || n < 2) {
    if (n) fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_chunks_ = chunk_count(n, threads());
  next_chunk_.store(0, std::memory_order_relaxed);
  pending_.store(workers_.size(), std::memory_order_relaxed);
  {
    std::lock_guard lk(mu_);  // a worker between its predicate check and its wait must not miss this
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_work_.notify_all();
  run_chunks();
  for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i) spin_pause();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock lk(mu_);
    cv_done_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  job_ = nullptr;
}

}  // namespace tern
