// SPDX-License-Identifier: Apache-2.0
#include "manager.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <optional>
#include <utility>

#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::cgmgr {
namespace {

pid_t resolve_pid(const Caller& caller, std::uint32_t pid) {
  if (pid == 0) {
    if (caller.pid <= 0) throw Error(Errc::InvalidValue, "the bus did not tell the caller's pid; pass it explicitly");
    return caller.pid;
  }
  if (pid > static_cast<std::uint32_t>(INT_MAX)) throw Error(Errc::InvalidValue, "pid " + std::to_string(pid) + " is out of range");
  // The number would be read in the manager's pid namespace, where it names
  // another process than the one the caller means (or none).
  if (caller.foreign_pid_ns)
    throw Error(Errc::InvalidValue, "pid " + std::to_string(pid) +
                                        " is a number in your pid namespace, which is not the manager's: name the "
                                        "process with a pidfd (AttachPidfd, CreateAndAttachPidfd, GetPidfdCgroup) or "
                                        "pass 0 for yourself");
  return static_cast<pid_t>(pid);
}

// The process a pidfd refers to, by its pid in the manager's namespace (the
// kernel's fdinfo "Pid:" line: -1 once it exited, 0 if it is not visible here).
// The returned fd is our own duplicate, pinning the process for the checks.
std::pair<pid_t, UniqueFd> resolve_pidfd(int pidfd) {
  if (pidfd < 0) throw Error(Errc::InvalidValue, "no pidfd was passed");
  UniqueFd pin(::fcntl(pidfd, F_DUPFD_CLOEXEC, 3));
  if (!pin) throw Error(Errc::InvalidValue, "the pidfd cannot be duplicated", errno);
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(pin.get()));
  std::optional<long> pid;
  for (std::string line; std::getline(info, line);)
    if (line.rfind("Pid:", 0) == 0) pid = std::strtol(line.c_str() + 4, nullptr, 10);
  if (!pid) throw Error(Errc::InvalidValue, "the fd passed is not a pidfd");
  if (*pid == -1) throw Error(Errc::NotFound, "the process of the pidfd exited", ESRCH);
  if (*pid <= 0) throw Error(Errc::InvalidValue, "the process of the pidfd is not visible in the manager's pid namespace");
  return {static_cast<pid_t>(*pid), std::move(pin)};
}

// A pidfd pins the identity of the process being checked: if it is still alive
// right before the write, its pid was not recycled in between.
UniqueFd pin_process(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ESRCH) throw Error(Errc::NotFound, "process " + std::to_string(pid) + " does not exist", ESRCH);
    return UniqueFd();  // kernel without pidfd: fall back to the checks alone
  }
  return UniqueFd(fd);
}

bool pinned_alive(const UniqueFd& fd) {
  if (!fd) return true;
  struct pollfd p = {fd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;  // a pidfd becomes readable when the process exits
}

}  // namespace

Manager::Manager(CgroupTree& tree, Authorizer authorizer, Policy policy, StateStore store,
                 AccountResolver accounts)
    : tree_(tree), auth_(std::move(authorizer)), policy_(std::move(policy)), store_(std::move(store)),
      accounts_(std::move(accounts)) {}

std::vector<Grant> Manager::grants() const {
  std::lock_guard lock(state_mutex_);
  return state_.grants;
}

namespace {
KeyedMutex::Guard lock_if_allowed(KeyedMutex& domains, const Authorizer& auth, const Caller& caller,
                                  const CgroupPath& path, const std::vector<Grant>& grants, const std::string& key,
                                  std::string_view action) {
  auth.authorize_mutation(caller, path, grants, action);
  return domains.lock(key);
}
}  // namespace

Manager::MutationLock::MutationLock(Manager& m, const Caller& caller, const CgroupPath& path, std::string_view action)
    : guard(lock_if_allowed(m.domains_, m.auth_, caller, path, m.grants(), m.domain_key(path), action)),
      grant(m.auth_.authorize_mutation(caller, path, m.grants(), action)) {}

CgroupPath Manager::readable(std::string_view text) const {
  CgroupPath path = CgroupPath::parse(text);
  auth_.check_readable(path);
  require_exists(path);
  return path;
}

