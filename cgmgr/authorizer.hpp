// SPDX-License-Identifier: Apache-2.0
// Who may do what. Pure decisions over plain data (caller identity, the grant
// table, the policy quota, facts read about a process) so that every rule is unit
// tested without a bus or a kernel. The rules follow the kernel's cgroup-v2
// delegation model: a delegatee controls everything strictly below the cgroup it
// was given, never the limits of that cgroup itself, and may only move processes
// it owns between cgroups whose common ancestor lies inside its delegation.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/proc.hpp"
#include "policy.hpp"

namespace nestbox::cgmgr {

// The peer of a D-Bus call, as the bus daemon saw it (SO_PEERCRED).
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  // The caller's pid namespace is not the manager's: a pid number it sends means
  // another process here (or none), so numeric pids other than 0 are refused.
  bool foreign_pid_ns = false;
  bool is_root() const noexcept { return uid == 0; }
  std::string describe() const;  // "uid=1000 pid=4242"
};

// A subtree handed to a user (by Delegate, or by RequestUserDelegation per policy).
struct Grant {
  CgroupPath path;
  uid_t uid = 0;
  gid_t gid = 0;
  bool from_policy = false;  // made by RequestUserDelegation
  friend bool operator==(const Grant&, const Grant&) = default;
};

class Authorizer {
 public:
  // `root`: the manager root; `reserved`: cgroups nobody may touch through the
  // manager (the daemon's own supervisor cgroup under systemd).
  explicit Authorizer(CgroupPath root, std::vector<CgroupPath> reserved = {});
  const CgroupPath& root() const noexcept { return root_; }

  // Reads (GetValue, ListChildren, GetProcesses): anything at or below Root.
  void check_readable(const CgroupPath& path) const;

  // Create, SetLimits, Remove, RemoveOnEmpty and the Attach destination.
  // Root: strictly below Root. Others: strictly inside one of their own grants.
  // Returns the grant that governs the path (nullopt for root callers).
  std::optional<Grant> authorize_mutation(const Caller& caller, const CgroupPath& path,
                                          const std::vector<Grant>& grants,
                                          std::string_view action) const;

  // Attach of `target` (currently in `source`) into `dest`, already authorized by
  // authorize_mutation (which returned `grant`). Non-root callers must own the
  // process, and if the process lives inside the manager root the common ancestor
  // of source and destination must lie inside the caller's delegation.
  void authorize_attach(const Caller& caller, const CgroupPath& dest,
                        const std::optional<Grant>& grant, const ProcStatus& target,
                        const CgroupPath& source) const;

  // Delegate/Undelegate/...: only uid 0.
  static void require_root(const Caller& caller, std::string_view action);
  // Delegate(path, uid): root only, strictly below Root, no overlap with a grant
  // of another path (the same path may be re-delegated to the same uid).
  void authorize_delegate(const Caller& caller, const CgroupPath& path, uid_t uid,
                          const std::vector<Grant>& grants) const;

  // Quotas of a grant, for a new cgroup `path` inside it.
  static void check_depth(const Grant& grant, const Quota& quota, const CgroupPath& path);
  // `existing`: cgroups the user already has below all its grants.
  static void check_count(const Grant& grant, const Quota& quota, std::size_t existing);
  // `limits` must be normalized; each must stay within the quota's ceilings.
  static void check_ceilings(const Quota& quota, const LimitMap& limits);

 private:
  bool reserved(const CgroupPath& path) const;
  CgroupPath root_;
  std::vector<CgroupPath> reserved_;
};

// Whether `value` stays within `ceiling` for a normalized limit key; `why`
// receives the reason when it does not.
bool within_ceiling(std::string_view key, std::string_view value, std::string_view ceiling,
                    std::string* why);

}  // namespace nestbox::cgmgr
