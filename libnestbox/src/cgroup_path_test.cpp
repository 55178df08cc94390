// SPDX-License-Identifier: Apache-2.0
#include "nestbox/cgroup_path.hpp"

#include <gtest/gtest.h>

#include "nestbox/error.hpp"

namespace nestbox {
namespace {

void expect_invalid_path(std::string_view text) {
  try {
    CgroupPath::parse(text);
    ADD_FAILURE() << "accepted \"" << text << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::InvalidPath) << e.what();
  }
}

TEST(CgroupPath, ParsesValidPaths) {
  EXPECT_TRUE(CgroupPath::parse("/").is_root());
  auto p = CgroupPath::parse("/nestbox/user-1000/web");
  EXPECT_EQ(p.str(), "/nestbox/user-1000/web");
  EXPECT_EQ(p.relative(), "nestbox/user-1000/web");
  EXPECT_EQ(p.depth(), 3u);
  EXPECT_EQ(p.name(), "web");
  EXPECT_EQ(CgroupPath::parse("/a/b/").str(), "/a/b");
  EXPECT_EQ(CgroupPath::parse("/system.slice/a b").name(), "a b");
  EXPECT_EQ(CgroupPath().relative(), "");
}

TEST(CgroupPath, RejectsAttacks) {
  std::string with_nul("/a/\0b", 5);
  for (std::string_view bad : {"", "a/b", "/..", "/a/../b", "/a/./b", "/.", "//", "/a//b", "/a/b//", " /a",
                               "/ a", "/a ", "/a\nb", "/a\tb", "/cgroup.procs", "/a/memory.max", "/tasks",
                               "/a/notify_on_release", "/release_agent", "/cpu.x", "/pids.", "/io.max",
                               "/blkio.weight", "/cpuset.cpus", "/perf_event.x"})
    expect_invalid_path(bad);
  expect_invalid_path(with_nul);
  expect_invalid_path("/" + std::string(256, 'a'));
  EXPECT_NO_THROW(CgroupPath::parse("/" + std::string(255, 'a')));
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "/d";
  expect_invalid_path(deep);
  std::string longpath;
  for (int i = 0; i < 20; ++i) longpath += "/" + std::string(250, 'x');
  expect_invalid_path(longpath);
  // Names that merely contain a controller word are fine.
  EXPECT_NO_THROW(CgroupPath::parse("/memory/cpu/mycpu.slice/user.slice"));
}

TEST(CgroupPath, ValidNameReasons) {
  std::string why;
  EXPECT_FALSE(CgroupPath::is_valid_name("cgroup.procs", &why));
  EXPECT_NE(why.find("cgroup"), std::string::npos);
  EXPECT_FALSE(CgroupPath::is_valid_name("..", &why));
  EXPECT_TRUE(CgroupPath::is_valid_name("web-1", &why));
  EXPECT_EQ(CgroupPath::try_parse("/a/.."), std::nullopt);
}

TEST(CgroupPath, ContainmentIsComponentWise) {
  auto a = CgroupPath::parse("/a");
  auto ab = CgroupPath::parse("/ab");
  auto a_b = CgroupPath::parse("/a/b");
  EXPECT_FALSE(a.contains(ab));
  EXPECT_FALSE(ab.contains(a));
  EXPECT_TRUE(a.contains(a_b));
  EXPECT_TRUE(a.contains(a));
  EXPECT_FALSE(a.is_strict_ancestor_of(a));
  EXPECT_TRUE(a.is_strict_ancestor_of(a_b));
  EXPECT_TRUE(CgroupPath().contains(ab));
  EXPECT_EQ(ab.relative_to(a), std::nullopt);
  EXPECT_EQ(CgroupPath::parse("/a/b/c").relative_to(a)->str(), "/b/c");
  EXPECT_TRUE(a.relative_to(a)->is_root());
}

TEST(CgroupPath, Navigation) {
  auto p = CgroupPath::parse("/a/b");
  EXPECT_EQ(p.parent().str(), "/a");
  EXPECT_EQ(p.parent().parent().str(), "/");
  EXPECT_EQ(CgroupPath().parent().str(), "/");
  EXPECT_EQ(p.child("c").str(), "/a/b/c");
  EXPECT_THROW(p.child(".."), Error);
  EXPECT_THROW(p.child("x/y"), Error);
  EXPECT_THROW(p.child("memory.max"), Error);
  EXPECT_EQ(p.join(CgroupPath::parse("/x/y")).str(), "/a/b/x/y");
  EXPECT_EQ(p.join(CgroupPath()).str(), "/a/b");
}

TEST(CgroupPath, CommonAncestor) {
  auto ca = CgroupPath::common_ancestor(CgroupPath::parse("/a/b/c"), CgroupPath::parse("/a/b/d/e"));
  EXPECT_EQ(ca.str(), "/a/b");
  EXPECT_TRUE(CgroupPath::common_ancestor(CgroupPath::parse("/a"), CgroupPath::parse("/ab")).is_root());
  EXPECT_EQ(CgroupPath::common_ancestor(CgroupPath::parse("/a/b"), CgroupPath::parse("/a")).str(), "/a");
}

TEST(CgroupPath, Ordering) {
  EXPECT_EQ(CgroupPath::parse("/a/b"), CgroupPath::parse("/a/b/"));
  EXPECT_LT(CgroupPath::parse("/a"), CgroupPath::parse("/b"));
}

}  // namespace
}  // namespace nestbox
