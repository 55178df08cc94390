// SPDX-License-Identifier: Apache-2.0
#include "uptime_clock.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "nestbox/parse.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {

UptimeClock::UptimeClock(const ProcFs& proc, std::size_t capacity) : proc_(proc), capacity_(capacity) {
  host_pidns_ = proc_.ns_inode(getpid(), "pid");
  try {
    host_timens_ = proc_.ns_inode(getpid(), "time");
  } catch (const std::exception&) {
    host_timens_ = 0;  // a kernel without time namespaces
  }
  ticks_per_second_ = sysconf(_SC_CLK_TCK);
  if (ticks_per_second_ <= 0) ticks_per_second_ = 100;
}

double UptimeClock::boottime_now() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::optional<double> UptimeClock::read_boottime_offset(pid_t pid) const {
  if (host_timens_ == 0) return std::nullopt;
  try {
    if (proc_.ns_inode(pid, "time") == host_timens_) return std::nullopt;
    const std::string path = proc_.root() + "/" + std::to_string(pid) + "/timens_offsets";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    if (auto offsets = parse_timens_offsets(read_fd(fd.get()))) return offsets->boottime;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<UptimeClock::Init> UptimeClock::init_of(pid_t pid, ino_t ns) {
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
    // The init itself may stay in the launcher's time namespace (a namespace
    // applies to the children of whoever made it): ask the reader.
    init.boottime_offset = read_boottime_offset(pid);
    std::lock_guard lock(mutex_);
    if (cache_.size() >= capacity_) cache_.clear();
    cache_[ns] = init;
    cached = init;
  }
  return cached;
}

std::optional<double> UptimeClock::boottime_offset(pid_t pid, ino_t ns) {
  auto init = init_of(pid, ns);
  return init ? init->boottime_offset : std::nullopt;
}

std::optional<double> UptimeClock::container_uptime(pid_t pid, ino_t ns) {
  auto init = init_of(pid, ns);
  if (!init) return std::nullopt;
  double up = init->boottime_offset
                  ? boottime_now() + *init->boottime_offset
                  : boottime_now() - static_cast<double>(init->start_ticks) / static_cast<double>(ticks_per_second_);
  return up < 0 ? 0 : up;
}

}  // namespace nestbox::fs
