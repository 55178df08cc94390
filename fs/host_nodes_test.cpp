// SPDX-License-Identifier: Apache-2.0
#include "host_nodes.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "testkit.hpp"

namespace nestbox::fs {
namespace {

namespace tk = nestbox::testkit;

std::uint32_t number(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return static_cast<std::uint32_t>(st.st_ino);
}

struct HostNodesFixture : ::testing::Test {
  tk::TempDir dir{"nestbox-hostnodes"};
  void SetUp() override {
    dir.write("cpu0/topology/core_id", "0\n");
    dir.write("cpu1/topology/core_id", "1\n");
    dir.write("kernel_max", "8191\n");
    ASSERT_EQ(::symlink("../cpufreq", (dir.path() + "/cpu0/cpufreq").c_str()), 0);
  }
};

TEST_F(HostNodesFixture, AnEntryLookedUpIsFoundByItsNumber) {
  HostNodes nodes(dir.path());
  auto at = nodes.at("kernel_max");
  EXPECT_EQ(static_cast<std::uint32_t>(at.st.st_ino), number(dir.path() + "/kernel_max"));
  auto found = nodes.find(static_cast<std::uint32_t>(at.st.st_ino));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->rel, "kernel_max");
  EXPECT_EQ(found->st.st_mode & 0222, 0u);  // read-only, whatever the host says
}

// What a server started after the kernel looked the entries up gets asked.
TEST_F(HostNodesFixture, ANumberNeverLookedUpIsFoundByWalkingWithoutFollowingLinks) {
  HostNodes nodes(dir.path());
  auto found = nodes.find(number(dir.path() + "/cpu1/topology/core_id"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->rel, "cpu1/topology/core_id");
  auto link = nodes.find(number(dir.path() + "/cpu0/cpufreq"));
  ASSERT_TRUE(link);
  EXPECT_TRUE(S_ISLNK(link->st.st_mode));
  EXPECT_EQ(nodes.size(), 8u);  // cpu0, cpu1, their topology and core_id, kernel_max, the link
}

// After a live upgrade many numbers arrive at once: all wait for the one walk.
TEST_F(HostNodesFixture, NumbersAskedDuringAWalkAreFoundByIt) {
  for (int i = 0; i < 64; ++i) dir.write("cpu0/cache/index" + std::to_string(i) + "/level", "1\n");
  HostNodes nodes(dir.path());
  std::vector<std::thread> askers;
  std::atomic<int> found{0};
  for (int i = 0; i < 8; ++i)
    askers.emplace_back([&, i] {
      if (nodes.find(number(dir.path() + "/cpu0/cache/index" + std::to_string(i * 8) + "/level"))) ++found;
    });
  for (auto& t : askers) t.join();
  EXPECT_EQ(found, 8);
}

TEST_F(HostNodesFixture, AnEntryMadeAgainIsANewNumberAndWalksAreRationed) {
  HostNodes nodes(dir.path());
  const std::uint32_t old = nodes.at("kernel_max").st.st_ino;
  // The old entry moves away (kept, so its number stays taken) and another
  // is made under its name.
  ASSERT_EQ(::rename((dir.path() + "/kernel_max").c_str(), (dir.path() + "/kernel_max.old").c_str()), 0);
  dir.write("kernel_max", "255\n");
  const std::uint32_t now = number(dir.path() + "/kernel_max");
  ASSERT_NE(now, old);
  // The number leads to its entry, wherever it is now; never to the path's
  // new entry.
  auto moved = nodes.find(old);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->rel, "kernel_max.old");
  auto fresh = nodes.find(now);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->rel, "kernel_max");
  // A number nothing has: one walk, then none for a second.
  EXPECT_FALSE(nodes.find(0xfffffff0u));
  dir.write("late", "y\n");
  EXPECT_FALSE(nodes.find(number(dir.path() + "/late"))) << "walked again within a second";
  std::this_thread::sleep_for(HostNodes::kWalkEvery + std::chrono::milliseconds(50));
  auto late = nodes.find(number(dir.path() + "/late"));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->rel, "late");
}

}  // namespace
}  // namespace nestbox::fs
