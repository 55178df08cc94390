// SPDX-License-Identifier: Apache-2.0
// Delegations (Delegate, Undelegate, RequestUserDelegation), restoring state after
// a restart, and the remove-on-empty sweep.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "manager.hpp"
#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::cgmgr {

void Manager::delegate(const Caller& caller, std::string_view text, uid_t uid, gid_t gid) {
  Authorizer::require_root(caller, "Delegate");
  const CgroupPath path = CgroupPath::parse(text);
  auth_.authorize_delegate(caller, path, uid, grants());
  auto guard = domains_.lock(domain_key(path));
  auth_.authorize_delegate(caller, path, uid, grants());
  if (!tree_.exists(path)) throw Error(Errc::NotFound, path.str() + " does not exist; Create it first");
  // The user's policy ceilings hold in a delegation root made too, as in one
  // RequestUserDelegation makes: written on the cgroup itself wherever its own
  // limit is looser or absent, so the kernel enforces them below. A ceiling the
  // kernel refuses (memory.max below current usage, say) fails the Delegate
  // before anything is granted.
  apply_ceilings(path, quota_of(Grant{path, uid, gid, false}));
  // The grant is recorded before the chown: a crash in between is repaired by
  // restore(), which re-applies every recorded grant.
  {
    std::lock_guard lock(state_mutex_);
    PersistentState before = state_;
    auto it = std::find_if(state_.grants.begin(), state_.grants.end(), [&](const Grant& g) { return g.path == path; });
    if (it == state_.grants.end())
      state_.grants.push_back(Grant{path, uid, gid, false});
    else
      *it = Grant{path, uid, gid, false};
    try {
      save_locked();
    } catch (...) {
      state_ = std::move(before);
      throw;
    }
  }
  try {
    auto entries = tree_.delegate(path, uid, gid);
    spdlog::debug("delegated {} to {}:{} ({} entries)", path.str(), uid, gid, entries.size());
  } catch (...) {
    std::lock_guard lock(state_mutex_);
    std::erase_if(state_.grants, [&](const Grant& g) { return g.path == path; });
    save_locked();
    throw;
  }
}

void Manager::apply_ceilings(const CgroupPath& path, const Quota& quota) {
  for (const auto& [key, ceiling] : quota.ceilings) {
    const auto current = tree_.limit(path, key);
    // An empty cpuset inherits the parent's, which may be wider.
    if (current && !current->empty() && within_ceiling(key, *current, ceiling, nullptr)) continue;
    spdlog::info("delegating {}: {} {} -> {} (the user's ceiling)", path.str(), key, current.value_or("unset"),
                 ceiling);
    tree_.set_limit(path, key, ceiling);
  }
}

void Manager::undelegate(const Caller& caller, std::string_view text) {
  Authorizer::require_root(caller, "Undelegate");
  const CgroupPath path = CgroupPath::parse(text);
  auto guard = domains_.lock(domain_key(path));
  auto all = grants();
  auto it = std::find_if(all.begin(), all.end(), [&](const Grant& g) { return g.path == path; });
  if (it == all.end()) throw Error(Errc::NotFound, path.str() + " is not delegated (see ListDelegations)");
  // Ownership goes back first, the record second: a crash in between leaves the
  // grant recorded and restore() re-applies it, so the caller's retry decides.
  if (tree_.exists(path)) tree_.delegate(path, 0, 0);
  std::lock_guard lock(state_mutex_);
  std::erase_if(state_.grants, [&](const Grant& g) { return g.path == path; });
  save_locked();
}

