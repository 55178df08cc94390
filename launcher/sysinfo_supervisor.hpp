// SPDX-License-Identifier: Apache-2.0
// sysinfo(2) answered for the container. busybox free and uptime, getconf
// _PHYS_PAGES, glibc's sysconf(_SC_PHYS_PAGES / _SC_AVPHYS_PAGES) and the
// runtimes that size themselves by physical memory ask the kernel directly, and
// no filesystem can change what it says. The container's
// seccomp filter hands each sysinfo call to the launcher (SECCOMP_RET_USER_NOTIF);
// the launcher writes the container's figures into the caller's struct and
// completes the call. Whenever it cannot (the figures cannot be read, the
// caller's buffer is not writable, ...), it lets the kernel run the call
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the container never waits on a failure.
#pragma once

#include <sys/sysinfo.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/unique_fd.hpp"

struct seccomp_notif;
struct seccomp_notif_resp;

namespace nestbox {
class CgroupTree;
}

namespace nestbox::launcher {

// The container's uptime in seconds: CLOCK_BOOTTIME now minus the start of
// its pid 1. This is what /proc/uptime shows inside: nestbox-fs serves the age
// of the pid namespace's init, and a container time namespace whose boottime
// offset is minus that start shows the same figure. Nullopt if pid 1 is gone.
std::optional<double> container_uptime_seconds(std::uint64_t init_start_ticks);

// The figures a container's sysinfo(2) returns (mem_unit 1).
struct SysinfoFigures {
  std::uint64_t totalram = 0, freeram = 0, sharedram = 0, bufferram = 0;
  std::uint64_t totalswap = 0, freeswap = 0;
  std::uint64_t procs = 0;
  std::uint64_t uptime = 0;
};
// The struct the kernel would fill, from the figures. Load averages are 0:
// nestbox-fs keeps them by sampling in its daemon, the launcher has no history,
// and 0 is better than the host's.
struct sysinfo to_sysinfo(const SysinfoFigures& figures);

class SysinfoSupervisor {
 public:
  // `cgroup`: the container's cgroup path; `init`: the host pid of its pid 1
  // (its start time is read now, from the host's /proc). `per_caller`: answer
  // each caller from its own cgroup and time namespace (see figures()); only
  // for a supervisor that stays in the host's mount and cgroup namespaces,
  // where /proc/<pid> names the caller (exec's joins the container's).
  SysinfoSupervisor(std::string cgroup, pid_t init, bool per_caller = false);
  ~SysinfoSupervisor();
  SysinfoSupervisor(const SysinfoSupervisor&) = delete;
  SysinfoSupervisor& operator=(const SysinfoSupervisor&) = delete;

  // Opens the cgroup hierarchies, the host's /proc and /proc/meminfo now
  // (`exec` does it before it joins the container's mount namespace, where
  // none of them is reachable); otherwise they are opened at the first call, so
  // a container that never asks pays nothing. Throws Error.
  void open_sources();
  // The listener from load_seccomp_filter(true).
  void listen(UniqueFd listener) { listener_ = std::move(listener); }
  int fd() const { return listener_.get(); }
  // Receives and answers one notification (call when fd() is readable). Never
  // throws: anything that goes wrong falls back to the kernel's answer.
  void handle_one() noexcept;
  // The figures for a caller (a host pid) now. Per caller: its own cgroup's
  // memory and processes (inside a container nested in this one, the inner
  // container's cgroup) and the uptime of its own time namespace; otherwise, or
  // when those cannot be read, the container's cgroup and pid 1's age. Throws Error.
  SysinfoFigures figures(pid_t caller);

 private:
  bool answer(const seccomp_notif& request) noexcept;
  CgroupPath cgroup_of(pid_t caller) const;
  std::optional<double> uptime_of(pid_t caller) const;
  UniqueFd listener_;
  CgroupPath cgroup_;
  std::uint64_t init_start_ticks_ = 0;
  bool per_caller_ = false;
  std::unique_ptr<CgroupTree> tree_;
  UniqueFd host_proc_;
  UniqueFd host_meminfo_;
  seccomp_notif* request_ = nullptr;
  seccomp_notif_resp* response_ = nullptr;
};

}  // namespace nestbox::launcher
