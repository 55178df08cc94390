// SPDX-License-Identifier: Apache-2.0
// Restoring the state file: every grant is checked against the rules of
// Delegate, over a fixture cgroup v2 tree; a grant Delegate would refuse is
// dropped (and logged), the valid ones are applied.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "manager.hpp"
#include "nestbox/layout.hpp"
#include "testing/fixture.hpp"

namespace nestbox::cgmgr {
namespace {

TEST(ManagerRestore, GrantsDelegateWouldRefuseAreDropped) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the grants chown fixture cgroups)";
  testing::FixtureDir dir;
  dir.cgroup("cg", {{"cgroup.controllers", "cpu memory pids\n"}, {"cgroup.subtree_control", ""}});
  for (const char* p : {"cg/nb", "cg/nb/alice", "cg/nb/alice/inner", "cg/nb/bob", "cg/nb/root", "cg/nb/nobody",
                        "cg/nb/nogroup"})
    dir.cgroup(p, {{"cgroup.procs", ""}, {"cgroup.events", "populated 0\n"}, {"cgroup.subtree_control", ""}});
  dir.mkdir("proc");
  auto layout = HostLayout::parse(testing::mountinfo_line(41, dir.abs("cg"), "cgroup2", "rw"),
                                  [&](const std::string&) { return dir.read("cg/cgroup.controllers"); });
  TreeOptions opts;
  opts.proc_root = dir.abs("proc");
  auto tree = open_cgroup_tree(layout, opts);
  auto grant = [](const char* path, long uid, long gid) {
    return std::string("{\"path\": \"") + path + "\", \"uid\": " + std::to_string(uid) +
           ", \"gid\": " + std::to_string(gid) + ", \"origin\": \"delegate\"}";
  };
  {
    std::ofstream out(dir.abs("state.json"));
    out << "{\"version\": 1, \"remove_on_empty\": [], \"grants\": [" << grant("/nb/alice", 1000, 1000) << ", "
        << grant("/nb/alice/inner", 1001, 1001) << ", "   // nested in alice's
        << grant("/nb/alice", 1002, 1002) << ", "         // the same path to another user
        << grant("/nb/bob", 1003, 1003) << ", "
        << grant("/nb/root", 0, 0) << ", "                 // uid 0
        << grant("/nb/nobody", 4294967295L, 1) << ", "     // uid -1
        << grant("/nb/nogroup", 1004, 4294967295L) << ", " // gid -1
        << grant("/nb", 1005, 1005)                        // the manager root itself
        << "]}";
  }
  ::chmod(dir.abs("state.json").c_str(), 0600);
  Manager manager(*tree, Authorizer(CgroupPath::parse("/nb")), Policy{}, StateStore(dir.abs("state.json")));
  manager.restore();
  std::vector<std::string> kept;
  for (const Grant& g : manager.delegations(Caller{0, 0, 1, false})) kept.push_back(g.path.str() + " " + std::to_string(g.uid));
  EXPECT_EQ(kept, (std::vector<std::string>{"/nb/alice 1000", "/nb/bob 1003"}));
  struct stat st {};
  ASSERT_EQ(::stat(dir.abs("cg/nb/alice/inner").c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 1001u) << "a dropped grant changes no owner";
  ASSERT_EQ(::stat(dir.abs("cg/nb/bob").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1003u);
  // What is kept is what the file now says.
  EXPECT_EQ(StateStore(dir.abs("state.json")).load().grants.size(), 2u);
}

}  // namespace
}  // namespace nestbox::cgmgr
