#include "fatectl/core/thread_pool.h"

#include <algorithm>

namespace fatectl {

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks(unsigned id) {
  while (true) {
    size_t b, e;
    const std::function<void(size_t, size_t, unsigned)>* job;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!job_ || next_ >= n_) return;
      b = next_;
      e = std::min(n_, b + chunk_);
      next_ = e;
      ++pending_;
      job = job_;
    }
    try {
      (*job)(b, e, id);
    } catch (...) {
      std::lock_guard<std::mutex> l(mu_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      --pending_;
    }
    done_cv_.notify_all();
  }
}

void ThreadPool::worker_loop(unsigned id) {
  unsigned seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_chunks(id);
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t, unsigned)>& fn) {
  if (n == 0) return;
  if (workers_.empty()) {
    fn(0, n, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    job_ = &fn;
    n_ = n;
    next_ = 0;
    chunk_ = std::max<size_t>(1, n / (size() * 4));
    error_ = nullptr;
    ++generation_;
  }
  cv_.notify_all();
  run_chunks(0);
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> l(mu_);
    done_cv_.wait(l, [&] { return next_ >= n_ && pending_ == 0; });
    job_ = nullptr;
    err = error_;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace fatectl
