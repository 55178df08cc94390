// SPDX-License-Identifier: Apache-2.0
// nestbox-run --fs-tree: a container's /proc files and sysfs CPU directory
// from its own directory of the per-container tree (nestbox-fs
// --container-tree), the rest (block devices' stat) from --fs.
#include <fstream>
#include <sstream>

#include "managed_stack.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::launcher_test {
namespace {

class LauncherTree : public ManagedStackTest {};

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST_F(LauncherTree, ProcFilesAndTheCpuDirectoryComeFromTheContainersOwnDirectory) {
  testkit::FuseMount tree({testkit::built_program("nestbox-fs"), "-f", "--container-tree"});
  auto r = run({"--fs-tree", tree.mountpoint(), "--memory", "128M", "--", "sh", "-c",
                "free -m; for i in 1 2 3; do grep MemTotal /proc/meminfo; done; cat /proc/self/mountinfo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  std::istringstream in(r.out);
  std::string line, mem_total;
  int meminfo_from_tree = 0, cpu_from_tree = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string first, second;
    f >> first >> second;
    if (first == "Mem:") mem_total = second;
    // mountinfo: "<id> <parent> <dev> <root> <mountpoint> ..."; the tree's root
    // of the bind is /<pid>/proc/meminfo.
    std::istringstream m(line);
    std::string id, parent, dev, root, point;
    if (!(m >> id >> parent >> dev >> root >> point)) continue;
    if (point == "/proc/meminfo" && root.find("/proc/meminfo") != std::string::npos && root != "/proc/meminfo")
      ++meminfo_from_tree;
    if (point == "/sys/devices/system/cpu" && root.ends_with("/sys/devices/system/cpu") &&
        root != "/sys/devices/system/cpu")
      ++cpu_from_tree;
  }
  EXPECT_EQ(mem_total, "128") << r.out;
  EXPECT_EQ(meminfo_from_tree, 1) << r.out;
  EXPECT_EQ(cpu_from_tree, 1) << r.out;
}

// What counts CPUs from sysfs, /proc and the affinity calls inside a container
// of one CPU, its files from the tree: every view names that CPU, by its host
// number.
TEST_F(LauncherTree, CpuCountersAgreeOnTheContainersCpuset) {
  const auto online = parse_cpu_list(first_line("/sys/devices/system/cpu/online"));
  if (online.size() < 2) GTEST_SKIP() << "needs at least 2 online CPUs to hide one (host has " << online.size() << ")";
  const std::string id = std::to_string(online.back());
  testkit::FuseMount tree({testkit::built_program("nestbox-fs"), "-f", "--container-tree"});
  auto r = run({"--fs-tree", tree.mountpoint(), "--cpuset", id, "--", "sh", "-c",
                "echo ONLINE $(cat /sys/devices/system/cpu/online); echo NPROC_ALL $(nproc --all); "
                "echo CONF $(getconf _NPROCESSORS_CONF); echo ONLN $(getconf _NPROCESSORS_ONLN); "
                "echo DIRS $(ls /sys/devices/system/cpu | grep -E '^cpu[0-9]+$'); "
                "echo CORE $(cat /sys/devices/system/cpu/cpu" + id + "/topology/core_id); "
                "echo PROCESSORS $(grep -c ^processor /proc/cpuinfo); "
                "taskset -c $(cat /sys/devices/system/cpu/online) true && echo TASKSET ok; "
                "lscpu | grep -E '^(CPU\\(s\\)|On-line CPU\\(s\\) list):'; "
                "awk '$5 == \"/sys/devices/system/cpu\" { print \"SOURCE \" $4 }' /proc/self/mountinfo"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  auto has = [&](const std::string& line) { return r.out.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("ONLINE " + id)) << r.out;
  EXPECT_TRUE(has("NPROC_ALL 1")) << r.out;
  EXPECT_TRUE(has("CONF 1")) << r.out;
  EXPECT_TRUE(has("ONLN 1")) << r.out;
  EXPECT_TRUE(has("DIRS cpu" + id)) << r.out;
  EXPECT_TRUE(has("CORE " + first_line("/sys/devices/system/cpu/cpu" + id + "/topology/core_id"))) << r.out;
  EXPECT_TRUE(has("PROCESSORS 1")) << r.out;
  EXPECT_TRUE(has("TASKSET ok")) << r.out;
  std::istringstream in(r.out);
  std::string line;
  int lscpu = 0;
  std::string source;
  while (std::getline(in, line)) {
    if (line.starts_with("SOURCE ")) source = line.substr(7);
    if (line.starts_with("CPU(s):")) lscpu += line.ends_with(" 1");
    if (line.starts_with("On-line CPU(s) list:")) lscpu += line.ends_with(" " + id);
  }
  EXPECT_EQ(lscpu, 2) << r.out;
  // From the tree (its root there is /<pid>/sys/devices/system/cpu), not --fs.
  EXPECT_TRUE(source.ends_with("/sys/devices/system/cpu") && source != "/sys/devices/system/cpu") << r.out;
}

TEST_F(LauncherTree, AnEmptyTreeMountpointIsAWarningAndTheCompatibleFilesServe) {
  testkit::TempDir empty("nestbox-no-tree", 0755);
  auto r = run({"--fs-tree", empty.path(), "--memory", "96M", "--", "free", "-m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("nothing is mounted at --fs-tree"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(" 96 "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace nestbox::launcher_test
