// SPDX-License-Identifier: Apache-2.0
// The administrator's policy (/etc/nestbox/cgmgr.toml): which users and groups may
// ask for their own cgroup subtree, and the quotas and ceilings inside it.
// Parsing validates everything up front (unknown keys, sizes, users, groups) so a
// bad file stops the daemon at start with a message naming the offending key.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nestbox::cgmgr {

// Normalized v2 limit key -> normalized value ("memory.max" -> "2147483648").
using LimitMap = std::map<std::string, std::string, std::less<>>;

struct Quota {
  unsigned max_cgroups = 64;  // cgroups a user may have below all its delegations
  unsigned max_depth = 8;     // levels below the delegated cgroup
  LimitMap ceilings;          // upper bounds for every limit set inside the delegation
  friend bool operator==(const Quota&, const Quota&) = default;
};

// Where a user's quota came from, for messages and logs.
struct QuotaMatch {
  Quota quota;
  std::string source;  // "[user.alice]", "[group.devs]"
};

// Resolves user and group names (injected so tests need no real accounts).
struct AccountResolver {
  std::function<std::optional<uid_t>(const std::string&)> user_id;
  std::function<std::optional<gid_t>(const std::string&)> group_id;
  // All groups of a uid (primary and supplementary).
  std::function<std::vector<gid_t>(uid_t)> groups_of;
  // Primary gid of a uid (nullopt for an unknown uid).
  std::function<std::optional<gid_t>(uid_t)> primary_gid;
  // The real system databases (getpwnam/getgrnam/getgrouplist).
  static AccountResolver system();
};

struct Policy {
  Quota defaults;                 // [defaults]: base of every section and of root's grants
  std::map<uid_t, Quota> users;   // [user.<name|uid>]
  std::map<gid_t, Quota> groups;  // [group.<name|gid>]
  std::map<uid_t, std::string> user_labels;
  std::map<gid_t, std::string> group_labels;

  // The quota RequestUserDelegation hands to `uid`: its [user] section, else the
  // section of its group with the lowest gid; nullopt if the policy names neither.
  std::optional<QuotaMatch> for_user(uid_t uid, const std::vector<gid_t>& gids) const;
  // Whether for_user/quota_for_grant would look at the groups of `uid`: only when
  // it has no [user] section and [group] sections exist. Callers skip the account
  // database lookup otherwise (it is the slowest part of a Create).
  bool needs_groups(uid_t uid) const { return !users.contains(uid) && !groups.empty(); }
  // Quota applied inside a grant root made for `uid` (its section, else defaults).
  Quota quota_for_grant(uid_t uid, const std::vector<gid_t>& gids) const;
};

// Parses policy text. `origin` names the file in error messages. Throws
// nestbox::Error(InvalidValue) with "<origin>: <key>: <problem>".
Policy parse_policy(std::string_view text, const std::string& origin,
                    const AccountResolver& accounts = AccountResolver::system());
// Reads and parses a file; a missing file throws NotFound.
Policy load_policy(const std::string& path,
                   const AccountResolver& accounts = AccountResolver::system());

}  // namespace nestbox::cgmgr
