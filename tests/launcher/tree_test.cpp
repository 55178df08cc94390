// SPDX-License-Identifier: Apache-2.0
// nestbox-run --fs-tree: a container's /proc files from its own directory of
// the per-container tree (nestbox-fs --container-tree), the rest from --fs.
#include <sstream>

#include "managed_stack.hpp"

namespace nestbox::launcher_test {
namespace {

class LauncherTree : public ManagedStackTest {};

TEST_F(LauncherTree, ProcFilesComeFromTheContainersOwnDirectory) {
  testkit::FuseMount tree({testkit::built_program("nestbox-fs"), "-f", "--container-tree"});
  auto r = run({"--fs-tree", tree.mountpoint(), "--memory", "128M", "--", "sh", "-c",
                "free -m; for i in 1 2 3; do grep MemTotal /proc/meminfo; done; cat /proc/self/mountinfo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  std::istringstream in(r.out);
  std::string line, mem_total;
  int meminfo_from_tree = 0, cpu_from_fs = 0;
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
    if (point == "/sys/devices/system/cpu" && root == "/sys/devices/system/cpu") ++cpu_from_fs;
  }
  EXPECT_EQ(mem_total, "128") << r.out;
  EXPECT_EQ(meminfo_from_tree, 1) << r.out;
  EXPECT_EQ(cpu_from_fs, 1) << "the sysfs CPU view still comes from --fs\n" << r.out;
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
