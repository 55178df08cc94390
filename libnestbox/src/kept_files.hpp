// SPDX-License-Identifier: Apache-2.0
// Interface files of one cgroup hierarchy kept open for re-reading (internal to
// the library; on only where TreeOptions::kept_files asks, i.e. nestbox-fs).
//
// nestbox-fs reads the same few files of the same cgroups many times a second
// (memory.stat, cpu.stat, memory.max of every ancestor, ...); opening and
// closing them was about a third of its CPU at 1,000 containers. A cgroup file
// read again with pread from offset 0 shows its current content (the kernel
// formats it anew), so a descriptor is as good as a fresh open except when:
//   - the cgroup was removed: the read fails with ENODEV (kernfs), the entry is
//     dropped and the caller opens by name, finding the new cgroup or none;
//   - it was renamed (cgroup2 allows it) and another made under its old name:
//     the descriptor still reads the renamed one, so entries are reopened once
//     they are kMaxAge old.
// Files found missing are remembered too (for kMaxAge: a controller enabled
// later shows its files within that time).
// Only real cgroup filesystems keep files: a regular file does not fail when
// its directory goes (fixture trees).
//
// A kept descriptor is used by one reader at a time (checked out while read):
// two interleaved readers of one seq file would each restart the other.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "nestbox/unique_fd.hpp"

namespace nestbox::detail {

class KeptFiles {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kMaxAge = std::chrono::seconds(1);

  explicit KeptFiles(std::size_t capacity) : capacity_(capacity) {}

  enum class Outcome {
    Read,     // `out` holds the file's content
    Missing,  // the file was found missing less than kMaxAge ago
    NotKept,  // nothing usable kept (or in use by another reader): open it
    Gone,     // the kept file's cgroup was removed: open by name
  };
  Outcome read(std::string_view dir, std::string_view file, std::string& out);
  // Keeps `fd` (open read-only on dir/file) unless full or already kept.
  void keep(std::string_view dir, std::string_view file, UniqueFd fd);
  void keep_missing(std::string_view dir, std::string_view file);
  // Whether a file of `dir` is kept open: the directory existed, and a read
  // through it tells if it still does (Gone).
  bool knows(std::string_view dir) const;
  std::size_t size() const;

 private:
  struct Entry {
    UniqueFd fd;  // empty for a file found missing
    Clock::time_point opened;
    bool busy = false;
  };
  static std::string key(std::string_view dir, std::string_view file);
  void erase_locked(std::unordered_map<std::string, Entry>::iterator it, std::string_view dir);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> files_;     // dir '\0' file
  std::unordered_map<std::string, unsigned> open_;   // dir -> descriptors kept
};

}  // namespace nestbox::detail