void Manager::require_exists(const CgroupPath& path) const {
  if (!tree_.exists(path)) throw Error(Errc::NotFound, path.str() + " does not exist");
}

std::string Manager::domain_key(const CgroupPath& path) const {
  for (const Grant& g : grants())
    if (g.path.contains(path)) return g.path.str();
  const auto& root = auth_.root();
  if (!root.is_strict_ancestor_of(path)) return path.str();
  return root.child(path.components()[root.depth()]).str();
}

std::vector<gid_t> Manager::policy_groups(uid_t uid, std::optional<gid_t> fallback) const {
  std::vector<gid_t> gids;
  if (policy_.needs_groups(uid) && accounts_.groups_of) gids = accounts_.groups_of(uid);
  if (gids.empty() && fallback) gids.push_back(*fallback);
  return gids;
}

Quota Manager::quota_of(const Grant& grant) const {
  return policy_.quota_for_grant(grant.uid, policy_groups(grant.uid, grant.gid));
}

std::size_t Manager::count_below(const CgroupPath& path) const {
  std::size_t n = 0;
  for (const auto& name : tree_.children(path)) n += 1 + count_below(path.child(name));
  return n;
}

std::size_t Manager::count_cgroups_of(uid_t uid) const {
  std::size_t n = 0;
  for (const Grant& g : grants())
    if (g.uid == uid && tree_.exists(g.path)) n += count_below(g.path);
  return n;
}

LimitMap Manager::normalize_all(const Limits& limits) const {
  LimitMap out;
  for (const auto& [key, value] : limits) {
    if (!is_limit_key(key))
      throw Error(Errc::InvalidValue, "unknown limit '" + key + "'; known limits are memory.max, memory.swap.max, "
                                      "cpu.max, cpu.weight, cpuset.cpus, cpuset.mems, pids.max, io.max");
    out[key] = normalize_limit(key, value);
  }
  return out;
}

void Manager::apply_limits(const CgroupPath& path, const LimitMap& limits) {
  for (const auto& [key, value] : limits) tree_.set_limit(path, key, value);
}

void Manager::save_locked() {
  store_.save(state_);
  marks_pending_since_.reset();
}

void Manager::marks_changed_locked() {
  if (!marks_pending_since_) marks_pending_since_ = std::chrono::steady_clock::now();
}

std::optional<std::chrono::milliseconds> Manager::write_pending_marks(bool now) {
  std::lock_guard lock(state_mutex_);
  if (!marks_pending_since_) return std::nullopt;
  const auto age = std::chrono::steady_clock::now() - *marks_pending_since_;
  if (!now && age < kMarkWriteDelay)
    return std::chrono::ceil<std::chrono::milliseconds>(kMarkWriteDelay - age);
  try {
    save_locked();
    return std::nullopt;
  } catch (const Error& e) {
    spdlog::error("saving remove-on-empty marks: {} (retrying)", e.what());
    return kMarkWriteDelay;
  }
}

std::string Manager::create(const Caller& caller, std::string_view text, const Limits& limits) {
  const CgroupPath path = CgroupPath::parse(text);
  const LimitMap normalized = normalize_all(limits);
  const MutationLock allowed(*this, caller, path, "Create");
  const auto& grant = allowed.grant;
  if (grant) {
    Quota quota = quota_of(*grant);
    Authorizer::check_depth(*grant, quota, path);
    Authorizer::check_ceilings(quota, normalized);
    Authorizer::check_count(*grant, quota, count_cgroups_of(grant->uid));
  }
  if (tree_.exists(path)) throw Error(Errc::Exists, path.str() + " already exists");
  if (!tree_.exists(path.parent()))
    throw Error(Errc::NotFound, "parent " + path.parent().str() + " does not exist; create it first");
  tree_.create(path);
  try {
    apply_limits(path, normalized);
    // A user's cgroup is the user's, as if made with mkdir in the delegation:
    // the directory and its delegatable files (cgroup.procs, subtree_control,
    // ...), so runtimes that work on cgroupfs themselves (LXC, podman, a nested
    // launcher) can use it. Its limit files stay root's: limits go through
    // SetLimits and the policy's ceilings.
    if (grant) tree_.delegate(path, grant->uid, grant->gid, CgroupTree::Controllers::AsTheyAre);
  } catch (...) {
    // The new cgroup must not outlive a refused limit: undo the mkdir.
    try {
      tree_.remove(path);
    } catch (const Error&) {
    }
    throw;
  }
  return path.str();
}

