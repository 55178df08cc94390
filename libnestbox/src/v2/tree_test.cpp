// SPDX-License-Identifier: Apache-2.0
// The v2 backend over a fixture tree (plain files where the kernel has cgroupfs).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expect_error.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "testing/fixture.hpp"

namespace nestbox {
namespace {

class V2Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.cgroup("cg", {{"cgroup.controllers", "cpuset cpu io memory pids\n"},
                       {"cgroup.subtree_control", "cpu cpuset io memory pids\n"},
                       {"cgroup.procs", "1\n"},
                       {"cpuset.cpus.effective", "0-3\n"}});
    dir_.cgroup("cg/a", {{"cgroup.controllers", "cpu memory pids\n"},
                         {"cgroup.subtree_control", "memory\n"},
                         {"cgroup.procs", ""},
                         {"cgroup.threads", ""},
                         {"cgroup.events", "populated 1\nfrozen 0\n"},
                         {"memory.max", "104857600\n"},
                         {"memory.current", "4096\n"},
                         {"memory.swap.max", "max\n"},
                         {"memory.swap.current", "0\n"},
                         {"memory.stat", "anon 1000\nfile 2000\n"},
                         {"memory.oom.group", "0\n"},
                         {"cpu.max", "max 100000\n"},
                         {"cpu.weight", "100\n"},
                         {"cpu.stat", "usage_usec 900\nuser_usec 600\nsystem_usec 300\nnr_periods 0\n"},
                         {"cpuset.cpus", "\n"},
                         {"cpuset.cpus.effective", "0-1\n"},
                         {"pids.current", "3\n"},
                         {"pids.max", "max\n"},
                         {"io.max", ""},
                         {"io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"},
                         {"memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"}});
    dir_.cgroup("cg/a/b", {{"cgroup.procs", "42\n43\n"},
                           {"cgroup.events", "populated 1\nfrozen 0\n"},
                           {"memory.max", "209715200\n"},
                           {"memory.swap.max", "1048576\n"},
                           {"memory.current", "8192\n"},
                           {"cpu.max", "50000 100000\n"},
                           {"pids.current", "2\n"},
                           {"pids.max", "10\n"}});
    dir_.cgroup("cg/a/b/c", {{"cgroup.procs", "44\n"},
                             {"cgroup.events", "populated 1\nfrozen 0\n"},
                             {"memory.max", "max\n"},
                             {"cpu.max", "max 100000\n"}});
    dir_.cgroup("cg/empty", {{"cgroup.procs", ""}, {"cgroup.events", "populated 0\n"}});
    dir_.write("proc/42/cgroup", "0::/a/b\n");
    dir_.write("delegate", "cgroup.procs\ncgroup.threads\nmemory.oom.group\nmemory.max\nmemory.reclaim\n");
    tree_ = open(mountinfo_line(41, dir_.abs("cg"), "cgroup2", "rw"));
  }

  std::unique_ptr<CgroupTree> open(const std::string& mountinfo) {
    auto layout = HostLayout::parse(mountinfo, [&](const std::string& mp) { return dir_.read(mp.substr(dir_.path().size() + 1) + "/cgroup.controllers"); });
    TreeOptions opts;
    opts.proc_root = dir_.abs("proc");
    opts.delegate_file = dir_.abs("delegate");
    return open_cgroup_tree(layout, opts);
  }

  static std::string mountinfo_line(int id, const std::string& mp, const std::string& type, const std::string& opts,
                                    const std::string& root = "/") {
    return testing::mountinfo_line(id, mp, type, opts, root);
  }

  static CgroupPath P(std::string_view s) { return CgroupPath::parse(s); }

  testing::FixtureDir dir_;
  std::unique_ptr<CgroupTree> tree_;
};

using testkit::expect_error;

TEST_F(V2Fixture, LayoutAndControllers) {
  EXPECT_EQ(tree_->layout(), Layout::Unified);
  EXPECT_EQ(tree_->controllers(), (std::vector<std::string>{"cpu", "cpuset", "io", "memory", "pids"}));
}

