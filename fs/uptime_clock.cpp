#include "uptime_clock.hpp"

#include <time.h>
#include <unistd.h>

namespace nestbox::fs {

UptimeClock::UptimeClock(const ProcFs& proc, std::size_t capacity) : proc_(proc), capacity_(capacity) {
  host_pidns_ = proc_.ns_inode(getpid(), "pid");
  ticks_per_second_ = sysconf(_SC_CLK_TCK);
  if (ticks_per_second_ <= 0) ticks_per_second_ = 100;
}

double UptimeClock::boottime_now() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::optional<double> UptimeClock::container_uptime(pid_t pid, ino_t ns) {
  if (ns == host_pidns_) return std::nullopt;
  std::optional<Init> cached;
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(ns); it != cache_.end()) cached = it->second;
  }
  // A cached init is valid while a process with that pid still has that start
  // time (pids are reused, start times of a reused pid differ).
  if (cached) {
    try {
      if (proc_.start_time_ticks(cached->pid) != cached->start_ticks) cached.reset();
    } catch (const std::exception&) {
      cached.reset();
    }
  }
  if (!cached) {
    Init init;
    init.pid = proc_.pidns_init(pid);
    init.start_ticks = proc_.start_time_ticks(init.pid);
    std::lock_guard lock(mutex_);
    if (cache_.size() >= capacity_) cache_.clear();
    cache_[ns] = init;
    cached = init;
  }
  double started = static_cast<double>(cached->start_ticks) / static_cast<double>(ticks_per_second_);
  double up = boottime_now() - started;
  return up < 0 ? 0 : up;
}

}  // namespace nestbox::fs
