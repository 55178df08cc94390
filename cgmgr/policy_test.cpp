// SPDX-License-Identifier: Apache-2.0
// Policy parser: accepted forms, inheritance, and every rejection with its message.
#include <gtest/gtest.h>

#include <fstream>

#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "policy.hpp"

namespace nestbox::cgmgr {
namespace {

AccountResolver fake_accounts() {
  AccountResolver r;
  r.user_id = [](const std::string& n) -> std::optional<uid_t> {
    if (n == "alice") return 1000;
    if (n == "bob") return 1001;
    return std::nullopt;
  };
  r.group_id = [](const std::string& n) -> std::optional<gid_t> {
    if (n == "devs") return 500;
    if (n == "ops") return 400;
    return std::nullopt;
  };
  r.groups_of = [](uid_t) { return std::vector<gid_t>{}; };
  r.primary_gid = [](uid_t u) -> std::optional<gid_t> { return u; };
  return r;
}

Policy parse(const std::string& text) { return parse_policy(text, "test.toml", fake_accounts()); }

// Expects parsing to fail with InvalidValue and a message containing `needle`.
void expect_rejected(const std::string& text, const std::string& needle) {
  try {
    parse(text);
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::InvalidValue);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.toml"), std::string::npos) << e.what();
  }
}

TEST(Policy, EmptyFileGrantsNobody) {
  Policy p = parse("");
  EXPECT_TRUE(p.users.empty());
  EXPECT_TRUE(p.groups.empty());
  EXPECT_FALSE(p.for_user(1000, {1000}).has_value());
  EXPECT_EQ(p.quota_for_grant(1000, {}), Quota{});
}

TEST(Policy, UserSectionsByNameAndUidInheritDefaults) {
  Policy p = parse(R"(
[defaults]
max_cgroups = 10
max_depth = 3
[defaults.limits]
"pids.max" = 100
[user.alice]
max_depth = 5
[user.alice.limits]
memory.max = "1G"
[user.2000]
)");
  ASSERT_EQ(p.users.size(), 2u);
  const Quota& alice = p.users.at(1000);
  EXPECT_EQ(alice.max_cgroups, 10u);
  EXPECT_EQ(alice.max_depth, 5u);
  EXPECT_EQ(alice.ceilings.at("memory.max"), normalize_limit("memory.max", "1G"));
  EXPECT_EQ(alice.ceilings.at("pids.max"), normalize_limit("pids.max", "100"));
  EXPECT_EQ(p.users.at(2000), p.defaults);
  auto match = p.for_user(1000, {});
  ASSERT_TRUE(match);
  EXPECT_EQ(match->source, "[user.alice]");
}

TEST(Policy, QuotedAndDottedLimitKeysAreTheSame) {
  Policy a = parse("[user.alice.limits]\n\"cpu.max\" = \"50000 100000\"\n");
  Policy b = parse("[user.alice.limits]\ncpu.max = \"50000 100000\"\n");
  EXPECT_EQ(a.users.at(1000), b.users.at(1000));
}

TEST(Policy, GroupMatchLowestGidAndUserWins) {
  Policy p = parse(R"(
[group.devs]
max_cgroups = 5
[group.ops]
max_cgroups = 7
[user.alice]
max_cgroups = 9
)");
  auto bob = p.for_user(1001, {500, 400});
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->quota.max_cgroups, 7u);  // ops has the lower gid
  EXPECT_EQ(bob->source, "[group.ops]");
  EXPECT_EQ(p.for_user(1000, {500})->quota.max_cgroups, 9u);
  EXPECT_FALSE(p.for_user(1002, {100}));
  EXPECT_EQ(p.quota_for_grant(1002, {100}), p.defaults);
  // Groups matter only to users without their own section.
  EXPECT_FALSE(p.needs_groups(1000));
  EXPECT_TRUE(p.needs_groups(1001));
}

TEST(Policy, GroupsAreNotNeededWithoutGroupSections) {
  Policy p = parse("[user.alice]\nmax_cgroups = 3\n");
  EXPECT_FALSE(p.needs_groups(1000));
  EXPECT_FALSE(p.needs_groups(1001));
}