TEST_F(V2Fixture, Readers) {
  auto m = tree_->memory(P("/a"));
  EXPECT_EQ(m.limit, Limit(104857600));
  EXPECT_EQ(m.usage, 4096u);
  EXPECT_EQ(m.swap_limit, std::nullopt);
  EXPECT_EQ(m.swap_usage, std::optional<std::uint64_t>(0));
  EXPECT_EQ(m.stat.at("file"), 2000u);
  auto mb = tree_->memory(P("/a/b"));
  EXPECT_EQ(mb.swap_limit, Limit(1048576));
  EXPECT_EQ(mb.swap_usage, std::nullopt);  // no memory.swap.current: no swap accounting
  EXPECT_EQ(tree_->cpu_max(P("/a/b")), (CpuMax{50000, 100000}));
  EXPECT_EQ(tree_->cpu_max(P("/empty")), std::nullopt);
  auto usage = tree_->cpu_usage(P("/a"));
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->usage_usec, 900u);
  EXPECT_EQ(usage->user_usec, 600u);
  EXPECT_EQ(usage->system_usec, 300u);
  EXPECT_TRUE(usage->per_cpu_usec.empty());
  EXPECT_EQ(tree_->cpuset_cpus(P("/a")), (CpuList{0, 1}));
  EXPECT_EQ(tree_->cpuset_cpus(P("/a/b/c")), (CpuList{0, 1}));  // nearest ancestor with a value
  EXPECT_EQ(tree_->cpuset_cpus(P("/empty")), (CpuList{0, 1, 2, 3}));
  auto pids = tree_->pids(P("/a/b"));
  ASSERT_TRUE(pids);
  EXPECT_EQ(pids->current, 2u);
  EXPECT_EQ(pids->max, Limit(10));
  EXPECT_EQ(tree_->pids(P("/a"))->max, std::nullopt);
  auto io = tree_->io_stats(P("/a"));
  ASSERT_EQ(io.size(), 1u);
  EXPECT_EQ(io[0].major, 8u);
  EXPECT_EQ(io[0].wbytes, 200u);
  EXPECT_EQ(io[0].wios, 2u);
  EXPECT_NE(tree_->pressure(P("/a"), "memory")->find("total=5"), std::string::npos);
  EXPECT_EQ(tree_->pressure(P("/a"), "cpu"), std::nullopt);
  expect_error(Errc::InvalidValue, [&] { tree_->pressure(P("/a"), "../x"); });
  expect_error(Errc::NotFound, [&] { tree_->memory(P("/nope")); });
}

TEST_F(V2Fixture, EffectiveLimitsGrandparentWins) {
  auto eff = tree_->effective_memory(P("/a/b/c"));
  EXPECT_EQ(eff.limit, Limit(104857600));
  EXPECT_EQ(eff.binding, P("/a"));
  EXPECT_EQ(eff.binding_state.usage, 4096u);
  EXPECT_EQ(eff.swap_limit, Limit(1048576));
  auto own = tree_->effective_memory(P("/empty"));
  EXPECT_EQ(own.limit, std::nullopt);
  EXPECT_EQ(own.binding, P("/empty"));
  EXPECT_DOUBLE_EQ(*tree_->effective_cpu_quota(P("/a/b/c")), 0.5);
  EXPECT_EQ(tree_->effective_cpu_quota(P("/a")), std::nullopt);
}

TEST_F(V2Fixture, MembershipAndProcesses) {
  EXPECT_EQ(tree_->cgroup_of(42, ""), P("/a/b"));
  EXPECT_EQ(tree_->primary_cgroup_of(42), P("/a/b"));
  expect_error(Errc::NotFound, [&] { tree_->primary_cgroup_of(4242); });
  expect_error(Errc::InvalidValue, [&] { tree_->cgroup_of(-1, ""); });
  EXPECT_EQ(tree_->processes(P("/a"), false), std::vector<pid_t>{});
  EXPECT_EQ(tree_->processes(P("/a"), true), (std::vector<pid_t>{42, 43, 44}));
  EXPECT_EQ(tree_->processes(P("/a/b"), false), (std::vector<pid_t>{42, 43}));
  EXPECT_EQ(tree_->children(P("/a")), std::vector<std::string>{"b"});
  EXPECT_EQ(tree_->children(P("/")), (std::vector<std::string>{"a", "empty"}));
  EXPECT_TRUE(tree_->populated(P("/a")));
  EXPECT_FALSE(tree_->populated(P("/empty")));
  EXPECT_TRUE(tree_->exists(P("/a/b/c")));
  EXPECT_FALSE(tree_->exists(P("/a/bb")));
}

