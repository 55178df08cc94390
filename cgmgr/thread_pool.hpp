// A fixed set of worker threads with a bounded queue: D-Bus calls are handed here
// so a slow cgroupfs operation never stalls the bus loop or other callers, and a
// flood of calls is refused (try_submit returns false) instead of growing memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nestbox::cgmgr {

class ThreadPool {
 public:
  ThreadPool(std::size_t threads, std::size_t max_queue);
  ~ThreadPool();  // finishes queued jobs, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the queue is full or the pool is stopping.
  bool try_submit(std::function<void()> job);

 private:
  void work();
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace nestbox::cgmgr
