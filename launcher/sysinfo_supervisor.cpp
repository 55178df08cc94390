// SPDX-License-Identifier: Apache-2.0
#include "sysinfo_supervisor.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/memory_view.hpp"
#include "nestbox/proc.hpp"
#include "nestbox/safe_io.hpp"
#include "state.hpp"

namespace nestbox::launcher {

std::optional<double> container_uptime_seconds(std::uint64_t init_start_ticks) {
  if (init_start_ticks == 0) return std::nullopt;
  struct timespec now {};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  const double up = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9 -
                    static_cast<double>(init_start_ticks) / static_cast<double>(ticks > 0 ? ticks : 100);
  return up < 0 ? 0 : up;
}

struct sysinfo to_sysinfo(const SysinfoFigures& f) {
  struct sysinfo si;
  std::memset(&si, 0, sizeof si);
  si.uptime = static_cast<long>(f.uptime);
  si.totalram = f.totalram;
  si.freeram = f.freeram;
  si.sharedram = f.sharedram;
  si.bufferram = f.bufferram;
  si.totalswap = f.totalswap;
  si.freeswap = f.freeswap;
  // The kernel's field is 16 bits wide and saturates the same way.
  si.procs = static_cast<unsigned short>(f.procs > 0xffff ? 0xffff : f.procs);
  si.mem_unit = 1;
  return si;
}

SysinfoSupervisor::SysinfoSupervisor(std::string cgroup, pid_t init, bool per_caller)
    : cgroup_(CgroupPath::parse(cgroup)), init_start_ticks_(process_start_ticks(init)), per_caller_(per_caller) {
  if (seccomp_notify_alloc(&request_, &response_) != 0) throw Error(Errc::Io, "seccomp_notify_alloc failed");
}

SysinfoSupervisor::~SysinfoSupervisor() { seccomp_notify_free(request_, response_); }

void SysinfoSupervisor::open_sources() {
  if (!tree_) tree_ = open_host_cgroup_tree();
  if (!host_proc_) host_proc_ = open_directory("/proc");
  if (!host_meminfo_) host_meminfo_ = open_beneath(host_proc_.get(), "meminfo", O_RDONLY | O_CLOEXEC);
}

CgroupPath SysinfoSupervisor::cgroup_of(pid_t caller) const {
  // Only processes of this container (and of containers nested in it) reach
  // the listener; each one's cgroup is where its limits are.
  if (!per_caller_) return cgroup_;
  try {
    return tree_->primary_cgroup_of(caller);
  } catch (const Error&) {
    return cgroup_;
  }
}

std::optional<double> SysinfoSupervisor::uptime_of(pid_t caller) const {
  // A caller in a time namespace of its own (a nested container's) counts from
  // that namespace's start: the kernel's offsets are relative to the host's
  // clocks, ours included, so its boottime is ours minus our offset plus its.
  if (!per_caller_) return container_uptime_seconds(init_start_ticks_);
  try {
    const ProcFs& proc = tree_->proc();
    if (proc.ns_inode(caller, "time") != proc.ns_inode(::getpid(), "time")) {
      auto theirs = parse_timens_offsets(read_fd(open_beneath(host_proc_.get(), std::to_string(caller) + "/timens_offsets", O_RDONLY | O_CLOEXEC).get()));
      auto ours = parse_timens_offsets(read_fd(open_beneath(host_proc_.get(), std::to_string(::getpid()) + "/timens_offsets", O_RDONLY | O_CLOEXEC).get()));
      if (theirs && ours) {
        struct timespec now {};
        ::clock_gettime(CLOCK_BOOTTIME, &now);
        const double up = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9 -
                          ours->boottime + theirs->boottime;
        return up < 0 ? 0 : up;
      }
    }
  } catch (const Error&) {
  }
  return container_uptime_seconds(init_start_ticks_);
}

SysinfoFigures SysinfoSupervisor::figures(pid_t caller) {
  open_sources();
  const CgroupPath cgroup = cgroup_of(caller);
  const ContainerMemory mem =
      container_memory(host_memory_from_meminfo(read_fd(host_meminfo_.get())), memory_view(tree_->effective_memory(cgroup)));
  SysinfoFigures f;
  f.totalram = mem.total_kb * 1024;
  f.freeram = mem.free_kb * 1024;
  f.sharedram = mem.shared_kb * 1024;
  f.bufferram = mem.buffers_kb * 1024;
  f.totalswap = mem.swap_total_kb * 1024;
  f.freeswap = mem.swap_free_kb * 1024;
  // The kernel counts threads; so does pids.current.
  if (auto pids = tree_->pids(cgroup))
    f.procs = pids->current;
  else
    f.procs = tree_->processes(cgroup, true).size();
  auto up = uptime_of(caller);
  if (!up) throw Error(Errc::NotFound, "the container's pid 1 is gone");
  f.uptime = static_cast<std::uint64_t>(*up);
  return f;
}

bool SysinfoSupervisor::answer(const seccomp_notif& req) noexcept {
  // A 32-bit caller (ia32 / x32) has a differently laid out struct: the kernel
  // answers it.
  if (req.data.arch != seccomp_arch_native() || req.data.nr != __NR_sysinfo) return false;
  try {
    const struct sysinfo si = to_sysinfo(figures(static_cast<pid_t>(req.pid)));
    // 1. Open the caller's memory while it is still blocked in this call.
    UniqueFd mem(::openat(host_proc_.get(), (std::to_string(req.pid) + "/mem").c_str(), O_WRONLY | O_CLOEXEC));
    if (!mem) return false;
    // 2. Only now check that the notification is still pending: the caller
    //    was alive when the file was opened, so the fd is its memory and not
    //    that of a process that reused the pid.
    if (seccomp_notify_id_valid(listener_.get(), req.id) != 0) return true;  // gone: nothing to answer
    // 3. Write the result struct and nothing else; a bad pointer falls back
    //    to the kernel, which then fails the call with EFAULT as it would.
    if (::pwrite(mem.get(), &si, sizeof si, static_cast<off_t>(req.data.args[0])) != static_cast<ssize_t>(sizeof si))
      return false;
  } catch (...) {
    return false;
  }
  // 4. Complete the call: sysinfo returns 0.
  response_->id = req.id;
  response_->val = 0;
  response_->error = 0;
  response_->flags = 0;
  (void)seccomp_notify_respond(listener_.get(), response_);  // ENOENT: the caller died meanwhile
  return true;
}

void SysinfoSupervisor::handle_one() noexcept {
  std::memset(request_, 0, sizeof *request_);
  if (seccomp_notify_receive(listener_.get(), request_) != 0) return;  // e.g. the caller was killed
  if (answer(*request_)) return;
  std::memset(response_, 0, sizeof *response_);
  response_->id = request_->id;
  response_->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  (void)seccomp_notify_respond(listener_.get(), response_);
}

}  // namespace nestbox::launcher
