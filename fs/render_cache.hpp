// SPDX-License-Identifier: Apache-2.0
// A short-lived cache of rendered files keyed by what the content depends on
// (file kind, the reader's cgroups, its pid namespace). Many readers in one
// container opening the same file within the time-to-live share one rendering.
// Texts are handed out shared and immutable, so a hit copies nothing. Entries
// are dropped as soon as they expire (oldest first, on every put), so memory
// follows the renderings of the last time-to-live, and the table never holds
// more than `capacity` (the oldest go first).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace nestbox::fs {

using Text = std::shared_ptr<const std::string>;

class RenderCache {
 public:
  using Clock = std::chrono::steady_clock;
  RenderCache(Clock::duration ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {}
  // nullptr on a miss or an expired entry.
  Text get(const std::string& key, Clock::time_point now = Clock::now()) const;
  void put(const std::string& key, Text text, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Entry {
    Text text;
    Clock::time_point made;
  };
  // Drops the oldest insertion record, and its entry unless it was put again since.
  void drop_oldest();

  Clock::duration ttl_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  // Insertion order (time, key); a key put again appears twice, the stale record
  // is recognised by its older time.
  std::deque<std::pair<Clock::time_point, std::string>> order_;
};

}  // namespace nestbox::fs
