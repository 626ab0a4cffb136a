#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "tern/plugin/backend_api.h"

namespace tern {

// A fixed pool that runs one parallel range at a time; the calling thread takes part, so threads() == 1
// spawns nothing. A decode step dispatches a few hundred short ranges, so waiting threads spin briefly before
// they sleep: a condition-variable wake-up per range would cost more than many of the ranges themselves.
class ThreadPool final : public Parallel {
 public:
  explicit ThreadPool(size_t n_threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void for_range(size_t n, const std::function<void(size_t, size_t)>& fn) const override;
  size_t threads() const override { return workers_.size() + 1; }

 private:
  void worker_loop();
  void run_chunks() const;

  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_work_, cv_done_;
  // Written before generation_ is bumped (release), read after it is seen (acquire).
  mutable const std::function<void(size_t, size_t)>* job_ = nullptr;
  mutable size_t job_n_ = 0, job_chunks_ = 0;
  mutable std::atomic<size_t> next_chunk_{0};
  mutable std::atomic<uint64_t> generation_{0};
  mutable std::atomic<size_t> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace tern
