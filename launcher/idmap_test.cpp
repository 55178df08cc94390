// SPDX-License-Identifier: Apache-2.0
#include "idmap.hpp"

#include <gtest/gtest.h>

#include "testkit.hpp"
#include "userns.hpp"

namespace nestbox::launcher {
namespace {

constexpr const char* kSubuid =
    "# comment\n"
    "alice:100000:65536\n"
    "bob:165536:0\n"          // empty range: ignored
    "bob:x:65536\n"           // malformed
    "1002:300000:1000\n"      // by numeric uid
    "bob:231072:65536\n"
    "carol:4294967000:1000\n";  // wraps past 2^32: ignored

TEST(SubIdRange, FindsFirstValidRangeByNameOrId) {
  EXPECT_EQ(find_subid_range(kSubuid, "alice", 1000), (SubIdRange{100000, 65536}));
  EXPECT_EQ(find_subid_range(kSubuid, "bob", 1001), (SubIdRange{231072, 65536}));
  EXPECT_EQ(find_subid_range(kSubuid, "dave", 1002), (SubIdRange{300000, 1000}));
  EXPECT_FALSE(find_subid_range(kSubuid, "carol", 1003));
  EXPECT_FALSE(find_subid_range(kSubuid, "nobody", 65534));
  EXPECT_FALSE(find_subid_range("", "alice", 1000));
}

TEST(IdMap, OwnIdIsRootAndRangeFollows) {
  auto map = container_id_map(1000, SubIdRange{100000, 65536});
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[0], (IdMapEntry{0, 1000, 1}));
  EXPECT_EQ(map[1], (IdMapEntry{1, 100000, 65536}));
  EXPECT_EQ(highest_inside_id(map), 65536u);
  EXPECT_EQ(newidmap_arguments(map), (std::vector<std::string>{"0", "1000", "1", "1", "100000", "65536"}));
  EXPECT_EQ(idmap_file_text(map), "0 1000 1\n1 100000 65536\n");
}

TEST(IdMap, SingleIdWithoutRange) {
  auto map = container_id_map(1000, std::nullopt);
  ASSERT_EQ(map.size(), 1u);
  EXPECT_EQ(map[0], (IdMapEntry{0, 1000, 1}));
  EXPECT_EQ(highest_inside_id(map), 0u);
}

TEST(IdMap, RangeContainingOwnIdSkipsIt) {
  auto map = container_id_map(100010, SubIdRange{100000, 100});
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[1], (IdMapEntry{1, 100000, 10}));
  EXPECT_EQ(map[2], (IdMapEntry{11, 100011, 89}));
  // Every host id of the range except our own appears exactly once.
  std::uint32_t covered = 0;
  for (std::size_t i = 1; i < map.size(); ++i) covered += map[i].count;
  EXPECT_EQ(covered, 99u);
}

TEST(IdMap, PlanReadsFixtureFiles) {
  testkit::TempDir dir("nestbox-idmap");
  auto subuid = dir.write("subuid", std::to_string(::getuid()) + ":500000:1000\n");
  auto subgid = dir.write("subgid", "");
  auto plan = plan_id_maps(::getuid(), ::getgid(), subuid, subgid);
  ASSERT_EQ(plan.uid_map.size(), 2u);
  EXPECT_EQ(plan.uid_map[1], (IdMapEntry{1, 500000, 1000}));
  ASSERT_EQ(plan.gid_map.size(), 1u);
  EXPECT_EQ(plan.gid_map[0], (IdMapEntry{0, static_cast<std::uint32_t>(::getgid()), 1}));
}

}  // namespace
}  // namespace nestbox::launcher