void Manager::set_limits(const Caller& caller, std::string_view text, const Limits& limits) {
  const CgroupPath path = CgroupPath::parse(text);
  const LimitMap normalized = normalize_all(limits);
  const MutationLock allowed(*this, caller, path, "SetLimits");
  if (allowed.grant) Authorizer::check_ceilings(quota_of(*allowed.grant), normalized);
  require_exists(path);
  apply_limits(path, normalized);
}

std::string Manager::get_value(const Caller&, std::string_view text, std::string_view file) const {
  if (file.empty() || file.find('/') != std::string_view::npos || file == "." || file == "..")
    throw Error(Errc::InvalidPath, "'" + std::string(file) + "' is not a cgroup interface file name");
  const CgroupPath path = readable(text);
  // A limit asked for by its v2 name on a v1 host answers from the v1 files,
  // as SetLimits writes them.
  if (is_limit_key(file) && tree_.layout() != Layout::Unified) {
    auto value = tree_.limit(path, file);
    if (!value) throw Error(Errc::NotFound, "no " + std::string(file) + " for " + path.str() + " on this host");
    return *value + "\n";
  }
  return tree_.read_file(path, file);
}

Manager::Limits Manager::get_limits(const Caller&, std::string_view text) const {
  const CgroupPath path = readable(text);
  Limits out;
  for (std::string_view key : kLimitKeys)
    if (auto value = tree_.limit(path, key)) out.emplace(std::string(key), std::move(*value));
  return out;
}

void Manager::attach(const Caller& caller, std::string_view text, std::uint32_t raw_pid) {
  const CgroupPath dest = CgroupPath::parse(text);
  const pid_t pid = resolve_pid(caller, raw_pid);
  attach_pinned(caller, dest, pid, pin_process(pid));
}

void Manager::attach_pidfd(const Caller& caller, std::string_view text, int pidfd) {
  const CgroupPath dest = CgroupPath::parse(text);
  auto [pid, pin] = resolve_pidfd(pidfd);
  attach_pinned(caller, dest, pid, std::move(pin));
}

std::string Manager::pidfd_cgroup(const Caller&, int pidfd) const {
  auto [pid, pin] = resolve_pidfd(pidfd);
  std::string path = tree_.primary_cgroup_of(pid).str();
  if (!pinned_alive(pin)) throw Error(Errc::NotFound, "the process of the pidfd exited", ESRCH);
  return path;
}

void Manager::attach_pinned(const Caller& caller, const CgroupPath& dest, pid_t pid, UniqueFd pin) {
  const MutationLock allowed(*this, caller, dest, "Attach");
  const ProcStatus status = tree_.proc().status(pid);
  const CgroupPath source = tree_.primary_cgroup_of(pid);
  auth_.authorize_attach(caller, dest, allowed.grant, status, source);
  require_exists(dest);
  if (!pinned_alive(pin)) throw Error(Errc::NotFound, "process " + std::to_string(pid) + " exited", ESRCH);
  tree_.attach(dest, pid);
  // A remove-on-empty cgroup that just received a process counts as populated even
  // if the process exits before the watcher looks.
  std::lock_guard lock(state_mutex_);
  bool changed = false;
  for (auto& [marked_text, seen] : state_.remove_on_empty) {
    auto marked = CgroupPath::try_parse(marked_text);
    if (!seen && marked && marked->contains(dest)) seen = changed = true;
  }
  if (changed) marks_changed_locked();
}

std::string Manager::pid_cgroup(const Caller& caller, std::uint32_t pid) const {
  return tree_.primary_cgroup_of(resolve_pid(caller, pid)).str();
}

std::vector<std::string> Manager::list_children(const Caller&, std::string_view text) const {
  return tree_.children(readable(text));
}

