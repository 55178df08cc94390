// SPDX-License-Identifier: Apache-2.0
// Who a reader is (its cgroups and pid namespace), remembered per live process.
//
// Every open of a virtualized file needs the reader's cgroups, which only
// /proc/<pid>/cgroup tells; reading it is the largest part of an open's own cost.
// An entry is reused only while both hold:
//   - the process it was read for is still alive: a pidfd taken before the read
//     pins it, and a live process keeps its pid, so a recycled pid can never see
//     another process's entry;
//   - it is younger than the time-to-live: a process moved to another cgroup sees
//     its new cgroup's numbers within that time (the same bound as the render
//     cache's, see README.md (nestbox-fs)).
// The pid namespace of a process never changes, so it is exact for the entry's life.
// An expired entry of a live process is read again under the same pidfd.
// With `with_owner` (the per-container tree) an entry also holds the process's
// real ids and pid-namespace depth from /proc/<pid>/status, as fresh as its cgroups.
// Only the virtualized /proc and /sys files use this; the cgroup view's
// permission checks always read /proc afresh.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "nestbox/layout.hpp"
#include "nestbox/proc.hpp"
#include "nestbox/unique_fd.hpp"
#include "reader.hpp"

namespace nestbox::fs {

struct ReaderInfo {
  pid_t pid = 0;  // the reader (a process or thread id)
  ReaderCgroups cgroups;
  ino_t pidns = 0;  // inode of the reader's pid namespace
  // With `with_owner` only:
  uid_t uid = 0;
  gid_t gid = 0;
  bool pidns_init = false;  // pid 1 of a pid namespace below ours
};

class ReaderCache {
 public:
  ReaderCache(const ProcFs& proc, Layout layout, std::chrono::milliseconds ttl, std::size_t capacity,
              bool with_owner = false);
  // Throws (nestbox::Error) when the reader's /proc entries cannot be read (it exited).
  std::shared_ptr<const ReaderInfo> get(pid_t pid);
  // Entries held (each holds a pidfd); for tests.
  std::size_t size() const;

 private:
  struct Entry {
    UniqueFd pidfd;
    std::shared_ptr<const ReaderInfo> info;
    std::chrono::steady_clock::time_point read_at;
  };
  // `known_pidns`: the pid namespace read before under the same pidfd (it
  // never changes for a process), 0 to read it.
  ReaderInfo read(pid_t pid, ino_t known_pidns) const;
  void insert_locked(pid_t pid, Entry entry, std::chrono::steady_clock::time_point now);

  const ProcFs& proc_;
  Layout layout_;
  std::chrono::milliseconds ttl_;
  std::size_t capacity_;
  bool with_owner_;
  mutable std::mutex mutex_;
  std::unordered_map<pid_t, Entry> entries_;
};

}  // namespace nestbox::fs
