// SPDX-License-Identifier: Apache-2.0
// Reader resolution, option parsing, the static tree and the load sampler math.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "load_sampler.hpp"
#include "options.hpp"
#include "reader.hpp"
#include "static_tree.hpp"

namespace nestbox::fs {
namespace {

TEST(ReaderCgroups, HybridMapsEachController) {
  auto entries = parse_proc_cgroup(
      "9:name=systemd:/\n8:pids:/c\n7:blkio:/c\n4:memory:/c/sub\n3:cpuset:/c\n2:cpuacct:/c\n1:cpu:/c\n0::/c\n");
  auto r = resolve_reader_cgroups(entries, Layout::Hybrid);
  EXPECT_EQ(r.memory->str(), "/c/sub");
  EXPECT_EQ(r.cpu->str(), "/c");
  EXPECT_EQ(r.io->str(), "/c");
  EXPECT_EQ(r.unified->str(), "/c");
  EXPECT_EQ(r.primary, r.memory);
}

TEST(ReaderCgroups, CoMountedCpuCpuacct) {
  auto entries = parse_proc_cgroup("2:cpu,cpuacct:/x\n1:memory:/y\n");
  auto r = resolve_reader_cgroups(entries, Layout::Legacy);
  EXPECT_EQ(r.cpu->str(), "/x");
  EXPECT_EQ(r.cpuacct->str(), "/x");
  EXPECT_FALSE(r.unified);
}

TEST(ReaderCgroups, UnifiedUsesV2PathEverywhere) {
  auto r = resolve_reader_cgroups(parse_proc_cgroup("0::/user.slice/c\n"), Layout::Unified);
  for (const auto* p : {&r.memory, &r.cpu, &r.cpuacct, &r.cpuset, &r.io, &r.pids, &r.primary})
    EXPECT_EQ((*p)->str(), "/user.slice/c");
}

TEST(ReaderCgroups, ForeignNamespacePathIgnored) {
  auto r = resolve_reader_cgroups(parse_proc_cgroup("0::/../../x\n"), Layout::Unified);
  EXPECT_FALSE(r.memory);
}

TEST(Options, DefaultsAndFlags) {
  int code = -1;
  const char* argv[] = {"nestbox-fs", "-f", "--cpu-view=cpuset", "-o", "ro", "/mnt/x"};
  auto o = parse_options(6, argv, code);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->foreground);
  EXPECT_EQ(o->cpu_view, CpuView::Cpuset);
  EXPECT_EQ(o->mountpoint, "/mnt/x");
  EXPECT_EQ(o->fuse_options, std::vector<std::string>{"ro"});
  EXPECT_EQ(o->max_threads, default_worker_threads());
  EXPECT_GE(o->max_threads, 4u);
  EXPECT_LE(o->max_threads, 16u);
}

TEST(Options, BadCpuViewRejected) {
  int code = 0;
  const char* argv[] = {"nestbox-fs", "--cpu-view=bogus", "/mnt/x"};
  EXPECT_FALSE(parse_options(3, argv, code));
  EXPECT_NE(code, 0);
}

TEST(Options, MountpointRequired) {
  int code = 0;
  const char* argv[] = {"nestbox-fs", "-f"};
  EXPECT_FALSE(parse_options(2, argv, code));
  EXPECT_NE(code, 0);
}

TEST(StaticTree, LxcfsLayout) {
  StaticTree t;
  for (const char* path : {"proc/meminfo", "proc/cpuinfo", "proc/stat", "proc/uptime", "proc/loadavg", "proc/swaps",
                           "proc/diskstats", "proc/pressure/cpu", "proc/pressure/memory", "proc/pressure/io",
                           "sys/devices/system/cpu/online", "sys/devices/system/cpu/possible",
                           "sys/devices/system/cpu/present", ".nestbox/static"}) {
    std::uint64_t ino = StaticTree::kRoot;
    std::string slashes_to_lines(path);
    std::replace(slashes_to_lines.begin(), slashes_to_lines.end(), '/', '\n');
    for (auto part : split_lines(slashes_to_lines)) {
      const StaticNode* n = t.child(ino, part);
      ASSERT_NE(n, nullptr) << path;
      ino = n->ino;
    }
    EXPECT_EQ(t.path(ino), path);
    EXPECT_FALSE(t.find(ino)->dir);
  }
  EXPECT_TRUE(t.child(StaticTree::kRoot, "cgroup")->cgroup_root);
  EXPECT_TRUE(t.child(t.child(StaticTree::kRoot, "sys")->ino, "block")->block_dir);
  // The newest node comes last, so the numbers of older ones stay what an
  // earlier server of the connection gave the kernel.
  EXPECT_EQ(t.child(t.child(StaticTree::kRoot, "sys")->ino, "block")->ino, t.size());
  EXPECT_EQ(t.child(StaticTree::kRoot, "nope"), nullptr);
}

TEST(LoadAverage, DecayConvergesToActiveCount) {
  double load = 0;
  for (int i = 0; i < 2000; ++i) load = decay_load(load, 3, 5, 60);
  EXPECT_NEAR(load, 3.0, 1e-6);
  // One step from zero moves by exactly (1 - e).
  EXPECT_DOUBLE_EQ(decay_load(0, 1, 5, 60), 1 - std::exp(-5.0 / 60));
}

}  // namespace
}  // namespace nestbox::fs
