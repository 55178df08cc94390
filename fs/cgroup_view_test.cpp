// SPDX-License-Identifier: Apache-2.0
#include "cgroup_view.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "nestbox/error.hpp"
#include "testkit.hpp"

namespace nestbox::fs {
namespace {

namespace tk = nestbox::testkit;

// A cgroup2 "mount" (a plain directory) with cgroups c0..c19 and a procfs
// fixture in which the readers (pids 100 and 200) live in the root cgroup.
struct ViewFixture : ::testing::Test {
  tk::TempDir dir{"nestbox-view"};
  HostLayout layout;
  ProcFs proc{dir.path() + "/proc"};
  void SetUp() override {
    for (int i = 0; i < 20; ++i) dir.write("cg/c" + std::to_string(i) + "/cgroup.procs", "");
    dir.write("proc/100/cgroup", "0::/\n");
    dir.write("proc/200/cgroup", "0::/\n");
    layout.layout = Layout::Unified;
    CgroupMount m;
    m.mountpoint = dir.path() + "/cg";
    m.unified = true;
    layout.mounts.push_back(m);
  }
  static Cred user(pid_t pid, uid_t uid) { return Cred{pid, uid, uid, {}}; }
  // The errno of a lookup that fails, 0 if it succeeds.
  static int lookup_errno(CgroupView& view, const Cred& cred, std::uint64_t parent, const std::string& name) {
    try {
      view.lookup(cred, parent, name);
      return 0;
    } catch (const Error& e) {
      return to_errno(e);
    }
  }
};

// A table of 16 nodes; 4 for each uid but root, 12 for all of them together.
constexpr NodeLimits kSmall{16, std::size_t{16} << 20, 4, std::size_t{1} << 20};

TEST_F(ViewFixture, OneUidFillingItsShareLeavesNodesForOthers) {
  CgroupView view(layout, proc, kSmall);
  const Cred a = user(100, 1000), b = user(200, 2000);
  const auto top = view.lookup_top(a, "unified").ino;  // a's first node
  for (int i = 0; i < 3; ++i) view.lookup(a, top, "c" + std::to_string(i));
  EXPECT_EQ(view.usage(1000).nodes, 4u);
  EXPECT_EQ(lookup_errno(view, a, top, "c3"), ENFILE);
  // Nodes a already has are still found (nothing new is made).
  EXPECT_EQ(lookup_errno(view, a, top, "c0"), 0);

  // b shares the top node (charged to a) and gets nodes of its own.
  EXPECT_EQ(view.lookup_top(b, "unified").ino, top);
  for (int i = 3; i < 7; ++i) EXPECT_EQ(lookup_errno(view, b, top, "c" + std::to_string(i)), 0);
  EXPECT_EQ(lookup_errno(view, b, top, "c7"), ENFILE);
  EXPECT_EQ(view.usage(2000).nodes, 4u);
  EXPECT_EQ(view.usage().nodes, 8u);
}

TEST_F(ViewFixture, ForgetGivesTheShareBack) {
  CgroupView view(layout, proc, kSmall);
  const Cred a = user(100, 1000);
  const auto top = view.lookup_top(a, "unified").ino;
  std::uint64_t c0 = view.lookup(a, top, "c0").ino;
  view.lookup(a, top, "c0");  // a second lookup of the same node
  view.lookup(a, top, "c1");
  view.lookup(a, top, "c2");
  EXPECT_EQ(lookup_errno(view, a, top, "c3"), ENFILE);
  view.forget(c0, 1);  // still looked up once
  EXPECT_EQ(lookup_errno(view, a, top, "c3"), ENFILE);
  view.forget(c0, 1);
  EXPECT_EQ(view.usage(1000).nodes, 3u);
  EXPECT_EQ(lookup_errno(view, a, top, "c3"), 0);
  EXPECT_EQ(view.node_count(), 4u);
}

TEST_F(ViewFixture, UsersTogetherLeaveRootItsShare) {
  CgroupView view(layout, proc, kSmall);
  const Cred root = user(100, 0);
  const auto top = view.lookup_top(root, "unified").ino;  // charged to root
  // Three users take 12 nodes, what all but root may hold together.
  for (uid_t uid = 1000; uid < 1003; ++uid)
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(lookup_errno(view, user(100, uid), top, "c" + std::to_string((uid - 1000) * 4 + i)), 0);
  EXPECT_EQ(lookup_errno(view, user(100, 1003), top, "c12"), ENFILE);
  // Root has no share of its own, only the table's bound.
  for (int i = 12; i < 15; ++i) EXPECT_EQ(lookup_errno(view, root, top, "c" + std::to_string(i)), 0);
  EXPECT_EQ(view.usage().nodes, 16u);
  EXPECT_EQ(lookup_errno(view, root, top, "c15"), ENFILE);
}

TEST_F(ViewFixture, ByteShareBoundsLongPaths) {
  // Room for the top node, one long name and one short one, not two long ones.
  const std::string long_a(200, 'a'), long_b(200, 'b');
  dir.write("cg/" + long_a + "/cgroup.procs", "");
  dir.write("cg/" + long_b + "/cgroup.procs", "");
  CgroupView probe(layout, proc);
  const Cred a = user(100, 1000);
  const auto probe_top = probe.lookup_top(a, "unified").ino;
  probe.lookup(a, probe_top, long_a);
  const std::size_t two = probe.usage(1000).bytes;
  probe.lookup(a, probe_top, "c0");
  const std::size_t three = probe.usage(1000).bytes;
  ASSERT_LT(three - two, two / 2);  // the short name costs less than the long one

  CgroupView view(layout, proc, NodeLimits{64, std::size_t{16} << 20, 16, three});
  const auto top = view.lookup_top(a, "unified").ino;
  EXPECT_EQ(lookup_errno(view, a, top, long_a), 0);
  EXPECT_EQ(lookup_errno(view, a, top, long_b), ENFILE);
  EXPECT_EQ(lookup_errno(view, a, top, "c0"), 0);  // a short one still fits
}

TEST_F(ViewFixture, RenameKeepsTheChargeExact) {
  CgroupView view(layout, proc, kSmall);
  const Cred root = user(100, 0);  // the fixture's directories are root's
  const auto top = view.lookup_top(root, "unified").ino;
  const auto c0 = view.lookup(root, top, "c0").ino;
  const std::size_t before = view.usage(0).bytes;
  view.rename(root, top, "c0", top, std::string(100, 'r'), 0);
  EXPECT_GT(view.usage(0).bytes, before);
  view.forget(c0, 1);
  view.forget(top, 1);
  EXPECT_EQ(view.usage().nodes, 0u);
  EXPECT_EQ(view.usage().bytes, 0u);
}

}  // namespace
}  // namespace nestbox::fs
