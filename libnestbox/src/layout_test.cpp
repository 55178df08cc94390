// SPDX-License-Identifier: Apache-2.0
#include "nestbox/layout.hpp"

#include <gtest/gtest.h>

#include "nestbox/error.hpp"

namespace nestbox {
namespace {

// This machine's own cgroup lines (hybrid, controller-less cgroup2).
constexpr std::string_view kHybrid =
    "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

constexpr std::string_view kUnified =
    "25 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "99 25 0:22 /nested /mnt/again rw,relatime - cgroup2 cgroup2 rw\n";

constexpr std::string_view kLegacy =
    "30 25 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup "
    "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "34 25 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory\n"
    "35 25 0:30 / /mnt/memory\\040bind rw,relatime - cgroup cgroup rw,memory\n";

std::string no_controllers(const std::string&) { return ""; }

TEST(Layout, ParsesHybrid) {
  auto l = HostLayout::parse(kHybrid, no_controllers);
  EXPECT_EQ(l.layout, Layout::Hybrid);
  EXPECT_EQ(layout_name(l.layout), "hybrid");
  ASSERT_NE(l.unified(), nullptr);
  EXPECT_EQ(l.unified()->mountpoint, "/sys/fs/cgroup/unified");
  EXPECT_TRUE(l.unified()->controllers.empty());
  ASSERT_NE(l.mount_for("memory"), nullptr);
  EXPECT_EQ(l.mount_for("memory")->mountpoint, "/sys/fs/cgroup/memory");
  EXPECT_EQ(l.mount_for("cpuacct")->mountpoint, "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(l.mount_for("name=systemd")->mountpoint, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(l.mount_for("io"), nullptr);
  EXPECT_EQ(l.mounts.size(), 10u);
  auto ctrls = l.controllers();
  EXPECT_EQ(ctrls, (std::vector<std::string>{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory",
                                             "pids"}));
}

TEST(Layout, ParsesUnifiedWithInjectedControllers) {
  std::string asked;
  auto l = HostLayout::parse(kUnified, [&](const std::string& mp) {
    asked = mp;
    return std::string("cpuset cpu io memory pids\n");
  });
  EXPECT_EQ(l.layout, Layout::Unified);
  EXPECT_EQ(asked, "/sys/fs/cgroup");
  EXPECT_EQ(l.mounts.size(), 1u);  // the second mount of the one v2 hierarchy is dropped
  ASSERT_NE(l.mount_for("memory"), nullptr);
  EXPECT_EQ(l.mount_for("memory")->mountpoint, "/sys/fs/cgroup");
  EXPECT_EQ(l.mount_for("blkio"), nullptr);
  EXPECT_EQ(l.controllers().size(), 5u);
}

TEST(Layout, ParsesLegacyWithCoMountsAndEscapes) {
  auto l = HostLayout::parse(kLegacy, no_controllers);
  EXPECT_EQ(l.layout, Layout::Legacy);
  EXPECT_EQ(l.unified(), nullptr);
  ASSERT_NE(l.mount_for("cpuacct"), nullptr);
  EXPECT_EQ(l.mount_for("cpu"), l.mount_for("cpuacct"));
  EXPECT_EQ(l.mount_for("cpu")->mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  // The bind mount of the memory hierarchy is a duplicate: first one wins.
  EXPECT_EQ(l.mount_for("memory")->mountpoint, "/sys/fs/cgroup/memory");
  EXPECT_EQ(l.mounts.size(), 3u);
  // Options that are not controllers are not listed.
  auto* sd = l.mount_for("name=systemd");
  ASSERT_NE(sd, nullptr);
  EXPECT_EQ(sd->controllers, std::vector<std::string>{"name=systemd"});
}

// A privileged container (a node daemon's pod) that binds the host's cgroup
// tree over the runtime's view of its own cgroup: the later mounts cover the
// earlier ones at the same mountpoints, and those are what paths reach.
TEST(Layout, ALaterMountAtTheSameMountpointCoversTheEarlierOne) {
  const std::string v1 =
      "31 23 0:28 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
      "35 31 0:32 /kubepods/pod1/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "36 31 0:35 /kubepods/pod1/c1 /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n"
      "50 31 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
      "51 50 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "52 50 0:32 / /elsewhere/memory rw - cgroup cgroup rw,memory\n";
  auto l = HostLayout::parse(v1, no_controllers);
  ASSERT_EQ(l.mounts.size(), 2u);
  EXPECT_EQ(l.mount_for("memory")->root, "/");              // the covering mount
  EXPECT_EQ(l.mount_for("memory")->mountpoint, "/sys/fs/cgroup/memory");  // not the bind elsewhere
  EXPECT_EQ(l.mount_for("pids")->root, "/kubepods/pod1/c1");  // nothing covers it

  const std::string v2 =
      "25 30 0:22 /kubepods/pod1/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
      "60 30 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  auto u = HostLayout::parse(v2, [](const std::string&) { return std::string("memory pids"); });
  ASSERT_EQ(u.mounts.size(), 1u);
  EXPECT_EQ(u.unified()->root, "/");
  EXPECT_EQ(u.unified()->controllers, (std::vector<std::string>{"memory", "pids"}));
}

TEST(Layout, DecodesEscapesAndRoot) {
  auto l = HostLayout::parse(
      "50 31 0:40 /my\\040root /mnt/cg\\040v1\\011x\\134y rw - cgroup cgroup rw,pids\n", no_controllers);
  ASSERT_EQ(l.mounts.size(), 1u);
  EXPECT_EQ(l.mounts[0].mountpoint, "/mnt/cg v1\tx\\y");
  EXPECT_EQ(l.mounts[0].root, "/my root");
  EXPECT_EQ(l.layout, Layout::Legacy);
}

TEST(Layout, OptionalFieldsAndErrors) {
  // Several optional fields before the separator.
  auto l = HostLayout::parse("41 31 0:38 / /u rw shared:3 master:1 - cgroup2 cgroup2 rw\n", no_controllers);
  EXPECT_EQ(l.layout, Layout::Unified);
  EXPECT_THROW(HostLayout::parse("garbage line\n", no_controllers), Error);
  try {
    HostLayout::parse("22 1 259:1 / / rw - ext4 /dev/root rw\n", no_controllers);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::Unsupported);
  }
}

TEST(Layout, LineWithoutSuperOptionsIsMalformed) {
  // Found by fuzz/mountinfo_fuzz: the super options were read one past the
  // last field of a line that ends after the source.
  EXPECT_THROW(HostLayout::parse("30 20 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup\n", no_controllers), Error);
}

TEST(Layout, DiscoverFindsSomething) {
  auto l = HostLayout::discover();
  EXPECT_FALSE(l.mounts.empty());
}

}  // namespace
}  // namespace nestbox