std::string Manager::request_user_delegation(const Caller& caller) {
  if (caller.is_root())
    throw Error(Errc::InvalidValue, "root manages the whole manager root and needs no delegation");
  const CgroupPath path = auth_.root().child("user-" + std::to_string(caller.uid));
  auto guard = domains_.lock(path.str());
  for (const Grant& g : grants()) {
    if (g.path != path) continue;
    if (g.uid == caller.uid) return path.str();
    throw Error(Errc::Exists, path.str() + " is delegated to uid " + std::to_string(g.uid));
  }
  const bool gid_known = caller.gid != static_cast<gid_t>(-1);
  auto match = policy_.for_user(caller.uid, policy_groups(caller.uid, gid_known ? std::optional(caller.gid)
                                                                                : std::nullopt));
  if (!match)
    throw Error(Errc::PermissionDenied, "the policy grants uid " + std::to_string(caller.uid) +
                                            " no delegation; an administrator can add a [user.<name>] or "
                                            "[group.<name>] section to the policy file, or Delegate a cgroup");
  // The delegation's group: the uid's primary group, else (unknown account) the uid.
  gid_t gid = gid_known ? caller.gid : static_cast<gid_t>(caller.uid);
  if (accounts_.primary_gid)
    if (auto primary = accounts_.primary_gid(caller.uid)) gid = *primary;
  const bool created = !tree_.exists(path);
  if (created) tree_.create(path);
  try {
    // The ceilings are also written on the delegated cgroup itself, so the kernel
    // enforces them hierarchically whatever happens below.
    apply_limits(path, match->quota.ceilings);
    {
      std::lock_guard lock(state_mutex_);
      state_.grants.push_back(Grant{path, caller.uid, gid, true});
      save_locked();
    }
    tree_.delegate(path, caller.uid, gid);
  } catch (...) {
    {
      std::lock_guard lock(state_mutex_);
      std::erase_if(state_.grants, [&](const Grant& g) { return g.path == path; });
      try {
        save_locked();
      } catch (const Error&) {
      }
    }
    if (created) {
      try {
        tree_.remove(path);
      } catch (const Error&) {
      }
    }
    throw;
  }
  spdlog::info("granted {} to uid {} per {}", path.str(), caller.uid, match->source);
  return path.str();
}

std::string Manager::create_then_attach(const Caller& caller, std::string_view name, const Limits& limits,
                                        bool remove_when_empty,
                                        const std::function<void(const std::string&)>& attach) {
  Manager& m = *this;
  std::string why;
  if (!CgroupPath::is_valid_name(name, &why))
    throw Error(Errc::InvalidPath, "'" + std::string(name) + "' is not a cgroup name: " + why);
  normalize_all(limits);  // throws for a bad limit before the delegation may be created
  const std::string path = CgroupPath::parse(m.request_user_delegation(caller)).child(name).str();
  m.create(caller, path, limits);
  try {
    // Mark first, then attach: attach counts a marked cgroup as populated the
    // moment it receives the process. Marking afterwards would record
    // "never populated" whenever the process had already exited (its launcher
    // killed mid-start), and such a mark is never swept: the name stayed taken.
    if (remove_when_empty) m.remove_on_empty(caller, path, true);
    attach(path);
  } catch (...) {
    try {
      m.remove(caller, path, true);
    } catch (const Error& e) {
      spdlog::warn("CreateAndAttach: cannot undo {}: {}", path, e.what());
    }
    throw;
  }
  return path;
}

std::string Manager::create_and_attach(const Caller& caller, std::string_view name, const Limits& limits,
                                       std::uint32_t pid, bool remove_when_empty) {
  return create_then_attach(caller, name, limits, remove_when_empty,
                            [&](const std::string& path) { attach(caller, path, pid); });
}

std::string Manager::create_and_attach_pidfd(const Caller& caller, std::string_view name, const Limits& limits,
                                             int pidfd, bool remove_when_empty) {
  return create_then_attach(caller, name, limits, remove_when_empty,
                            [&](const std::string& path) { attach_pidfd(caller, path, pidfd); });
}

