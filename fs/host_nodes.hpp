// SPDX-License-Identifier: Apache-2.0
// The per-container tree's host entries by number: which path below the host's
// CPU directory a host inode number (its low 32 bits, see container_nodes.hpp)
// names. Filled by lookups; a number it does not know (one the kernel kept
// from an earlier server) makes it walk the host directory, at most once a
// second. Bounded by the host directory (and kMaxNodes: beyond it, the table
// starts again).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "host_cpu_dir.hpp"

namespace nestbox::fs {

class HostNodes {
 public:
  static constexpr std::size_t kMaxNodes = std::size_t{1} << 20;
  static constexpr std::chrono::seconds kWalkEvery{1};

  explicit HostNodes(const std::string& host_dir) : dir_(host_dir) {}
  const HostCpuDir& dir() const { return dir_; }

  struct Found {
    std::string rel;
    struct stat st {};
  };
  // The entry at `rel`, remembered by its number.
  Found at(const std::string& rel);
  // The entry numbered `ino` now; nullopt when the host has none.
  std::optional<Found> find(std::uint32_t ino);
  std::size_t size() const;

 private:
  std::optional<Found> known(std::uint32_t ino);
  void walk();

  HostCpuDir dir_;
  std::mutex walk_mutex_;  // taken before mutex_, never inside it
  mutable std::mutex mutex_;
  std::unordered_map<std::uint32_t, std::string> paths_;
  std::chrono::steady_clock::time_point walked_{};
};

}  // namespace nestbox::fs
