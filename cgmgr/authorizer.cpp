// SPDX-License-Identifier: Apache-2.0
#include "authorizer.hpp"

#include <algorithm>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::cgmgr {

std::string Caller::describe() const {
  return "uid=" + std::to_string(uid) + " pid=" + std::to_string(pid);
}

Authorizer::Authorizer(CgroupPath root, std::vector<CgroupPath> reserved)
    : root_(std::move(root)), reserved_(std::move(reserved)) {}

bool Authorizer::reserved(const CgroupPath& path) const {
  return std::any_of(reserved_.begin(), reserved_.end(),
                     [&](const CgroupPath& r) { return r.contains(path); });
}

void Authorizer::check_readable(const CgroupPath& path) const {
  if (!root_.contains(path))
    throw Error(Errc::PermissionDenied,
                path.str() + " is outside the manager root " + root_.str() + "; only cgroups below it can be read");
}

std::optional<Grant> Authorizer::authorize_mutation(const Caller& caller, const CgroupPath& path,
                                                    const std::vector<Grant>& grants,
                                                    std::string_view action) const {
  const std::string act(action);
  if (!root_.is_strict_ancestor_of(path))
    throw Error(Errc::PermissionDenied, act + " " + path.str() + ": outside the manager root " + root_.str() +
                                            "; only cgroups strictly below it are managed");
  if (reserved(path))
    throw Error(Errc::PermissionDenied, act + " " + path.str() + ": reserved for the manager itself");
  if (caller.is_root()) return std::nullopt;
  for (const Grant& g : grants)
    if (g.uid == caller.uid && g.path.is_strict_ancestor_of(path)) return g;
  for (const Grant& g : grants) {
    if (g.uid == caller.uid && g.path == path)
      throw Error(Errc::PermissionDenied,
                  act + " " + path.str() + ": this is the cgroup delegated to you; its limits and existence are "
                  "the administrator's. Work in a child cgroup below it");
    if (g.path.contains(path))
      throw Error(Errc::PermissionDenied, act + " " + path.str() + ": belongs to the delegation " + g.path.str() +
                                              " of another user");
  }
  throw Error(Errc::PermissionDenied,
              act + " " + path.str() + ": not inside a cgroup delegated to uid " + std::to_string(caller.uid) +
                  " (call RequestUserDelegation or ask an administrator to Delegate one)");
}

void Authorizer::authorize_attach(const Caller& caller, const CgroupPath& dest,
                                  const std::optional<Grant>& grant, const ProcStatus& target,
                                  const CgroupPath& source) const {
  if (caller.is_root()) return;
  if (!grant)
    throw Error(Errc::PermissionDenied, "attach to " + dest.str() + ": no delegation covers it");
  // Name the id that differs: a setuid program started by the caller has the
  // caller's real uid but another effective one.
  if (target.ruid != caller.uid)
    throw Error(Errc::PermissionDenied, "attach: process " + std::to_string(target.pid) + " belongs to uid " +
                                            std::to_string(target.ruid) + ", not to you (uid " +
                                            std::to_string(caller.uid) + ")");
  if (target.euid != caller.uid)
    throw Error(Errc::PermissionDenied, "attach: process " + std::to_string(target.pid) + " runs with effective uid " +
                                            std::to_string(target.euid) + " (a setuid program?), not yours (uid " +
                                            std::to_string(caller.uid) + ")");
  // Processes outside the manager root enter a delegation for the first time; once
  // inside, the kernel's containment rule applies: the common ancestor of source
  // and destination must be writable by the caller, i.e. inside its delegation.
  if (root_.contains(source)) {
    CgroupPath common = CgroupPath::common_ancestor(source, dest);
    if (!grant->path.contains(common))
      throw Error(Errc::PermissionDenied, "attach: process " + std::to_string(target.pid) + " is in " +
                                              source.str() + ", outside your delegation " + grant->path.str() +
                                              "; you may only move it between cgroups inside your delegation");
  }
}

void Authorizer::require_root(const Caller& caller, std::string_view action) {
  if (!caller.is_root())
    throw Error(Errc::PermissionDenied, std::string(action) + " is reserved to root (caller uid " +
                                            std::to_string(caller.uid) + ")");
}