TEST_F(V2Fixture, WritersWriteNormalizedValues) {
  tree_->set_limit(P("/a"), "memory.max", "256M");
  EXPECT_EQ(dir_.read("cg/a/memory.max"), "268435456");
  tree_->set_limit(P("/a"), "memory.swap.max", "max");
  EXPECT_EQ(dir_.read("cg/a/memory.swap.max"), "max");
  tree_->set_limit(P("/a"), "cpu.max", "50000");
  EXPECT_EQ(dir_.read("cg/a/cpu.max"), "50000 100000");
  tree_->set_limit(P("/a"), "cpu.weight", "200");
  EXPECT_EQ(dir_.read("cg/a/cpu.weight"), "200");
  tree_->set_limit(P("/a"), "cpuset.cpus", "1,0");
  EXPECT_EQ(dir_.read("cg/a/cpuset.cpus"), "0-1");
  tree_->set_limit(P("/a"), "pids.max", "10");
  EXPECT_EQ(dir_.read("cg/a/pids.max"), "10");
  tree_->set_limit(P("/a"), "io.max", "8:0 wbps=2M");
  EXPECT_EQ(dir_.read("cg/a/io.max"), "8:0 wbps=2097152");
}

TEST_F(V2Fixture, RefusalsChangeNothing) {
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "memory.max", "lots"); });
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "cgroup.procs", "1"); });
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "cpu.weight", "0"); });
  expect_error(Errc::Unsupported, [&] { tree_->set_limit(P("/empty"), "memory.max", "1M"); });
  expect_error(Errc::NotFound, [&] { tree_->set_limit(P("/nope"), "memory.max", "1M"); });
  EXPECT_EQ(dir_.read("cg/a/memory.max"), "104857600\n");
  EXPECT_EQ(dir_.read("cg/a/cpu.weight"), "100\n");
  EXPECT_FALSE(dir_.exists("cg/empty/memory.max"));
  EXPECT_FALSE(dir_.exists("cg/nope"));
}

TEST_F(V2Fixture, LimitsReadBackAsTheirFiles) {
  EXPECT_EQ(tree_->limit(P("/a"), "memory.max"), "104857600");
  EXPECT_EQ(tree_->limit(P("/a"), "cpu.weight"), "100");
  EXPECT_EQ(tree_->limit(P("/empty"), "memory.max"), std::nullopt);  // controller not enabled there
  tree_->set_limit(P("/a"), "io.max", "8:0 wbps=2M");
  EXPECT_EQ(tree_->limit(P("/a"), "io.max"), "8:0 wbps=2097152");
  expect_error(Errc::InvalidValue, [&] { (void)tree_->limit(P("/a"), "cgroup.procs"); });
  expect_error(Errc::NotFound, [&] { (void)tree_->limit(P("/nope"), "memory.max"); });
}

TEST_F(V2Fixture, ControllersOfACgroupAreItsOwn) {
  EXPECT_EQ(tree_->controllers_of(P("/a")), (std::vector<std::string>{"cpu", "memory", "pids"}));
  expect_error(Errc::NotFound, [&] { (void)tree_->controllers_of(P("/nope")); });
}

TEST_F(V2Fixture, ReadFile) {
  EXPECT_EQ(tree_->read_file(P("/a"), "memory.max"), "104857600\n");
  for (const char* bad : {"", ".", "..", "../a/memory.max", "b/cgroup.procs", "/etc/passwd"})
    expect_error(Errc::InvalidPath, [&] { tree_->read_file(P("/a"), bad); });
  expect_error(Errc::NotFound, [&] { tree_->read_file(P("/a"), "memory.nope"); });
}

TEST_F(V2Fixture, CreateLeavesControllersAloneAndRemove) {
  tree_->create(P("/a/new"));
  EXPECT_TRUE(tree_->exists(P("/a/new")));
  // Controllers are enabled only when a limit needs them.
  EXPECT_EQ(dir_.read("cg/a/cgroup.subtree_control"), "memory\n");
  expect_error(Errc::Exists, [&] { tree_->create(P("/a/new")); });
  expect_error(Errc::NotFound, [&] { tree_->create(P("/missing/new")); });
  expect_error(Errc::Busy, [&] { tree_->remove(P("/a/b/c")); });  // populated
  expect_error(Errc::Busy, [&] { tree_->remove(P("/a/b")); });    // has children
  expect_error(Errc::InvalidPath, [&] { tree_->remove(P("/")); });
  tree_->remove(P("/a/new"));
  EXPECT_FALSE(dir_.exists("cg/a/new"));
  expect_error(Errc::NotFound, [&] { tree_->remove(P("/a/new")); });
}

