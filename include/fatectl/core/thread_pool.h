#pragma once
// A fixed-size pool of worker threads with a parallel-for, sized to the machine by default.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fatectl {

/// Runs index ranges on worker threads; the calling thread takes part in the work.
class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads = 0);  ///< 0 = std::thread::hardware_concurrency()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls fn(begin, end, worker) over [0, n) split into chunks; worker is in [0, size()).
  /// Exceptions from fn are rethrown (the first one) after every chunk has finished.
  void parallel_for(size_t n, const std::function<void(size_t, size_t, unsigned)>& fn);

 private:
  void worker_loop(unsigned id);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t, size_t, unsigned)>* job_ = nullptr;
  size_t n_ = 0, next_ = 0, chunk_ = 1, pending_ = 0;
  unsigned generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  void run_chunks(unsigned id);
};

}  // namespace fatectl
