// SPDX-License-Identifier: Apache-2.0
#include "policy.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::cgmgr {
namespace {

constexpr unsigned kMaxCgroupsLimit = 100000;

[[noreturn]] void fail(const std::string& origin, const std::string& where, const std::string& what) {
  throw Error(Errc::InvalidValue, origin + ": " + where + ": " + what);
}

std::string line_of(const toml::node& node) {
  const auto& src = node.source();
  return src.begin.line ? " (line " + std::to_string(src.begin.line) + ")" : std::string{};
}

unsigned read_count(const toml::node& node, const std::string& origin, const std::string& where,
                    unsigned max) {
  auto value = node.value<std::int64_t>();
  if (!node.is_integer() || !value)
    fail(origin, where, "must be an integer" + line_of(node));
  if (*value < 1 || *value > static_cast<std::int64_t>(max))
    fail(origin, where, "must be between 1 and " + std::to_string(max) + line_of(node));
  return static_cast<unsigned>(*value);
}

// Flattens dotted TOML keys back into cgroup file names: `memory.max = "1G"` parses
// as table memory{max}, which is what people naturally write.
void collect_limits(const toml::table& table, const std::string& prefix, const std::string& origin,
                    const std::string& where, LimitMap& out) {
  for (const auto& [key, node] : table) {
    std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* sub = node.as_table()) {
      collect_limits(*sub, name, origin, where, out);
      continue;
    }
    std::string text;
    if (auto s = node.value_exact<std::string>()) {
      text = *s;
    } else if (auto i = node.value_exact<std::int64_t>(); i && *i >= 0) {
      text = std::to_string(*i);
    } else {
      fail(origin, where + "." + name, "must be a string such as \"2G\" or a non-negative integer" + line_of(node));
    }
    if (!is_limit_key(name))
      fail(origin, where + "." + name, "unknown limit; known limits are memory.max, memory.swap.max, "
                                        "cpu.max, cpu.weight, cpuset.cpus, cpuset.mems, pids.max" + line_of(node));
    if (name == "io.max")
      fail(origin, where + "." + name, "io.max cannot be used as a ceiling" + line_of(node));
    try {
      out[name] = normalize_limit(name, text);
    } catch (const Error& e) {
      fail(origin, where + "." + name, std::string(e.what()) + line_of(node));
    }
  }
}

// Applies one section on top of `base` (keys not given are inherited).
Quota read_quota(const toml::table& table, const Quota& base, const std::string& origin,
                 const std::string& where) {
  Quota quota = base;
  for (const auto& [key, node] : table) {
    std::string k(key.str());
    if (k == "max_cgroups") {
      quota.max_cgroups = read_count(node, origin, where + ".max_cgroups", kMaxCgroupsLimit);
    } else if (k == "max_depth") {
      quota.max_depth = read_count(node, origin, where + ".max_depth",
                                   static_cast<unsigned>(CgroupPath::kMaxDepth));
    } else if (k == "limits") {
      const auto* limits = node.as_table();
      if (!limits) fail(origin, where + ".limits", "must be a table" + line_of(node));
      collect_limits(*limits, "", origin, where + ".limits", quota.ceilings);
    } else {
      fail(origin, where + "." + k, "unknown key (expected max_cgroups, max_depth or limits)" + line_of(node));
    }
  }
  return quota;
}

// "alice" or "1000".
template <typename Id>
Id resolve_id(const std::string& name, const std::function<std::optional<Id>(const std::string&)>& lookup,
              const std::string& origin, const std::string& where, const char* kind) {
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    try {
      auto v = parse_u64(name);
      if (v < 0xffffffffULL) return static_cast<Id>(v);
    } catch (const Error&) {
    }
    fail(origin, where, std::string("bad numeric ") + kind + " id");
  }
  if (auto id = lookup ? lookup(name) : std::nullopt) return *id;
  fail(origin, where, std::string("unknown ") + kind + " '" + name + "'");
}

}  // namespace

