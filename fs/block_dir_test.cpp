// SPDX-License-Identifier: Apache-2.0
#include "block_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "testkit.hpp"

namespace nestbox::fs {
namespace {

namespace tk = nestbox::testkit;

// A fixture of /sys/block: entries are symlinks into a devices tree, as on a host.
struct BlockDirFixture : ::testing::Test {
  tk::TempDir dir{"nestbox-blockdir"};
  std::string block;
  void add_device(const std::string& name, const std::string& devno) {
    dir.write("devices/virtual/block/" + name + "/dev", devno + "\n");
    dir.write("devices/virtual/block/" + name + "/stat", "       1        0        8        0        0        0"
                                                           "        0        0        0        0        0\n");
    ASSERT_EQ(::symlink(("../devices/virtual/block/" + name).c_str(), (block + "/" + name).c_str()), 0);
  }
  void SetUp() override {
    block = dir.path() + "/block";
    dir.write("block/.keep", "");
    ::unlink((block + "/.keep").c_str());
    add_device("vda", "254:0");
    add_device("loop0", "7:0");
  }
};

TEST_F(BlockDirFixture, ListsTheHostsDevicesAndReadsTheirNumbersThroughTheLinks) {
  BlockDir b(block);
  EXPECT_EQ(b.names(), (std::vector<std::string>{"loop0", "vda"}));
  auto ino = b.lookup("vda");
  EXPECT_TRUE(BlockDir::owns(ino));
  EXPECT_FALSE(BlockDir::is_stat(ino));
  EXPECT_TRUE(BlockDir::is_stat(BlockDir::stat_of(ino)));
  auto dev = b.device(BlockDir::stat_of(ino));
  EXPECT_EQ(dev.name, "vda");
  EXPECT_EQ(dev.major, 254u);
  EXPECT_EQ(dev.minor, 0u);
  std::string host = b.host_stat(dev);
  EXPECT_EQ(split_ws(host).size(), 11u);
}

TEST_F(BlockDirFixture, ANameKeepsItsNumberAndOthersGetTheirOwn) {
  BlockDir b(block);
  auto vda = b.lookup("vda");
  EXPECT_EQ(b.lookup("vda"), vda);
  EXPECT_NE(b.lookup("loop0"), vda);
  EXPECT_EQ(b.device_count(), 2u);
}

TEST_F(BlockDirFixture, MissingAndBadNamesAreNotFound) {
  BlockDir b(block);
  for (const char* name : {"sdz", "..", ".", "", "vda/dev"}) {
    try {
      b.lookup(name);
      ADD_FAILURE() << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::NotFound) << name;
    }
  }
}

TEST_F(BlockDirFixture, ADeviceThatWentAwayIsNotFound) {
  BlockDir b(block);
  auto ino = b.lookup("loop0");
  ASSERT_EQ(::unlink((block + "/loop0").c_str()), 0);
  EXPECT_THROW(b.device(ino), Error);
  EXPECT_EQ(b.names(), (std::vector<std::string>{"vda"}));
}

TEST_F(BlockDirFixture, NodesOfAnEarlierServerAreStale) {
  BlockDir old(block);
  old.set_epoch(1);
  auto ino = old.lookup("vda");
  BlockDir now(block);
  now.set_epoch(2);
  now.lookup("vda");
  try {
    now.device(ino);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.sys_errno(), ESTALE);
  }
}

TEST(BlockDirRanges, DisjointFromTheOtherDynamicRanges) {
  EXPECT_FALSE(BlockDir::owns(std::uint64_t{1} << 62 | std::uint64_t{1} << 40));  // CPU directory
  EXPECT_FALSE(BlockDir::owns(std::uint64_t{1} << 20));                          // cgroup view
  EXPECT_TRUE(BlockDir::owns(BlockDir::kRangeBit | std::uint64_t{1} << 40));
}

}  // namespace
}  // namespace nestbox::fs
