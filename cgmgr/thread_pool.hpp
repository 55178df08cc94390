// SPDX-License-Identifier: Apache-2.0
// A fixed set of worker threads with bounded, per-caller queues: D-Bus calls are
// handed here so a slow cgroupfs operation never stalls the bus loop, and a flood
// is refused (try_submit returns false) instead of growing memory.
//
// Fairness: each caller (key = uid) has its own queue with its own bound, and the
// workers take jobs from the callers' queues in turn. One caller flooding fills
// only its own queue (its further calls are refused), never another caller's
// share; and it may occupy at most all workers but one, so another caller's call
// starts as soon as the job ahead of it on that free worker ends. Root (key 0) is
// exempt from the total bound, so a flood of users cannot lock root out.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace nestbox::cgmgr {

class ThreadPool {
 public:
  // `max_queue`: jobs waiting in all queues together; `max_per_key`: jobs one key
  // may have waiting or running (0: max_queue / 8, at least 16).
  ThreadPool(std::size_t threads, std::size_t max_queue, std::size_t max_per_key = 0);
  ~ThreadPool();  // finishes queued jobs, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when this key's share or the total is full, or the pool is stopping.
  bool try_submit(std::uint32_t key, std::function<void()> job);
  std::size_t max_per_key() const { return max_per_key_; }

 private:
  struct KeyQueue {
    std::deque<std::function<void()>> jobs;
    std::size_t running = 0;
  };
  bool may_start(std::uint32_t key, const KeyQueue& q) const;
  void work();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::map<std::uint32_t, KeyQueue> keys_;  // only keys with waiting or running jobs
  std::uint32_t last_served_ = 0;           // round-robin position (the key served last)
  std::size_t queued_ = 0;
  std::size_t max_queue_;
  std::size_t max_per_key_;
  std::size_t max_running_per_key_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace nestbox::cgmgr