std::vector<std::uint32_t> Manager::processes(const Caller&, std::string_view text, bool recursive) const {
  std::vector<std::uint32_t> out;
  for (pid_t p : tree_.processes(readable(text), recursive)) out.push_back(static_cast<std::uint32_t>(p));
  return out;
}

void Manager::remove_tree(const CgroupPath& path) {
  for (const auto& name : tree_.children(path)) remove_tree(path.child(name));
  tree_.remove(path);
}

void Manager::kill(const Caller& caller, std::string_view text) {
  const CgroupPath path = CgroupPath::parse(text);
  auth_.authorize_mutation(caller, path, grants(), "Kill");
  require_exists(path);
  tree_.kill_all(path);
}

void Manager::set_frozen(const Caller& caller, std::string_view text, bool frozen) {
  const CgroupPath path = CgroupPath::parse(text);
  auth_.authorize_mutation(caller, path, grants(), frozen ? "Freeze" : "Thaw");
  require_exists(path);
  tree_.set_frozen(path, frozen);
}

std::vector<std::string> Manager::list_controllers(const Caller&, std::string_view text) const {
  return tree_.controllers_of(readable(text));
}

void Manager::remove(const Caller& caller, std::string_view text, bool recursive) {
  const CgroupPath path = CgroupPath::parse(text);
  const MutationLock allowed(*this, caller, path, "Remove");
  require_exists(path);
  for (const Grant& g : grants())
    if (path.contains(g.path))
      throw Error(Errc::Busy, path.str() + " contains the delegation " + g.path.str() + " (uid " +
                                  std::to_string(g.uid) + "); Undelegate it first");
  // Decide before touching anything, so a refused Remove leaves the tree as it was.
  const auto still_has_processes = [&] {
    return Error(Errc::Busy, path.str() + " still has processes; move or stop them first");
  };
  const auto has_children = [&] {
    return Error(Errc::Busy, path.str() + " has child cgroups; remove them first or pass recursive=true");
  };
  if (tree_.children(path).empty()) {
    // A leaf (every container's cgroup): the tree's own remove checks for
    // processes before it touches anything, so it is not walked twice.
    try {
      tree_.remove(path);
    } catch (const Error& e) {
      if (e.code() != Errc::Busy) throw;
      throw tree_.children(path).empty() ? still_has_processes() : has_children();  // a child appeared meanwhile
    }
  } else {
    if (!recursive) throw has_children();
    if (tree_.populated(path)) throw still_has_processes();
    remove_tree(path);
  }
  std::lock_guard lock(state_mutex_);
  bool changed = false;
  for (auto it = state_.remove_on_empty.begin(); it != state_.remove_on_empty.end();) {
    auto p = CgroupPath::try_parse(it->first);
    if (p && path.contains(*p)) {
      unpopulated_since_.erase(it->first);
      it = state_.remove_on_empty.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed) marks_changed_locked();
}

void Manager::remove_on_empty(const Caller& caller, std::string_view text, bool enable) {
  const CgroupPath path = CgroupPath::parse(text);
  const MutationLock allowed(*this, caller, path, "RemoveOnEmpty");
  require_exists(path);
  const bool populated = tree_.populated(path);
  std::lock_guard lock(state_mutex_);
  const auto before = state_.remove_on_empty;
  if (enable) {
    auto [it, inserted] = state_.remove_on_empty.emplace(path.str(), populated);
    if (!inserted) it->second = it->second || populated;
  } else {
    state_.remove_on_empty.erase(path.str());
    unpopulated_since_.erase(path.str());
  }
  if (state_.remove_on_empty != before) marks_changed_locked();
}

std::vector<Grant> Manager::delegations(const Caller& caller) const {
  std::vector<Grant> out;
  for (const Grant& g : grants())
    if (caller.is_root() || g.uid == caller.uid) out.push_back(g);
  return out;
}

std::optional<uid_t> Manager::owner_of(std::string_view text) const {
  auto path = CgroupPath::try_parse(text);
  if (!path) return std::nullopt;
  for (const Grant& g : grants())
    if (g.path.contains(*path)) return g.uid;
  return std::nullopt;
}

}  // namespace nestbox::cgmgr
