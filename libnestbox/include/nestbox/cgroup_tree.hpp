// SPDX-License-Identifier: Apache-2.0
// "The cgroup hierarchies on this host": the one small interface the three programs
// use. One backend per layout (v2 for Unified, v1 for Hybrid/Legacy). Paths are
// absolute cgroup paths as printed in /proc/<pid>/cgroup; on v1/hybrid a path names
// the same cgroup in every hierarchy the tree manages. Every filesystem access
// goes through directory fds of the hierarchy roots (see safe_io.hpp).
// Errors are thrown as nestbox::Error.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/proc.hpp"
#include "nestbox/resources.hpp"

namespace nestbox {

// Limit keys accepted by set_limit(), in cgroup v2 names.
inline constexpr std::string_view kLimitKeys[] = {
    "memory.max", "memory.swap.max", "cpu.max", "cpu.weight",
    "cpuset.cpus", "cpuset.mems",    "pids.max", "io.max"};
bool is_limit_key(std::string_view key) noexcept;
// Throws InvalidValue naming the allowed keys unless is_limit_key(key).
void require_limit_key(std::string_view key);
// Validates and normalizes a limit value for a v2 key ("256M" -> "268435456",
// "max" stays "max", cpu lists canonicalized). Throws InvalidValue with a clear
// message, or InvalidValue for an unknown key. Performs no I/O.
std::string normalize_limit(std::string_view key, std::string_view value);

class CgroupTree {
 public:
  virtual ~CgroupTree() = default;

  virtual Layout layout() const = 0;
  // Controllers this tree can read and limit ("cpu", "cpuset", "io", "memory", "pids", ...).
  virtual std::vector<std::string> controllers() const = 0;
  const ProcFs& proc() const { return proc_; }

  // ---- membership -------------------------------------------------------
  // The process's cgroup in the hierarchy of `controller` ("" = the v2 hierarchy);
  // nullopt if that hierarchy is not mounted. Throws NotFound if the process is gone.
  virtual std::optional<CgroupPath> cgroup_of(pid_t pid, std::string_view controller) const = 0;
  // The process's cgroup in the tree's primary hierarchy (v2 on Unified; on v1 the
  // first mounted of memory, pids, cpu, cpuset, blkio).
  virtual CgroupPath primary_cgroup_of(pid_t pid) const = 0;

  // ---- structure (on v1: applied to every managed hierarchy) ------------
  virtual bool exists(const CgroupPath& path) const = 0;
  // mkdir. Throws Exists, NotFound (parent missing). v1: a new cpuset cgroup gets
  // its parent's cpus/mems so that processes can join. v2: enables the managed
  // controllers in the parent's cgroup.subtree_control first where allowed.
  virtual void create(const CgroupPath& path) = 0;
  // rmdir. Throws Busy if it still has processes or children, NotFound.
  virtual void remove(const CgroupPath& path) = 0;
  // Writes the pid to cgroup.procs (every hierarchy on v1).
  virtual void attach(const CgroupPath& path, pid_t pid) = 0;
  virtual std::vector<pid_t> processes(const CgroupPath& path, bool recursive) const = 0;
  // Names of child cgroups (sorted).
  virtual std::vector<std::string> children(const CgroupPath& path) const = 0;
  // Whether any process lives in the cgroup or below (v2: cgroup.events populated).
  virtual bool populated(const CgroupPath& path) const = 0;

  // ---- limits and raw files --------------------------------------------
  // Sets a limit given by its v2 key; validated with normalize_limit() before any
  // write, translated to v1 files on v1 (memory.limit_in_bytes, memsw, cfs_quota_us,
  // cpu.shares, blkio.throttle.*). Throws InvalidValue/Unsupported/...
  virtual void set_limit(const CgroupPath& path, std::string_view key, std::string_view value) = 0;
  // Reads an interface file by name ("memory.max", "memory.limit_in_bytes",
  // "cgroup.procs", "cpu.stat"). The name must be a plain file name of the
  // hierarchy that owns its controller. Throws NotFound/InvalidPath.
  virtual std::string read_file(const CgroupPath& path, std::string_view file) const = 0;
  // The limit `key` (a v2 name of kLimitKeys) of the cgroup itself, in the form
  // set_limit() takes ("max" when unlimited; io.max: one line per device with
  // a rule), translated from the v1 files on v1. nullopt when the cgroup has no
  // such file (controller not enabled or not mounted; swap without accounting).
  // Throws InvalidValue for another key, NotFound for a missing cgroup.
  virtual std::optional<std::string> limit(const CgroupPath& path, std::string_view key) const = 0;
  // Hands the cgroup to uid:gid: chown of the directory and the delegatable files
  // (v2: cgroup.procs, cgroup.threads, cgroup.subtree_control and the files listed in
  // /sys/kernel/cgroup/delegate; v1: tasks and cgroup.procs in each hierarchy).
  // Never the limit files of the cgroup itself. Returns what was changed.
  // EnableInAncestors (a delegation root): on v2 the managed controllers are
  // also enabled in every ancestor's cgroup.subtree_control, so the delegatee
  // can use them. AsTheyAre (a cgroup made inside a delegation): ownership
  // only; enabling controllers in its parent would forbid that parent to hold
  // processes (v2's no-internal-process rule).
  enum class Controllers { EnableInAncestors, AsTheyAre };
  virtual std::vector<DelegatedEntry> delegate(const CgroupPath& path, uid_t uid, gid_t gid,
                                               Controllers controllers = Controllers::EnableInAncestors) = 0;
  // Owner uid of the cgroup directory (primary hierarchy).
  virtual uid_t owner(const CgroupPath& path) const = 0;

