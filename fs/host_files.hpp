// SPDX-License-Identifier: Apache-2.0
// The host's own files a rendering starts from (/proc/meminfo, /proc/stat,
// /proc/cpuinfo, the online CPU list, ...), read at most once per
// time-to-live and shared by every container's rendering made meanwhile. With
// a time-to-live of zero every call reads the file. The per-container tree
// uses it: at 1,000 containers, one read of /proc/stat serves hundreds of
// renderings instead of one. The set of paths is the fixed set the renderers
// name, so the table is bounded by them.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "render_cache.hpp"

namespace nestbox::fs {

class HostFiles {
 public:
  using Clock = std::chrono::steady_clock;
  explicit HostFiles(Clock::duration ttl) : ttl_(ttl) {}
  // The file's content ("" when unreadable), at most the time-to-live old; never null.
  Text read(std::string_view path);

 private:
  struct Entry {
    Text text;
    Clock::time_point read_at;
  };
  Clock::duration ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace nestbox::fs
