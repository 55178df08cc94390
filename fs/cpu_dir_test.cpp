// SPDX-License-Identifier: Apache-2.0
#include "cpu_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "nestbox/error.hpp"
#include "testkit.hpp"

namespace nestbox::fs {
namespace {

namespace tk = nestbox::testkit;

// A fixture of /sys/devices/system/cpu for a 3-CPU host.
struct CpuDirFixture : ::testing::Test {
  tk::TempDir dir{"nestbox-cpudir"};
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      dir.write("cpu" + std::to_string(i) + "/topology/core_id", std::to_string(i) + "\n");
      dir.write("cpu" + std::to_string(i) + "/online", "1\n");
    }
    dir.write("online", "0-2\n");
    dir.write("possible", "0-2\n");
    dir.write("kernel_max", "8191\n");
    dir.write("cpufreq/boost", "1\n");
    std::string secret = dir.write("cpu1/secret", "root only\n");
    ::chmod(secret.c_str(), 0400);
    ASSERT_EQ(::symlink("../cpufreq", (dir.path() + "/cpu0/cpufreq").c_str()), 0);
  }
  static std::vector<std::string> names(const std::vector<CpuDir::DirEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.name);
    return out;
  }
};

TEST(CpuDirNumber, OnlyCpuN) {
  EXPECT_EQ(cpu_dir_number("cpu0"), 0u);
  EXPECT_EQ(cpu_dir_number("cpu12"), 12u);
  EXPECT_EQ(cpu_dir_number("cpu"), std::nullopt);
  EXPECT_EQ(cpu_dir_number("cpufreq"), std::nullopt);
  EXPECT_EQ(cpu_dir_number("cpu1a"), std::nullopt);
}

TEST_F(CpuDirFixture, ListsOnlyVisibleCpusAndLeavesTheRenderedListsOut) {
  CpuDir cpus(dir.path());
  EXPECT_EQ(names(cpus.list(0, CpuList{1})), (std::vector<std::string>{"cpu1", "cpufreq", "kernel_max"}));
  EXPECT_EQ(names(cpus.list(0, std::nullopt)),
            (std::vector<std::string>{"cpu0", "cpu1", "cpu2", "cpufreq", "kernel_max"}));
}

TEST_F(CpuDirFixture, HiddenCpusCannotBeReached) {
  CpuDir cpus(dir.path());
  EXPECT_THROW(cpus.lookup(0, "cpu0", CpuList{1}), Error);
  EXPECT_THROW(cpus.lookup(0, "online", std::nullopt), Error);  // served by the fixed tree
  EXPECT_THROW(cpus.lookup(0, "..", std::nullopt), Error);
  EXPECT_THROW(cpus.lookup(0, "nothing", std::nullopt), Error);
  // A node found by a reader that sees cpu0 leads nowhere for one that does not.
  auto cpu0 = cpus.lookup(0, "cpu0", CpuList{0});
  auto topo = cpus.lookup(cpu0.ino, "topology", CpuList{0});
  EXPECT_TRUE(S_ISDIR(topo.st.st_mode));
  EXPECT_THROW(cpus.lookup(topo.ino, "core_id", CpuList{1}), Error);
  EXPECT_THROW(cpus.list(topo.ino, CpuList{2}), Error);
  auto core = cpus.lookup(topo.ino, "core_id", CpuList{0});
  Cred user{getpid(), 1000, 1000, {}};
  EXPECT_THROW(cpus.check_open(core.ino, user, CpuList{1}), Error);
  EXPECT_NO_THROW(cpus.check_open(core.ino, user, CpuList{0}));
  EXPECT_EQ(cpus.read(core.ino), "0\n");
}

TEST_F(CpuDirFixture, NodesKeepTheirNumbersAndAreReadOnly) {
  CpuDir cpus(dir.path());
  auto a = cpus.lookup(0, "kernel_max", std::nullopt);
  auto b = cpus.lookup(0, "kernel_max", CpuList{2});
  EXPECT_EQ(a.ino, b.ino);
  EXPECT_TRUE(CpuDir::owns(a.ino));
  EXPECT_EQ(a.st.st_mode & 0222, 0u);
  EXPECT_EQ(cpus.getattr(a.ino).st_ino, a.ino);
  EXPECT_EQ(cpus.node_count(), 1u);
}

TEST_F(CpuDirFixture, PermissionsAreTheHostFilesFor) {
  CpuDir cpus(dir.path());
  auto cpu1 = cpus.lookup(0, "cpu1", std::nullopt);
  auto secret = cpus.lookup(cpu1.ino, "secret", std::nullopt);
  Cred user{getpid(), 1000, 1000, {}};
  Cred root{getpid(), 0, 0, {}};
  try {
    cpus.check_open(secret.ino, user, std::nullopt);
    ADD_FAILURE() << "a 0400 root file opened for uid 1000";
  } catch (const Error& e) {
    EXPECT_EQ(e.sys_errno(), EACCES);
  }
  EXPECT_NO_THROW(cpus.check_open(secret.ino, root, std::nullopt));
  EXPECT_THROW(cpus.check_open(cpu1.ino, root, std::nullopt), Error);  // a directory
}

TEST_F(CpuDirFixture, SymlinksPassThrough) {
  CpuDir cpus(dir.path());
  auto cpu0 = cpus.lookup(0, "cpu0", std::nullopt);
  auto link = cpus.lookup(cpu0.ino, "cpufreq", std::nullopt);
  EXPECT_TRUE(S_ISLNK(link.st.st_mode));
  EXPECT_EQ(cpus.readlink(link.ino), "../cpufreq");
  EXPECT_THROW(cpus.readlink(CpuDir::kFirstIno + 999), Error);
}

}  // namespace
}  // namespace nestbox::fs