  // ---- every process of a subtree --------------------------------------------
  // The controllers the cgroup itself has, sorted (v2: its cgroup.controllers;
  // v1: the controllers of the hierarchies it exists in).
  virtual std::vector<std::string> controllers_of(const CgroupPath& path) const = 0;
  // SIGKILL to every process of the cgroup and its descendants: cgroup.kill
  // where the kernel has it (5.14+; on hybrid hosts in the cgroup2 hierarchy),
  // then a walk of what is left, repeated while forks race it (each process
  // pinned with a pidfd and signalled only if still inside). Throws Busy if
  // processes keep appearing.
  virtual void kill_all(const CgroupPath& path) = 0;
  // Freezes (true) or thaws the cgroup and its descendants with cgroup.freeze
  // (on hybrid hosts in the cgroup2 hierarchy, where Attach also moves
  // processes). The kernel completes a freeze asynchronously: cgroup.events
  // says "frozen 1" once done. Throws Unsupported without cgroup.freeze (pure
  // v1 hosts, kernels before 5.2).
  virtual void set_frozen(const CgroupPath& path, bool frozen) = 0;

  // ---- typed readers ------------------------------------------------------
  virtual MemoryState memory(const CgroupPath& path) const = 0;
  // nullopt if the cpu controller is unavailable for this cgroup.
  virtual std::optional<CpuMax> cpu_max(const CgroupPath& path) const = 0;
  // Effective cpuset (cpuset.cpus.effective / cpuset.effective_cpus, else cpuset.cpus
  // of the nearest ancestor that has a value); nullopt if no cpuset controller.
  virtual std::optional<CpuList> cpuset_cpus(const CgroupPath& path) const = 0;
  virtual std::optional<CpuUsage> cpu_usage(const CgroupPath& path) const = 0;
  virtual std::optional<PidsState> pids(const CgroupPath& path) const = 0;
  virtual std::vector<IoDeviceStats> io_stats(const CgroupPath& path) const = 0;
  // Content of <resource>.pressure ("cpu", "memory", "io"); nullopt if absent.
  virtual std::optional<std::string> pressure(const CgroupPath& path, std::string_view resource) const = 0;

  // Minimum memory/swap limit over `path` and its ancestors, with the binding cgroup.
  EffectiveMemory effective_memory(const CgroupPath& path) const;
  // Minimum of quota/period ratio over `path` and its ancestors (as CPUs, e.g. 1.5); nullopt if none.
  std::optional<double> effective_cpu_quota(const CgroupPath& path) const;

 protected:
  explicit CgroupTree(ProcFs proc) : proc_(std::move(proc)) {}

 private:
  ProcFs proc_;
};

struct TreeOptions {
  std::string proc_root = "/proc";
  std::string delegate_file = "/sys/kernel/cgroup/delegate";
  // v1 hierarchies managed (by controller); those not mounted are skipped.
  std::vector<std::string> v1_controllers = {"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"};
  // Interface files kept open per hierarchy for re-reading, at most (0: none):
  // for readers of the same files many times a second (nestbox-fs). Each holds
  // a descriptor. A removed cgroup's files are dropped on their next read, a
  // kept file is reopened after a second (a renamed cgroup), a missing file is
  // looked for again after a second. Real cgroup filesystems only.
  std::size_t kept_files = 0;
};

// The backend for the layout (v2 for Unified; v1 for Hybrid and Legacy, which on
// Hybrid also creates/removes/attaches in the controller-less v2 hierarchy).
std::unique_ptr<CgroupTree> open_cgroup_tree(const HostLayout& layout, const TreeOptions& options = {});
// open_cgroup_tree(HostLayout::discover()).
std::unique_ptr<CgroupTree> open_host_cgroup_tree(const TreeOptions& options = {});

}  // namespace nestbox