void Authorizer::authorize_delegate(const Caller& caller, const CgroupPath& path, uid_t uid,
                                    const std::vector<Grant>& grants) const {
  require_root(caller, "Delegate");
  if (!root_.is_strict_ancestor_of(path))
    throw Error(Errc::PermissionDenied, "Delegate " + path.str() + ": outside the manager root " + root_.str());
  if (reserved(path))
    throw Error(Errc::PermissionDenied, "Delegate " + path.str() + ": reserved for the manager itself");
  if (uid == 0) throw Error(Errc::InvalidValue, "Delegate " + path.str() + ": uid 0 needs no delegation");
  // (uid_t)-1 is "no change" to chown(2), never a user.
  if (uid == static_cast<uid_t>(-1)) throw Error(Errc::InvalidValue, "Delegate " + path.str() + ": uid -1 is not a user");
  for (const Grant& g : grants) {
    if (g.path == path) {
      if (g.uid != uid)
        throw Error(Errc::Exists, "Delegate " + path.str() + ": already delegated to uid " + std::to_string(g.uid) +
                                      "; Undelegate it first");
      continue;
    }
    if (g.path.contains(path) || path.contains(g.path))
      throw Error(Errc::Exists, "Delegate " + path.str() + ": overlaps the delegation " + g.path.str() +
                                    " (uid " + std::to_string(g.uid) + "); delegations may not nest");
  }
}

void Authorizer::check_depth(const Grant& grant, const Quota& quota, const CgroupPath& path) {
  std::size_t depth = path.depth() - grant.path.depth();
  if (depth > quota.max_depth)
    throw Error(Errc::QuotaExceeded, path.str() + " would be " + std::to_string(depth) + " levels below " +
                                         grant.path.str() + "; your quota allows " +
                                         std::to_string(quota.max_depth));
}

void Authorizer::check_count(const Grant& grant, const Quota& quota, std::size_t existing) {
  if (existing + 1 > quota.max_cgroups)
    throw Error(Errc::QuotaExceeded, "uid " + std::to_string(grant.uid) + " already has " +
                                         std::to_string(existing) + " cgroups; the quota allows " +
                                         std::to_string(quota.max_cgroups) + ". Remove some first");
}

void Authorizer::check_ceilings(const Quota& quota, const LimitMap& limits) {
  for (const auto& [key, value] : limits) {
    auto it = quota.ceilings.find(key);
    if (it == quota.ceilings.end()) continue;
    std::string why;
    if (!within_ceiling(key, value, it->second, &why))
      throw Error(Errc::QuotaExceeded, key + "=" + value + " exceeds your ceiling " + it->second + ": " + why);
  }
}

namespace {

// 128-bit products so quota*period never overflows (__extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 Wide;

bool fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return false;
}

bool within_size(Limit value, Limit ceiling, std::string* why) {
  if (!ceiling) return true;
  if (!value) return fail(why, "\"max\" is not allowed when a ceiling exists");
  if (*value > *ceiling) return fail(why, "value is above the ceiling");
  return true;
}

}  // namespace

bool within_ceiling(std::string_view key, std::string_view value, std::string_view ceiling, std::string* why) {
  if (key == "memory.max" || key == "memory.swap.max" || key == "pids.max")
    return within_size(parse_size(value), parse_size(ceiling), why);
  if (key == "cpu.weight") {
    if (parse_u64(value) > parse_u64(ceiling)) return fail(why, "weight is above the ceiling");
    return true;
  }
  if (key == "cpu.max") {
    CpuMax v = parse_cpu_max(value), c = parse_cpu_max(ceiling);
    if (!c.quota_us) return true;
    if (!v.quota_us) return fail(why, "an unlimited quota (\"max\") is not allowed when a ceiling exists");
    // quota/period compared without division: v.q * c.p <= c.q * v.p.
    Wide lhs = static_cast<Wide>(*v.quota_us) * c.period_us;
    Wide rhs = static_cast<Wide>(*c.quota_us) * v.period_us;
    if (lhs > rhs) return fail(why, "more CPU time per period than the ceiling allows");
    return true;
  }
  if (key == "cpuset.cpus" || key == "cpuset.mems") {
    CpuList v = parse_cpu_list(value), c = parse_cpu_list(ceiling);
    // Empty means "inherit the parent's", which is already bounded.
    if (!std::includes(c.begin(), c.end(), v.begin(), v.end())) return fail(why, "not a subset of the ceiling");
    return true;
  }
  return fail(why, "no ceiling comparison is defined for " + std::string(key));
}

}  // namespace nestbox::cgmgr
