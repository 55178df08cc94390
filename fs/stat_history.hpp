// SPDX-License-Identifier: Apache-2.0
// What /proc/stat last showed each container, so that every counter it shows
// next is at least as large (counter-based monitoring reads a decrease as a
// reset). Keyed by what the rendering depends on (the render cache's key);
// bounded: when full, the entry read least recently goes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "render.hpp"

namespace nestbox::fs {

struct StatMemory {
  std::map<unsigned, CpuTimes> cpus;  // last served, per host CPU
  // Baselines of the host's event counters, fixed when the container is first
  // seen (see counter_baseline).
  std::optional<std::uint64_t> intr_base, ctxt_base, processes_base;
};

class StatHistory {
 public:
  explicit StatHistory(std::size_t capacity) : capacity_(capacity) {}
  // Runs `step` on the container's memory (empty the first time) under the
  // table's lock, so concurrent renderings of one container are ordered and each
  // sees what the one before it served.
  void update(const std::string& key, const std::function<void(StatMemory&)>& step);
  std::size_t size() const;

 private:
  struct Entry {
    StatMemory memory;
    std::chrono::steady_clock::time_point used;
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace nestbox::fs
