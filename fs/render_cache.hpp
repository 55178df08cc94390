// A short-lived cache of rendered files keyed by what the content depends on
// (file kind, the reader's cgroups, its pid namespace). Many readers in one
// container opening the same file within the time-to-live share one rendering.
// Bounded: expired entries are dropped when full, and if that is not enough the
// whole table is cleared.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace nestbox::fs {

class RenderCache {
 public:
  using Clock = std::chrono::steady_clock;
  RenderCache(Clock::duration ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {}
  std::optional<std::string> get(const std::string& key, Clock::time_point now = Clock::now());
  void put(const std::string& key, std::string text, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Entry {
    std::string text;
    Clock::time_point made;
  };
  Clock::duration ttl_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace nestbox::fs
