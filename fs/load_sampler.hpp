// SPDX-License-Identifier: Apache-2.0
// Per-cgroup load averages, sampled the way the kernel does it for the host: one
// background thread wakes every interval, counts the runnable (R) and
// uninterruptible (D) tasks of each cgroup that was read recently and folds the
// count into exponentially decaying 1/5/15 minute averages. Reads never sample;
// they return the last figures. The table is bounded: cgroups not read for
// `idle_eviction` are dropped, and when full the least recently read goes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nestbox/cgroup_tree.hpp"
#include "render.hpp"

namespace nestbox::fs {

struct TaskCounts {
  std::uint64_t running = 0;  // R
  std::uint64_t blocked = 0;  // D
  std::uint64_t total = 0;    // every thread
};
// Counts the threads of `pids` by state from <proc_root>/<pid>/task/*/stat, stopping
// after `limit` threads so one huge cgroup cannot stall a reader.
TaskCounts count_tasks(const std::string& proc_root, const std::vector<pid_t>& pids,
                       std::size_t limit = 65536);

// One decay step: load' = load * e + active * (1 - e), e = exp(-interval/period).
double decay_load(double load, double active, double interval_s, double period_s);

class LoadSampler {
 public:
  struct Config {
    std::chrono::milliseconds interval{5000};
    std::size_t capacity = 4096;
    std::chrono::seconds idle_eviction{600};
  };
  LoadSampler(const CgroupTree& tree, Config config);
  ~LoadSampler();
  LoadSampler(const LoadSampler&) = delete;
  LoadSampler& operator=(const LoadSampler&) = delete;

  void start();
  void stop();
  // Last figures for `path` (zeros until the first sample); marks it as read.
  LoadView get(const CgroupPath& path);
  std::size_t size() const;
  // One sampling pass (the thread calls this; tests call it directly).
  void sample_once();

 private:
  struct Entry {
    LoadView load;
    std::chrono::steady_clock::time_point last_read;
    bool sampled = false;
  };
  const CgroupTree& tree_;
  Config config_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<CgroupPath, Entry> table_;
  std::thread thread_;
};

}  // namespace nestbox::fs
