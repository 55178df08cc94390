// SPDX-License-Identifier: Apache-2.0
// The cgroup manager's operations, independent of D-Bus: every public method takes
// the authenticated caller, validates all input, authorizes, and only then touches
// cgroupfs through the shared CgroupTree. Failures are nestbox::Error; bad input
// or a refused call changes nothing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authorizer.hpp"
#include "keyed_mutex.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/unique_fd.hpp"
#include "policy.hpp"
#include "state_store.hpp"

namespace nestbox::cgmgr {

// Receives the remove-on-empty events (the D-Bus service turns them into signals).
struct EventSink {
  std::function<void(const std::string&)> emptied;
  std::function<void(const std::string&)> removed;
};

class Manager {
 public:
  Manager(CgroupTree& tree, Authorizer authorizer, Policy policy, StateStore store,
          AccountResolver accounts = AccountResolver::system());

  // Loads the state file and reconciles it with cgroupfs (grants re-applied,
  // vanished cgroups dropped, user-<uid> delegations found on disk re-adopted).
  void restore();
  void set_event_sink(EventSink sink) { sink_ = std::move(sink); }

  using Limits = std::map<std::string, std::string>;
  std::string create(const Caller& caller, std::string_view path, const Limits& limits);
  void set_limits(const Caller& caller, std::string_view path, const Limits& limits);
  std::string get_value(const Caller& caller, std::string_view path, std::string_view file) const;
  // Every limit of kLimitKeys the cgroup has, by its v2 name, in SetLimits' form.
  Limits get_limits(const Caller& caller, std::string_view path) const;
  void delegate(const Caller& caller, std::string_view path, uid_t uid, gid_t gid);
  void undelegate(const Caller& caller, std::string_view path);
  std::string request_user_delegation(const Caller& caller);
  // One call for a launcher: RequestUserDelegation, Create(<delegation>/<name>,
  // limits), Attach(pid) and, if asked, RemoveOnEmpty, with every check of each.
  // The name and limits are validated before anything happens; a failed Attach
  // removes the new cgroup again.
  std::string create_and_attach(const Caller& caller, std::string_view name, const Limits& limits,
                                std::uint32_t pid, bool remove_when_empty);
  void attach(const Caller& caller, std::string_view path, std::uint32_t pid);
  std::string pid_cgroup(const Caller& caller, std::uint32_t pid) const;
  // The pidfd forms: the process is the one `pidfd` refers to (the caller's fd,
  // received over the bus), in whatever pid namespace the caller is.
  std::string create_and_attach_pidfd(const Caller& caller, std::string_view name, const Limits& limits, int pidfd,
                                      bool remove_when_empty);
  void attach_pidfd(const Caller& caller, std::string_view path, int pidfd);
  std::string pidfd_cgroup(const Caller& caller, int pidfd) const;
  std::vector<std::string> list_children(const Caller& caller, std::string_view path) const;
  std::vector<std::uint32_t> processes(const Caller& caller, std::string_view path, bool recursive) const;
  void remove(const Caller& caller, std::string_view path, bool recursive);
  // SIGKILL to every process of the cgroup and below; Freeze/Thaw the subtree.
  // Same rule as Remove: root below Root, a user strictly inside its delegation.
  void kill(const Caller& caller, std::string_view path);
  void set_frozen(const Caller& caller, std::string_view path, bool frozen);
  // The controllers the cgroup has (readable by anyone, like GetValue).
  std::vector<std::string> list_controllers(const Caller& caller, std::string_view path) const;
  void remove_on_empty(const Caller& caller, std::string_view path, bool enable);
  std::vector<Grant> delegations(const Caller& caller) const;
  // The uid of the delegation holding `path`, if one does.
  std::optional<uid_t> owner_of(std::string_view path) const;

