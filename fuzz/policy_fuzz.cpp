// SPDX-License-Identifier: Apache-2.0
// Input: the text of nestbox-cgmgr's policy file (/etc/nestbox/cgmgr.toml).
// The administrator writes it, but a typo or a half-written file must stop the
// daemon with a message, never crash it or yield a policy that breaks the
// rules parse_policy promises.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"
#include "policy.hpp"

namespace {

// Accounts without the system databases: the names cgmgr.toml.example uses
// (numeric ids are resolved by parse_policy itself).
nestbox::cgmgr::AccountResolver fake_accounts() {
  nestbox::cgmgr::AccountResolver r;
  static const std::map<std::string, unsigned> users = {{"alice", 1001}, {"bob", 1002}, {"root", 0}};
  static const std::map<std::string, unsigned> groups = {{"containers", 2000}, {"devs", 2001}, {"root", 0}};
  auto lookup = [](const std::map<std::string, unsigned>& table, const std::string& name) -> std::optional<unsigned> {
    auto it = table.find(name);
    return it == table.end() ? std::nullopt : std::optional<unsigned>(it->second);
  };
  r.user_id = [=](const std::string& n) -> std::optional<uid_t> { return lookup(users, n); };
  r.group_id = [=](const std::string& n) -> std::optional<gid_t> { return lookup(groups, n); };
  r.groups_of = [](uid_t uid) { return std::vector<gid_t>{uid, 100}; };
  r.primary_gid = [](uid_t uid) -> std::optional<gid_t> { return uid; };
  return r;
}

void check_quota(const nestbox::cgmgr::Quota& q) {
  NESTBOX_FUZZ_CHECK(q.max_cgroups >= 1 && q.max_depth >= 1);
  NESTBOX_FUZZ_CHECK(q.max_depth <= nestbox::CgroupPath::kMaxDepth);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox::cgmgr;
  static const AccountResolver accounts = fake_accounts();
  Policy policy;
  try {
    policy = parse_policy(nestbox::fuzz::as_text(data, size), "fuzz.toml", accounts);
  } catch (const nestbox::Error& e) {
    NESTBOX_FUZZ_CHECK(e.code() == nestbox::Errc::InvalidValue);
    return 0;
  }
  check_quota(policy.defaults);
  NESTBOX_FUZZ_CHECK(!policy.users.contains(0));
  for (const auto& [uid, q] : policy.users) {
    check_quota(q);
    auto match = policy.for_user(uid, {});
    NESTBOX_FUZZ_CHECK(match && match->quota == q);
  }
  for (const auto& [gid, q] : policy.groups) {
    check_quota(q);
    (void)policy.for_user(4000000000u, {gid});
  }
  (void)policy.quota_for_grant(1000, {100, 1000});
  return 0;
}
