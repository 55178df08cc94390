// SPDX-License-Identifier: Apache-2.0
#include "nestbox/proc.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nestbox/error.hpp"
#include "testing/fixture.hpp"

namespace nestbox {
namespace {

TEST(ProcCgroup, ParsesHybridAndUnifiedLines) {
  auto entries = parse_proc_cgroup(
      "9:name=systemd:/\n4:memory:/process_api/35b7\n2:cpu,cpuacct:/a:b\n0::/user.slice/x\n");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(entries[1].hierarchy_id, 4u);
  EXPECT_EQ(entries[1].path, "/process_api/35b7");
  EXPECT_EQ(entries[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(entries[2].path, "/a:b");  // colons after the second belong to the path
  EXPECT_TRUE(entries[3].controllers.empty());
  EXPECT_EQ(entries[3].hierarchy_id, 0u);
}

TEST(ProcCgroup, RejectsMalformed) {
  for (const char* bad : {"garbage\n", "x:memory:/\n", "4:memory\n", "4:memory:relative\n", "0::\n"})
    EXPECT_THROW(parse_proc_cgroup(bad), Error) << bad;
}

TEST(ProcStatus, ParsesFields) {
  auto st = parse_proc_status(
      "Name:\tbash\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\nPPid:\t7\n"
      "Uid:\t1000\t1001\t1000\t1000\nGid:\t100\t101\t100\t100\nNSpid:\t42\t3\t1\n");
  EXPECT_EQ(st.pid, 42);
  EXPECT_EQ(st.ppid, 7);
  EXPECT_EQ(st.ruid, 1000u);
  EXPECT_EQ(st.euid, 1001u);
  EXPECT_EQ(st.rgid, 100u);
  EXPECT_EQ(st.egid, 101u);
  EXPECT_EQ(st.state, 'S');
  EXPECT_EQ(st.nspid, (std::vector<pid_t>{42, 3, 1}));
  EXPECT_THROW(parse_proc_status("Name:\tx\n"), Error);
  EXPECT_THROW(parse_proc_status("Pid:\t1\nUid:\tx\n"), Error);
}

// A fake procfs: host init 1; container init 100 with descendants 101 -> 102;
// 200 joined the container's namespace with setns (parent 1 outside it); 300 is
// alone in a namespace whose init is gone.
class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("nsA", "");
    dir_.write("nsB", "");
    dir_.write("nsC", "");
    add(1, 0, "nsA", "1");
    add(100, 1, "nsB", "100\t1");
    add(101, 100, "nsB", "101\t2");
    add(102, 101, "nsB", "102\t3");
    add(200, 1, "nsB", "200\t7");
    add(300, 1, "nsC", "300\t4");
    dir_.write("self", "not a pid dir");
  }
  void add(int pid, int ppid, const std::string& ns, const std::string& nspid) {
    auto p = std::to_string(pid);
    dir_.write(p + "/status", "Name:\tx\nState:\tS (sleeping)\nPid:\t" + p + "\nPPid:\t" + std::to_string(ppid) +
                                  "\nUid:\t" + std::to_string(1000 + pid) + "\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t" +
                                  nspid + "\n");
    dir_.write(p + "/cgroup", "0::/c" + p + "\n");
    dir_.write(p + "/stat", p + " (a) b) c) S " + std::to_string(ppid) +
                                " 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 " + std::to_string(5000 + pid) +
                                " 1000 10\n");
    dir_.mkdir(p + "/ns");
    ASSERT_EQ(::symlink(("../../" + ns).c_str(), dir_.abs(p + "/ns/pid").c_str()), 0);
  }
  testing::FixtureDir dir_;
};

TEST_F(FakeProc, ReadsFiles) {
  ProcFs proc(dir_.path());
  EXPECT_EQ(proc.uid(101), 1101u);
  EXPECT_EQ(proc.cgroups(102).at(0).path, "/c102");
  EXPECT_EQ(proc.start_time_ticks(101), 5101u);  // comm with ") " does not shift fields
  EXPECT_EQ(proc.ns_inode(101, "pid"), proc.ns_inode(100, "pid"));
  EXPECT_NE(proc.ns_inode(1, "pid"), proc.ns_inode(100, "pid"));
  EXPECT_EQ(proc.all_pids(), (std::vector<pid_t>{1, 100, 101, 102, 200, 300}));
  EXPECT_THROW(proc.ns_inode(1, "../x"), Error);
}

TEST(TimensOffsets, ParsesTheKernelsFormat) {
  auto o = parse_timens_offsets("monotonic      -3600         0\nboottime    -86400 500000000\n");
  ASSERT_TRUE(o.has_value());
  EXPECT_DOUBLE_EQ(o->monotonic, -3600.0);
  EXPECT_DOUBLE_EQ(o->boottime, -86399.5);
}

TEST(TimensOffsets, RejectsWhatTheKernelNeverPrints) {
  for (const char* bad : {"", "boottime -1 0\n", "monotonic 0 0\nboottime 1 1000000000\n",
                          "monotonic 0 0\nboottime 1 -1\n", "monotonic 0 0\nboottime x 0\n",
                          "monotonic 0 0\nboottime 1 2 3\n", "monotonic 0 0\nboottime 99999999999999999999 0\n"})
    EXPECT_FALSE(parse_timens_offsets(bad).has_value()) << bad;
}

TEST(ParseNsLink, NamesTheInode) {
  EXPECT_EQ(parse_ns_link("pid:[4026531836]", "pid"), ino_t{4026531836});
  EXPECT_FALSE(parse_ns_link("mnt:[4026531836]", "pid"));
  EXPECT_FALSE(parse_ns_link("pid:[]", "pid"));
  EXPECT_FALSE(parse_ns_link("pid:[12x]", "pid"));
  EXPECT_FALSE(parse_ns_link("pid:4026531836", "pid"));
  EXPECT_FALSE(parse_ns_link("../../nsA", "pid"));
}

TEST(RealProc, NsInodeMatchesStat) {
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/ns/pid", &st), 0);
  EXPECT_EQ(ProcFs().ns_inode(getpid(), "pid"), st.st_ino);
}

TEST_F(FakeProc, GoneProcessIsNotFound) {
  ProcFs proc(dir_.path());
  try {
    proc.status(555);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::NotFound);
  }
  EXPECT_THROW(proc.status(0), Error);
}

TEST_F(FakeProc, PidnsInitByWalkAndByScan) {
  ProcFs proc(dir_.path());
  EXPECT_EQ(proc.pidns_init(102), 100);
  EXPECT_EQ(proc.pidns_init(100), 100);
  EXPECT_EQ(proc.pidns_init(1), 1);
  EXPECT_EQ(proc.pidns_init(200), 100);  // walk leaves the namespace at pid 1: scan
  try {
    proc.pidns_init(300);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::NotFound);
  }
}

TEST(RealProc, SelfIsConsistent) {
  ProcFs proc;
  auto st = proc.status(::getpid());
  EXPECT_EQ(st.pid, ::getpid());
  EXPECT_EQ(st.ruid, ::getuid());
  EXPECT_FALSE(proc.cgroups(::getpid()).empty());
  // We are not a pid namespace init here, so the init is some other process of our namespace.
  pid_t init = proc.pidns_init(::getpid());
  auto init_status = proc.status(init);
  EXPECT_EQ(init_status.nspid.back(), 1);
  EXPECT_EQ(init_status.nspid.size(), st.nspid.size());
}

}  // namespace
}  // namespace nestbox