void Manager::restore() {
  PersistentState loaded = store_.load();
  PersistentState kept;
  for (const Grant& g : loaded.grants) {
    if (!auth_.root().is_strict_ancestor_of(g.path) || !tree_.exists(g.path)) {
      spdlog::warn("dropping delegation of {} to uid {}: no longer below {} or gone", g.path.str(), g.uid,
                   auth_.root().str());
      continue;
    }
    // A grant counts only if Delegate itself would make it now, next to the
    // ones already kept: none for uid 0 or -1, none nested in or overlapping
    // another, no path given to two users, a real gid.
    try {
      auth_.authorize_delegate(Caller{0, 0, 0, false}, g.path, g.uid, kept.grants);
      if (g.gid == static_cast<gid_t>(-1)) throw Error(Errc::InvalidValue, "gid -1 is not a group");
      if (std::any_of(kept.grants.begin(), kept.grants.end(), [&](const Grant& k) { return k.path == g.path; }))
        throw Error(Errc::Exists, "listed twice");
    } catch (const Error& e) {
      spdlog::warn("dropping delegation of {} to uid {} from {}: {}", g.path.str(), g.uid, store_.path(), e.what());
      continue;
    }
    try {
      tree_.delegate(g.path, g.uid, g.gid);  // idempotent: repairs an interrupted Delegate
      kept.grants.push_back(g);
    } catch (const Error& e) {
      spdlog::error("cannot re-apply delegation of {} to uid {}: {}", g.path.str(), g.uid, e.what());
      kept.grants.push_back(g);
    }
  }
  // Policy delegations are recognisable on disk (<Root>/user-<uid> owned by uid):
  // adopt them even if the state file was lost.
  if (tree_.exists(auth_.root())) {
    for (const auto& name : tree_.children(auth_.root())) {
      if (name.rfind("user-", 0) != 0) continue;
      auto uid_text = name.substr(5);
      uid_t uid = 0;
      try {
        uid = static_cast<uid_t>(parse_u64(uid_text));
      } catch (const Error&) {
        continue;
      }
      const CgroupPath path = auth_.root().child(name);
      if (uid == 0 || tree_.owner(path) != uid) continue;
      bool known = std::any_of(kept.grants.begin(), kept.grants.end(),
                               [&](const Grant& g) { return g.path == path; });
      if (known) continue;
      gid_t gid = uid;
      if (accounts_.primary_gid)
        if (auto primary = accounts_.primary_gid(uid)) gid = *primary;
      spdlog::info("adopting delegation {} of uid {} found on disk", path.str(), uid);
      kept.grants.push_back(Grant{path, uid, gid, true});
    }
  }
  for (const auto& [text, seen] : loaded.remove_on_empty) {
    auto path = CgroupPath::try_parse(text);
    if (path && tree_.exists(*path)) kept.remove_on_empty[text] = seen;
  }
  std::lock_guard lock(state_mutex_);
  state_ = std::move(kept);
  save_locked();
  spdlog::info("state: {} delegations, {} remove-on-empty marks", state_.grants.size(),
               state_.remove_on_empty.size());
}

std::vector<std::string> Manager::marked_paths() const {
  std::lock_guard lock(state_mutex_);
  std::vector<std::string> out;
  for (const auto& [path, seen] : state_.remove_on_empty) out.push_back(path);
  return out;
}

std::optional<std::chrono::milliseconds> Manager::sweep_remove_on_empty(std::chrono::steady_clock::time_point now) {
  std::optional<std::chrono::milliseconds> next;
  for (const std::string& text : marked_paths()) {
    auto path = CgroupPath::try_parse(text);
    if (!path) continue;
    auto guard = domains_.lock(domain_key(*path));
    bool drop = false;
    bool remove = false;
    try {
      if (!tree_.exists(*path)) {
        drop = true;
      } else if (tree_.populated(*path)) {
        std::lock_guard lock(state_mutex_);
        unpopulated_since_.erase(text);
        auto it = state_.remove_on_empty.find(text);
        if (it != state_.remove_on_empty.end() && !it->second) {
          it->second = true;
          marks_changed_locked();
        }
        continue;
      } else {
        std::lock_guard lock(state_mutex_);
        auto it = state_.remove_on_empty.find(text);
        if (it == state_.remove_on_empty.end()) continue;
        if (it->second) {
          remove = true;  // held processes and has none left: the ordinary case
        } else {
          const auto since = unpopulated_since_.emplace(text, now).first->second;
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(since + unpopulated_grace_ - now);
          if (left.count() <= 0) {
            remove = true;
            spdlog::info("remove-on-empty: {} held no process for {} ms after it was marked", text,
                         unpopulated_grace_.count());
          } else if (!next || left < *next) {
            next = left;
          }
        }
      }
      if (remove) {
        if (sink_.emptied) sink_.emptied(text);
        remove_tree(*path);
        spdlog::info("remove-on-empty: removed {}", text);
        if (sink_.removed) sink_.removed(text);
        drop = true;
      }
    } catch (const Error& e) {
      spdlog::warn("remove-on-empty {}: {}", text, e.what());
      continue;
    }
    if (drop) {
      std::lock_guard lock(state_mutex_);
      unpopulated_since_.erase(text);
      state_.remove_on_empty.erase(text);
      marks_changed_locked();
    }
  }
  return next;
}

}  // namespace nestbox::cgmgr
