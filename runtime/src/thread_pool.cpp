#include "tern/thread_pool.h"

#include <algorithm>

namespace tern {

ThreadPool::ThreadPool(size_t n_threads) {
  for (size_t i = 1; i < std::max<size_t>(1, n_threads); ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(size_t index) const {
  const size_t n_chunks = threads();
  const size_t begin = job_n_ * index / n_chunks, end = job_n_ * (index + 1) / n_chunks;
  if (begin < end) (*job_)(begin, end);
}

void ThreadPool::worker_loop(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_work_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_chunk(index);
    {
      std::lock_guard lk(mu_);
      if (--pending_ == 0) cv_done_.notify_one();
    }
  }
}

void ThreadPool::for_range(size_t n, const std::function<void(size_t, size_t)>& fn) const {
  if (workers_.empty() || n < 2) {
    if (n) fn(0, n);
    return;
  }
  {
    std::lock_guard lk(mu_);
    job_ = &fn;
    job_n_ = n;
    pending_ = workers_.size();
    ++generation_;
  }
  cv_work_.notify_all();
  run_chunk(0);
  std::unique_lock lk(mu_);
  cv_done_.wait(lk, [&] { return pending_ == 0; });
  job_ = nullptr;
}

}  // namespace tern