AccountResolver AccountResolver::system() {
  AccountResolver r;
  r.user_id = [](const std::string& name) -> std::optional<uid_t> {
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || !result) return std::nullopt;
    return pw.pw_uid;
  };
  r.group_id = [](const std::string& name) -> std::optional<gid_t> {
    struct group gr {};
    struct group* result = nullptr;
    std::vector<char> buf(16384);
    if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result) != 0 || !result) return std::nullopt;
    return gr.gr_gid;
  };
  r.groups_of = [](uid_t uid) -> std::vector<gid_t> {
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) != 0 || !result) return {};
    int count = 64;
    std::vector<gid_t> gids(static_cast<std::size_t>(count));
    while (getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &count) < 0) {
      if (count > 65536) return {pw.pw_gid};
      gids.resize(static_cast<std::size_t>(count) * 2);
      count = static_cast<int>(gids.size());
    }
    gids.resize(static_cast<std::size_t>(count));
    return gids;
  };
  r.primary_gid = [](uid_t uid) -> std::optional<gid_t> {
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) != 0 || !result) return std::nullopt;
    return pw.pw_gid;
  };
  return r;
}

std::optional<QuotaMatch> Policy::for_user(uid_t uid, const std::vector<gid_t>& gids) const {
  if (auto it = users.find(uid); it != users.end())
    return QuotaMatch{it->second, "[user." + user_labels.at(uid) + "]"};
  // Lowest gid wins when several groups match: deterministic and documented.
  std::vector<gid_t> sorted = gids;
  std::sort(sorted.begin(), sorted.end());
  for (gid_t gid : sorted)
    if (auto it = groups.find(gid); it != groups.end())
      return QuotaMatch{it->second, "[group." + group_labels.at(gid) + "]"};
  return std::nullopt;
}

Quota Policy::quota_for_grant(uid_t uid, const std::vector<gid_t>& gids) const {
  if (auto match = for_user(uid, gids)) return match->quota;
  return defaults;
}

Policy parse_policy(std::string_view text, const std::string& origin, const AccountResolver& accounts) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw Error(Errc::InvalidValue, origin + ":" + std::to_string(where.line) + ":" +
                                        std::to_string(where.column) + ": " + std::string(e.description()));
  }
  Policy policy;
  if (const auto* node = root.get("defaults")) {
    const auto* table = node->as_table();
    if (!table) fail(origin, "defaults", "must be a table");
    policy.defaults = read_quota(*table, Quota{}, origin, "defaults");
  }
  for (const auto& [key, node] : root) {
    std::string k(key.str());
    if (k == "defaults") continue;
    if (k != "user" && k != "group")
      fail(origin, k, "unknown section (expected [defaults], [user.<name>] or [group.<name>])" + line_of(node));
    const auto* sections = node.as_table();
    if (!sections) fail(origin, k, "must contain [" + k + ".<name>] tables" + line_of(node));
    for (const auto& [name_key, section] : *sections) {
      std::string name(name_key.str());
      std::string where = k + "." + name;
      const auto* table = section.as_table();
      if (!table) fail(origin, where, "must be a table" + line_of(section));
      Quota quota = read_quota(*table, policy.defaults, origin, where);
      if (k == "user") {
        uid_t uid = resolve_id<uid_t>(name, accounts.user_id, origin, where, "user");
        if (uid == 0) fail(origin, where, "root needs no delegation");
        if (!policy.users.emplace(uid, quota).second)
          fail(origin, where, "uid " + std::to_string(uid) + " is listed twice");
        policy.user_labels[uid] = name;
      } else {
        gid_t gid = resolve_id<gid_t>(name, accounts.group_id, origin, where, "group");
        if (!policy.groups.emplace(gid, quota).second)
          fail(origin, where, "gid " + std::to_string(gid) + " is listed twice");
        policy.group_labels[gid] = name;
      }
    }
  }
  return policy;
}

Policy load_policy(const std::string& path, const AccountResolver& accounts) {
  std::ifstream in(path);
  if (!in) throw Error(Errc::NotFound, "cannot read policy file " + path, errno);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_policy(buffer.str(), path, accounts);
}

}  // namespace nestbox::cgmgr
