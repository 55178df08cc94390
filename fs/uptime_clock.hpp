// Container uptime: the age of the init of the reader's pid namespace.
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
  // CLOCK_BOOTTIME in seconds.
  static double boottime_now();

 private:
  struct Init {
    pid_t pid = 0;
    std::uint64_t start_ticks = 0;
  };
  const ProcFs& proc_;
  std::size_t capacity_;
  ino_t host_pidns_ = 0;
  long ticks_per_second_ = 100;
  std::mutex mutex_;
  // pid namespace inode -> its init. Bounded: cleared when full (entries are cheap
  // to recompute).
  std::unordered_map<ino_t, Init> cache_;
};

}  // namespace nestbox::fs