TEST(Policy, RejectsUnknownKeysAndSections) {
  expect_rejected("[defaults]\nmax_cgroup = 3\n", "defaults.max_cgroup");
  expect_rejected("[users.alice]\n", "unknown section");
  expect_rejected("[user.alice]\ncolour = \"red\"\n", "user.alice.colour");
  expect_rejected("[user.alice.limits]\n\"memory.high\" = \"1G\"\n", "memory.high");
}

TEST(Policy, RejectsBadValues) {
  expect_rejected("[user.alice.limits]\nmemory.max = \"12X\"\n", "memory.max");
  expect_rejected("[user.alice.limits]\nmemory.max = -5\n", "memory.max");
  expect_rejected("[user.alice.limits]\nmemory.max = 1.5\n", "memory.max");
  expect_rejected("[user.alice.limits]\ncpuset.cpus = \"3-1\"\n", "cpuset.cpus");
  expect_rejected("[user.alice.limits]\n\"io.max\" = \"8:0 rbps=1\"\n", "io.max");
  expect_rejected("[defaults]\nmax_cgroups = 0\n", "max_cgroups");
  expect_rejected("[defaults]\nmax_depth = \"4\"\n", "max_depth");
  expect_rejected("[defaults]\nmax_depth = 1000\n", "max_depth");
  expect_rejected("[defaults\n", "test.toml:");
}

TEST(Policy, RejectsBadUsersAndGroups) {
  expect_rejected("[user.mallory]\n", "unknown user 'mallory'");
  expect_rejected("[group.nogroup]\n", "unknown group 'nogroup'");
  expect_rejected("[user.root]\n", "unknown user");
  expect_rejected("[user.0]\n", "root needs no delegation");
  expect_rejected("[user.alice]\n[user.1000]\n", "listed twice");
  expect_rejected("[user.99999999999]\n", "numeric");
}

TEST(Policy, ExampleFileIsValidAsShippedAndGrantsNobody) {
  // On a host that has none of the example's accounts.
  AccountResolver nobody = fake_accounts();
  nobody.user_id = [](const std::string&) -> std::optional<uid_t> { return std::nullopt; };
  nobody.group_id = [](const std::string&) -> std::optional<gid_t> { return std::nullopt; };
  Policy p = load_policy(std::string(NESTBOX_CGMGR_SOURCE_DIR) + "/cgmgr.toml.example", nobody);
  EXPECT_TRUE(p.users.empty());
  EXPECT_TRUE(p.groups.empty());
  EXPECT_EQ(p.defaults.ceilings.at("pids.max"), "4096");
}

TEST(Policy, ExampleSectionsParseOnceUncommented) {
  // What an administrator gets by removing the "# " of the example sections.
  std::ifstream in(std::string(NESTBOX_CGMGR_SOURCE_DIR) + "/cgmgr.toml.example");
  std::string text;
  for (std::string line; std::getline(in, line);) {
    const bool example = line.rfind("# [", 0) == 0 || (line.rfind("# ", 0) == 0 && line.find(" = ") != std::string::npos);
    text += (example ? line.substr(2) : line) + "\n";
  }
  AccountResolver r = fake_accounts();
  auto base = r.group_id;
  r.group_id = [base](const std::string& n) -> std::optional<gid_t> {
    return n == "containers" ? std::optional<gid_t>(600) : base(n);
  };
  Policy p = parse_policy(text, "cgmgr.toml", r);
  EXPECT_EQ(p.users.at(1000).max_cgroups, 128u);
  EXPECT_EQ(p.users.at(1000).ceilings.at("cpu.max"), "200000 100000");
  EXPECT_EQ(p.groups.at(600).ceilings.at("memory.swap.max"), "0");
}

TEST(Policy, MissingFileIsNotFound) {
  try {
    load_policy("/nonexistent/cgmgr.toml", fake_accounts());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::NotFound);
  }
}

}  // namespace
}  // namespace nestbox::cgmgr