TEST_F(V2Fixture, LimitEnablesItsControllerFromTheRootDown) {
  tree_->create(P("/a/new"));
  // /a lacks pids in subtree_control (the root "cg" has it): enabled on demand.
  // The fixture cannot make pids.max appear, so the write itself is Unsupported.
  expect_error(Errc::Unsupported, [&] { tree_->set_limit(P("/a/new"), "pids.max", "10"); });
  EXPECT_EQ(dir_.read("cg/a/cgroup.subtree_control"), "+pids");
  // /a/b holds processes: enabling a controller below it is refused, nothing written.
  tree_->create(P("/a/b/d"));
  dir_.write("cg/a/b/cgroup.subtree_control", "");
  expect_error(Errc::Busy, [&] { tree_->set_limit(P("/a/b/d"), "pids.max", "10"); });
  EXPECT_EQ(dir_.read("cg/a/b/cgroup.subtree_control"), "");
}

TEST_F(V2Fixture, AttachWritesPid) {
  tree_->attach(P("/empty"), 42);
  EXPECT_EQ(dir_.read("cg/empty/cgroup.procs"), "42");
  expect_error(Errc::InvalidValue, [&] { tree_->attach(P("/empty"), 0); });
  expect_error(Errc::NotFound, [&] { tree_->attach(P("/nope"), 42); });
}

// A cgroup made inside a delegation is handed over as it is: enabling
// controllers in its parent would forbid the parent to hold processes.
TEST_F(V2Fixture, DelegatingAsTheyAreEnablesNothingInTheParent) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown fixture files";
  const std::string before_a = dir_.read("cg/a/cgroup.subtree_control");
  const std::string before_root = dir_.read("cg/cgroup.subtree_control");
  tree_->delegate(P("/a/b"), 12345, 23456, CgroupTree::Controllers::AsTheyAre);
  EXPECT_EQ(dir_.read("cg/a/cgroup.subtree_control"), before_a);
  EXPECT_EQ(dir_.read("cg/cgroup.subtree_control"), before_root);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.abs("cg/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12345u);
}

TEST_F(V2Fixture, DelegateChownsTheDelegatableSet) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown fixture files";
  auto changed = tree_->delegate(P("/a"), 12345, 23456);
  std::vector<std::string> names;
  for (const auto& e : changed) {
    EXPECT_EQ(e.uid, 12345u);
    names.push_back(e.path.substr(dir_.abs("cg/a").size()));
  }
  // memory.max is listed in the delegate file but is a limit: never handed out;
  // memory.reclaim is listed but does not exist here.
  EXPECT_EQ(names, (std::vector<std::string>{"", "/cgroup.procs", "/cgroup.threads", "/cgroup.subtree_control",
                                             "/memory.oom.group"}));
  for (const char* rel : {"cg/a", "cg/a/cgroup.procs", "cg/a/cgroup.threads", "cg/a/cgroup.subtree_control",
                          "cg/a/memory.oom.group"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_.abs(rel).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 12345u) << rel;
    EXPECT_EQ(st.st_gid, 23456u) << rel;
  }
  for (const char* rel : {"cg/a/memory.max", "cg/a/cpu.max", "cg/a/b", "cg", "cg/cgroup.procs"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_.abs(rel).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u) << rel;
  }
  EXPECT_EQ(tree_->owner(P("/a")), 12345u);
  EXPECT_EQ(tree_->owner(P("/a/b")), 0u);
}

TEST_F(V2Fixture, MountRootMapsPaths) {
  // A mount showing only the subtree /a (as inside a container).
  auto tree = open(mountinfo_line(41, dir_.abs("cg/a"), "cgroup2", "rw", "/a"));
  EXPECT_EQ(tree->memory(P("/a/b")).limit, Limit(209715200));
  expect_error(Errc::NotFound, [&] { tree->memory(P("/empty")); });
  expect_error(Errc::NotFound, [&] { tree->memory(P("/ab")); });
  // Ancestors above the mount are not visible and do not count.
  EXPECT_EQ(tree->effective_memory(P("/a/b/c")).limit, Limit(104857600));
}

}  // namespace
}  // namespace nestbox
