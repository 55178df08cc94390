// SPDX-License-Identifier: Apache-2.0
#include "thread_pool.hpp"

#include <algorithm>

namespace nestbox::cgmgr {

ThreadPool::ThreadPool(std::size_t threads, std::size_t max_queue, std::size_t max_per_key)
    : max_queue_(max_queue),
      max_per_key_(max_per_key ? max_per_key : std::max<std::size_t>(max_queue / 8, 16)),
      max_running_per_key_(threads > 1 ? threads - 1 : 1) {
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : workers_) t.join();
}

bool ThreadPool::try_submit(std::uint32_t key, std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    if (key != 0 && queued_ >= max_queue_) return false;
    KeyQueue& q = keys_[key];
    if (key != 0 && q.jobs.size() + q.running >= max_per_key_) {
      if (q.jobs.empty() && q.running == 0) keys_.erase(key);
      return false;
    }
    q.jobs.push_back(std::move(job));
    ++queued_;
  }
  // Every worker re-checks: the one woken may not be allowed this key's job.
  ready_.notify_all();
  return true;
}

bool ThreadPool::may_start(std::uint32_t key, const KeyQueue& q) const {
  return !q.jobs.empty() && (key == 0 || q.running < max_running_per_key_);
}

void ThreadPool::work() {
  for (;;) {
    std::function<void()> job;
    std::uint32_t key = 0;
    {
      std::unique_lock lock(mutex_);
      // The next key after the one served last (wrapping) that may start a job.
      auto pick = [this]() -> std::map<std::uint32_t, KeyQueue>::iterator {
        auto start = keys_.upper_bound(last_served_);
        for (auto it = start; it != keys_.end(); ++it)
          if (may_start(it->first, it->second)) return it;
        for (auto it = keys_.begin(); it != start; ++it)
          if (may_start(it->first, it->second)) return it;
        return keys_.end();
      };
      auto it = keys_.end();
      ready_.wait(lock, [&] {
        it = pick();
        return it != keys_.end() || (stopping_ && queued_ == 0);
      });
      if (it == keys_.end()) return;  // stopping and drained
      key = it->first;
      job = std::move(it->second.jobs.front());
      it->second.jobs.pop_front();
      ++it->second.running;
      --queued_;
      last_served_ = key;
    }
    job();  // jobs report their own errors; nothing escapes here
    {
      std::lock_guard lock(mutex_);
      auto it = keys_.find(key);
      if (--it->second.running == 0 && it->second.jobs.empty()) keys_.erase(it);
    }
    // A key at its running bound may start another job now.
    ready_.notify_all();
  }
}

}  // namespace nestbox::cgmgr
