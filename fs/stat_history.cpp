// SPDX-License-Identifier: Apache-2.0
#include "stat_history.hpp"

#include <algorithm>

namespace nestbox::fs {

void StatHistory::update(const std::string& key, const std::function<void(StatMemory&)>& step) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_ && capacity_ > 0) {
      auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      entries_.erase(oldest);
    }
    it = entries_.emplace(key, Entry{}).first;
  }
  it->second.used = std::chrono::steady_clock::now();
  step(it->second.memory);
}

std::size_t StatHistory::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace nestbox::fs
