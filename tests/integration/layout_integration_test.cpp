// SPDX-License-Identifier: Apache-2.0
// Host layout discovery checked against what statfs says the mounts are.
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "nestbox/layout.hpp"
#include "testkit.hpp"

namespace nestbox {
namespace {

std::optional<long> fs_magic(const char* path) {
  struct statfs st {};
  if (::statfs(path, &st) != 0) return std::nullopt;
  return static_cast<long>(st.f_type);
}

TEST(HostLayoutIntegration, MatchesTheMountedFilesystems) {
  auto layout = HostLayout::discover();
  auto top = fs_magic("/sys/fs/cgroup");
  auto unified = fs_magic("/sys/fs/cgroup/unified");
  auto memory = fs_magic("/sys/fs/cgroup/memory");
  if (top == CGROUP2_SUPER_MAGIC) {
    EXPECT_EQ(layout.layout, Layout::Unified);
    ASSERT_NE(layout.unified(), nullptr);
    EXPECT_EQ(layout.unified()->mountpoint, "/sys/fs/cgroup");
  } else if (unified == CGROUP2_SUPER_MAGIC && memory == CGROUP_SUPER_MAGIC) {
    EXPECT_EQ(layout.layout, Layout::Hybrid);
    ASSERT_NE(layout.unified(), nullptr);
    EXPECT_EQ(layout.unified()->mountpoint, "/sys/fs/cgroup/unified");
    ASSERT_NE(layout.mount_for("memory"), nullptr);
    EXPECT_EQ(layout.mount_for("memory")->mountpoint, "/sys/fs/cgroup/memory");
  } else if (memory == CGROUP_SUPER_MAGIC) {
    EXPECT_EQ(layout.layout, Layout::Legacy);
  } else {
    GTEST_SKIP() << "cgroups are not mounted below /sys/fs/cgroup in a known way";
  }
}

TEST(HostLayoutIntegration, OwnMembershipResolves) {
  auto tree = open_host_cgroup_tree();
  auto mine = tree->primary_cgroup_of(::getpid());
  EXPECT_TRUE(tree->exists(mine));
  auto procs = tree->processes(mine, false);
  EXPECT_NE(std::find(procs.begin(), procs.end(), ::getpid()), procs.end());
}

}  // namespace
}  // namespace nestbox
