// SPDX-License-Identifier: Apache-2.0
// Container uptime: the age of the init of the reader's pid namespace, or, for a
// container with its own time namespace, that namespace's CLOCK_BOOTTIME (what
// the kernel's /proc/uptime shows there), so the two never disagree.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "nestbox/proc.hpp"

namespace nestbox::fs {

class UptimeClock {
 public:
  explicit UptimeClock(const ProcFs& proc, std::size_t capacity = 4096);
  // Seconds since the init of `pid`'s pid namespace (inode `pidns`) started;
  // nullopt when the reader shares the host's pid namespace (the host's uptime
  // applies) or is gone.
  std::optional<double> container_uptime(pid_t pid, ino_t pidns);
  // The CLOCK_BOOTTIME offset of the time namespace the reader's container runs
  // in (seconds, usually negative: the container's boot is its start), nullopt
  // when it shares the daemon's time namespace. Resolved with the init (from the
  // first reader of that pid namespace) and cached with it.
  std::optional<double> boottime_offset(pid_t pid, ino_t pidns);
  // CLOCK_BOOTTIME in seconds.
  static double boottime_now();

 private:
  struct Init {
    pid_t pid = 0;
    std::uint64_t start_ticks = 0;
    std::optional<double> boottime_offset;
  };
  // The valid cached init of `pidns`, resolved from `pid` when needed.
  std::optional<Init> init_of(pid_t pid, ino_t pidns);
  std::optional<double> read_boottime_offset(pid_t pid) const;
  const ProcFs& proc_;
  std::size_t capacity_;
  ino_t host_pidns_ = 0;
  ino_t host_timens_ = 0;
  long ticks_per_second_ = 100;
  std::mutex mutex_;
  // pid namespace inode -> its init. Bounded: cleared when full (entries are cheap
  // to recompute).
  std::unordered_map<ino_t, Init> cache_;
};

}  // namespace nestbox::fs
