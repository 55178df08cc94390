// SPDX-License-Identifier: Apache-2.0
#include "nestbox/view_files.hpp"

#include <gtest/gtest.h>

#include "testing/fixture.hpp"

namespace nestbox {
namespace {

using Files = std::vector<std::string>;

TEST(ViewFiles, ListsWhatTheTreeHoldsInTheListsOrder) {
  testing::FixtureDir fs;
  fs.write("proc/uptime", "1 1\n");
  fs.write("proc/meminfo", "MemTotal: 1 kB\n");
  fs.mkdir("sys/devices/system/cpu");
  testing::FixtureDir host;
  EXPECT_EQ(view_files_in(fs.path(), host.path()), (Files{"proc/meminfo", "proc/uptime", "sys/devices/system/cpu"}));
}

TEST(ViewFiles, OnlyTheInitialPidNamespacesProcfsShowsKthreaddAsPid2) {
  testing::FixtureDir host;
  host.write("2/status", "Name:\tkthreadd\nUmask:\t0000\nState:\tS (sleeping)\nTgid:\t2\nNgid:\t0\nPid:\t2\nPPid:\t0\n");
  EXPECT_TRUE(procfs_is_the_hosts(host.path()));
  // A container's pid 2: any process of its own, with a parent inside.
  testing::FixtureDir container;
  container.write("2/status", "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t2\nNgid:\t0\nPid:\t2\nPPid:\t1\n");
  EXPECT_FALSE(procfs_is_the_hosts(container.path()));
  // Named kthreadd by its own choice, its parent still shows.
  testing::FixtureDir impostor;
  impostor.write("2/status", "Name:\tkthreadd\nPid:\t2\nPPid:\t1\n");
  EXPECT_FALSE(procfs_is_the_hosts(impostor.path()));
  testing::FixtureDir empty;  // no pid 2 visible (hidepid=2, or a young namespace)
  EXPECT_FALSE(procfs_is_the_hosts(empty.path()));
  EXPECT_FALSE(procfs_is_the_hosts(empty.path() + "/missing"));
}

TEST(ViewFiles, BlockStatsOnlyForDevicesInUseSorted) {
  testing::FixtureDir fs;
  fs.write("proc/meminfo", "");
  for (const char* dev : {"vdb", "loop0", "vda", "gone"}) fs.write(std::string("sys/block/") + dev + "/stat", "0\n");
  testing::FixtureDir host;
  host.write("vda/size", "2048\n");
  host.write("vdb/size", "8\n");
  host.write("loop0/size", "0\n");  // an unused loop device: no mount for it
  // "gone" has no host device at all
  EXPECT_EQ(view_files_in(fs.path(), host.path()), (Files{"proc/meminfo", "sys/block/vda/stat", "sys/block/vdb/stat"}));
}

TEST(ViewFiles, AtMostTheBlockLimit) {
  testing::FixtureDir fs;
  testing::FixtureDir host;
  for (std::size_t i = 0; i < kMaxBlockBinds + 5; ++i) {
    const std::string dev = "d" + std::to_string(1000 + i);
    fs.write("sys/block/" + dev + "/stat", "0\n");
    host.write(dev + "/size", "1\n");
  }
  const auto files = view_files_in(fs.path(), host.path());
  EXPECT_EQ(files.size(), kMaxBlockBinds);
  EXPECT_EQ(files.front(), "sys/block/d1000/stat");
}

TEST(ViewFiles, NothingWhereNoFuseIsMounted) {
  testing::FixtureDir fs;
  fs.write("proc/meminfo", "");
  EXPECT_FALSE(is_fuse_mount(fs.path()));
  EXPECT_TRUE(available_view_files(fs.path()).empty());
  EXPECT_TRUE(available_view_files(fs.abs("missing")).empty());
}

}  // namespace
}  // namespace nestbox