  // Remove-on-empty: the marked paths, and one pass over them (called by the
  // watcher on every inotify event or poll tick).
  // A marked cgroup that has never held a process (its launcher died between
  // RemoveOnEmpty and Attach) is removed once it has been seen empty for the
  // grace period; the clock starts at the first sweep that sees it (again
  // after a restart). Returns the time until the next such grace ends, if any.
  std::vector<std::string> marked_paths() const;
  std::optional<std::chrono::milliseconds> sweep_remove_on_empty(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  static constexpr std::chrono::seconds kDefaultUnpopulatedGrace{30};
  void set_unpopulated_grace(std::chrono::milliseconds grace) { unpopulated_grace_ = grace; }

  // Remove-on-empty marks are written to the state file kMarkWriteDelay after
  // they change, not in the call that changed them: a container that lives
  // shorter than that (mark set, then its cgroup removed) costs no write at
  // all, and no call waits for the disk. A kill -9 of the manager can lose the
  // marks of the last kMarkWriteDelay (grant changes are always written at once).
  static constexpr std::chrono::milliseconds kMarkWriteDelay{100};
  // Writes pending mark changes that are due (all of them with `now`); returns
  // the time until the next one is due, or nullopt if none is pending. A failed
  // write is logged and retried on the next call.
  std::optional<std::chrono::milliseconds> write_pending_marks(bool now = false);

  const Authorizer& authorizer() const noexcept { return auth_; }
  CgroupTree& tree() noexcept { return tree_; }

 private:
  std::vector<Grant> grants() const;
  // Attach's checks and write for a process already pinned by `pin` (a pidfd,
  // or an empty fd on kernels without pidfds).
  void attach_pinned(const Caller& caller, const CgroupPath& dest, pid_t pid, UniqueFd pin);
  // CreateAndAttach's sequence, for either way of naming the process.
  std::string create_then_attach(const Caller& caller, std::string_view name, const Limits& limits,
                                 bool remove_when_empty, const std::function<void(const std::string&)>& attach);
  // Lock serializing mutations of one delegation (or one top-level subtree of Root).
  std::string domain_key(const CgroupPath& path) const;
  // A mutation's permission, checked twice: before waiting for the subtree's lock
  // (a refused caller never queues behind others) and again holding it (a grant
  // may have been taken back meanwhile). `grant` governs the path (nullopt for root).
  struct MutationLock {
    MutationLock(Manager& m, const Caller& caller, const CgroupPath& path, std::string_view action);
    KeyedMutex::Guard guard;
    std::optional<Grant> grant;
  };
  // For reads: the parsed path, at or below Root, which exists.
  CgroupPath readable(std::string_view text) const;
  // Throws NotFound unless the cgroup exists.
  void require_exists(const CgroupPath& path) const;
  Quota quota_of(const Grant& grant) const;
  // The groups of `uid` as the policy needs them: looked up only if it has
  // [group] sections that could apply; `fallback` (if any) when that gives none.
  std::vector<gid_t> policy_groups(uid_t uid, std::optional<gid_t> fallback) const;
  std::size_t count_cgroups_of(uid_t uid) const;
  std::size_t count_below(const CgroupPath& path) const;
  LimitMap normalize_all(const Limits& limits) const;
  void apply_limits(const CgroupPath& path, const LimitMap& limits);
  // Writes each of the quota's ceilings the cgroup's own limit exceeds or lacks.
  void apply_ceilings(const CgroupPath& path, const Quota& quota);
  void remove_tree(const CgroupPath& path);
  void save_locked();          // writes the whole state now; state_mutex_ held
  void marks_changed_locked();  // schedules a write of the marks; state_mutex_ held

  CgroupTree& tree_;
  Authorizer auth_;
  Policy policy_;
  StateStore store_;
  AccountResolver accounts_;
  EventSink sink_;
  KeyedMutex domains_;
  mutable std::mutex state_mutex_;
  PersistentState state_;
  std::optional<std::chrono::steady_clock::time_point> marks_pending_since_;
  // Marks never seen populated: when a sweep first saw each one empty.
  std::map<std::string, std::chrono::steady_clock::time_point> unpopulated_since_;
  std::chrono::milliseconds unpopulated_grace_ = kDefaultUnpopulatedGrace;
};

}  // namespace nestbox::cgmgr
