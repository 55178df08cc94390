// SPDX-License-Identifier: Apache-2.0
// The v1 backend over a fixture hybrid tree: one directory per hierarchy,
// holding the v1 files the kernel would have, plus a controller-less cgroup2.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controllers/controllers.hpp"
#include "expect_error.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "testing/fixture.hpp"

namespace nestbox {
namespace {

constexpr const char* kUnlimited = "9223372036854771712\n";
const std::vector<std::string> kHierarchies = {"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"};

class V1Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& h : kHierarchies)
      for (const char* cg : {"", "/a", "/a/b", "/empty"})
        dir_.cgroup(h + cg, {{"cgroup.procs", ""}, {"tasks", ""}, {"notify_on_release", "0\n"}});
    for (const char* cg : {"", "/a", "/a/b", "/empty"})
      dir_.cgroup(std::string("unified") + cg, {{"cgroup.procs", ""}, {"cgroup.events", "populated 0\n"}});
    dir_.cgroup("memory/a", {{"memory.limit_in_bytes", "104857600\n"},
                             {"memory.memsw.limit_in_bytes", "157286400\n"},
                             {"memory.usage_in_bytes", "1000\n"},
                             {"memory.memsw.usage_in_bytes", "1500\n"},
                             {"memory.stat", "cache 5\nrss 6\nactive_anon 7\nhierarchical_memory_limit 104857600\n"
                                             "total_cache 50\ntotal_rss 60\ntotal_active_anon 70\n"
                                             "total_mapped_file 80\ntotal_pgpgout 3\n"}});
    dir_.cgroup("memory/a/b", {{"memory.limit_in_bytes", kUnlimited},
                               {"memory.memsw.limit_in_bytes", kUnlimited},
                               {"memory.usage_in_bytes", "700\n"},
                               {"memory.memsw.usage_in_bytes", "700\n"},
                               {"cgroup.procs", "42\n43\n"}});
    dir_.cgroup("memory/empty", {{"memory.limit_in_bytes", kUnlimited}, {"memory.usage_in_bytes", "0\n"}});
    dir_.cgroup("cpu/a", {{"cpu.cfs_quota_us", "-1\n"}, {"cpu.cfs_period_us", "100000\n"}, {"cpu.shares", "1024\n"}});
    dir_.cgroup("cpu/a/b", {{"cpu.cfs_quota_us", "50000\n"}, {"cpu.cfs_period_us", "100000\n"}});
    dir_.cgroup("cpuacct/a/b", {{"cpuacct.usage", "3000000\n"},
                                {"cpuacct.usage_percpu", "1000000 2000000 \n"},
                                {"cpuacct.stat", "user 10\nsystem 5\n"}});
    dir_.cgroup("cpuset", {{"cpuset.cpus", "0-3\n"}, {"cpuset.mems", "0\n"}, {"cpuset.effective_cpus", "0-3\n"}});
    dir_.cgroup("cpuset/a", {{"cpuset.cpus", "0-1\n"}, {"cpuset.mems", "0\n"}, {"cpuset.effective_cpus", "0-1\n"}});
    dir_.cgroup("cpuset/a/b", {{"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}});
    dir_.cgroup("pids/a/b", {{"pids.current", "2\n"}, {"pids.max", "max\n"}});
    dir_.cgroup("blkio/a", {{"blkio.throttle.io_service_bytes_recursive",
                             "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 0\n8:0 Discard 0\n"
                             "8:0 Total 12288\n8:16 Read 1\n8:16 Write 0\nTotal 12289\n"},
                            {"blkio.throttle.io_serviced_recursive", "8:0 Read 2\n8:0 Write 3\n8:0 Total 5\nTotal 5\n"},
                            // BFQ counts the device without a throttle rule.
                            {"blkio.bfq.io_service_bytes_recursive", "8:16 Read 5000\n8:16 Write 0\nTotal 5000\n"},
                            {"blkio.throttle.read_bps_device", ""},
                            {"blkio.throttle.write_bps_device", ""},
                            {"blkio.throttle.read_iops_device", ""},
                            {"blkio.throttle.write_iops_device", ""}});
    dir_.cgroup("unified/a", {{"cgroup.events", "populated 1\n"}, {"cpu.pressure", "some avg10=1.00 total=9\n"}});
    dir_.write("proc/42/cgroup",
               "9:name=systemd:/\n7:blkio:/a/b\n6:pids:/a/b\n4:memory:/a/b\n3:cpuset:/a\n2:cpuacct:/a/b\n"
               "1:cpu:/a/b\n0::/a/b\n");
    tree_ = open(true);
  }

  std::unique_ptr<CgroupTree> open(bool hybrid) {
    std::string mi;
    int id = 32;
    for (const auto& h : kHierarchies) mi += testing::mountinfo_line(id++, dir_.abs(h), "cgroup", "rw," + h);
    mi += testing::mountinfo_line(id++, dir_.abs("systemd"), "cgroup", "rw,xattr,name=systemd");
    if (hybrid) mi += testing::mountinfo_line(id++, dir_.abs("unified"), "cgroup2", "rw");
    auto layout = HostLayout::parse(mi, [](const std::string&) { return std::string(); });
    TreeOptions opts;
    opts.proc_root = dir_.abs("proc");
    return open_cgroup_tree(layout, opts);
  }

  static CgroupPath P(std::string_view s) { return CgroupPath::parse(s); }
  std::string snapshot(const std::string& rel) { return dir_.read(rel); }

  testing::FixtureDir dir_;
  std::unique_ptr<CgroupTree> tree_;
};

using testkit::expect_error;

TEST_F(V1Fixture, LayoutAndMembership) {
  EXPECT_EQ(tree_->layout(), Layout::Hybrid);
  EXPECT_EQ(tree_->controllers(), (std::vector<std::string>{"blkio", "cpu", "cpuacct", "cpuset", "memory", "pids"}));
  EXPECT_EQ(tree_->cgroup_of(42, "memory"), P("/a/b"));
  EXPECT_EQ(tree_->cgroup_of(42, "cpuset"), P("/a"));
  EXPECT_EQ(tree_->cgroup_of(42, ""), P("/a/b"));
  EXPECT_EQ(tree_->cgroup_of(42, "devices"), std::nullopt);  // not mounted here
  EXPECT_EQ(tree_->primary_cgroup_of(42), P("/a/b"));
  EXPECT_EQ(open(false)->layout(), Layout::Legacy);
  EXPECT_EQ(open(false)->cgroup_of(42, ""), std::nullopt);
}

TEST_F(V1Fixture, MemoryTranslation) {
  auto m = tree_->memory(P("/a"));
  EXPECT_EQ(m.limit, Limit(104857600));
  EXPECT_EQ(m.usage, 1000u);
  EXPECT_EQ(m.swap_limit, Limit(157286400 - 104857600));
  EXPECT_EQ(m.swap_usage, std::optional<std::uint64_t>(500));
  // total_* become v2 names and win over local counters; other keys stay.
  EXPECT_EQ(m.stat.at("file"), 50u);
  EXPECT_EQ(m.stat.at("anon"), 60u);
  EXPECT_EQ(m.stat.at("active_anon"), 70u);
  EXPECT_EQ(m.stat.at("file_mapped"), 80u);
  EXPECT_EQ(m.stat.at("cache"), 5u);
  EXPECT_EQ(m.stat.at("total_pgpgout"), 3u);
  EXPECT_FALSE(m.stat.contains("total_cache"));
  auto b = tree_->memory(P("/a/b"));
  EXPECT_EQ(b.limit, std::nullopt);
  EXPECT_EQ(b.swap_limit, std::nullopt);
  auto e = tree_->memory(P("/empty"));
  EXPECT_EQ(e.swap_usage, std::nullopt);  // no memsw files
  auto eff = tree_->effective_memory(P("/a/b"));
  EXPECT_EQ(eff.limit, Limit(104857600));
  EXPECT_EQ(eff.binding, P("/a"));
  EXPECT_EQ(eff.swap_limit, Limit(52428800));
}

TEST_F(V1Fixture, CpuCpusetPidsIoReaders) {
  EXPECT_EQ(tree_->cpu_max(P("/a")), (CpuMax{std::nullopt, 100000}));
  EXPECT_EQ(tree_->cpu_max(P("/a/b")), (CpuMax{50000, 100000}));
  EXPECT_DOUBLE_EQ(*tree_->effective_cpu_quota(P("/a/b")), 0.5);
  auto u = tree_->cpu_usage(P("/a/b"));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->usage_usec, 3000u);
  EXPECT_EQ(u->per_cpu_usec, (std::vector<std::uint64_t>{1000, 2000}));
  const auto hz = static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
  EXPECT_EQ(u->user_usec, 10 * 1000000 / hz);
  EXPECT_EQ(u->system_usec, 5 * 1000000 / hz);
  EXPECT_EQ(tree_->cpuset_cpus(P("/a")), (CpuList{0, 1}));
  EXPECT_EQ(tree_->cpuset_cpus(P("/a/b")), (CpuList{0, 1}));  // empty own list: nearest ancestor
  EXPECT_EQ(tree_->cpuset_cpus(P("/empty")), (CpuList{0, 1, 2, 3}));
  EXPECT_EQ(tree_->pids(P("/a/b"))->current, 2u);
  EXPECT_EQ(tree_->pids(P("/a/b"))->max, std::nullopt);
  auto io = tree_->io_stats(P("/a"));
  ASSERT_EQ(io.size(), 2u);
  EXPECT_EQ(io[0].rbytes, 4096u);
  EXPECT_EQ(io[0].wbytes, 8192u);
  EXPECT_EQ(io[0].rios, 2u);
  EXPECT_EQ(io[0].wios, 3u);
  EXPECT_EQ(io[1].minor, 16u);
  EXPECT_EQ(io[1].rbytes, 5000u);  // the larger of the throttle (1) and BFQ (5000) counts
  EXPECT_NE(tree_->pressure(P("/a"), "cpu")->find("total=9"), std::string::npos);
  EXPECT_EQ(open(false)->pressure(P("/a"), "cpu"), std::nullopt);
}

TEST_F(V1Fixture, MemoryWritersKeepSwapAllowance) {
  tree_->set_limit(P("/a"), "memory.max", "200M");
  EXPECT_EQ(snapshot("memory/a/memory.limit_in_bytes"), "209715200");
  EXPECT_EQ(snapshot("memory/a/memory.memsw.limit_in_bytes"), std::to_string(209715200 + 52428800));
  tree_->set_limit(P("/a"), "memory.swap.max", "10M");
  EXPECT_EQ(snapshot("memory/a/memory.memsw.limit_in_bytes"), std::to_string(209715200 + 10485760));
  tree_->set_limit(P("/a"), "memory.max", "max");
  EXPECT_EQ(snapshot("memory/a/memory.limit_in_bytes"), "-1");
  EXPECT_EQ(snapshot("memory/a/memory.memsw.limit_in_bytes"), "-1");
  // Swap limit without memory limit cannot be expressed on v1.
  expect_error(Errc::Unsupported, [&] { tree_->set_limit(P("/a/b"), "memory.swap.max", "1M"); });
  EXPECT_EQ(snapshot("memory/a/b/memory.memsw.limit_in_bytes"), kUnlimited);
  expect_error(Errc::Unsupported, [&] { tree_->set_limit(P("/empty"), "memory.swap.max", "1M"); });
  tree_->set_limit(P("/empty"), "memory.max", "1G");  // no memsw: only the limit
  EXPECT_EQ(snapshot("memory/empty/memory.limit_in_bytes"), "1073741824");
  EXPECT_FALSE(dir_.exists("memory/empty/memory.memsw.limit_in_bytes"));
}

TEST_F(V1Fixture, CpuAndOtherWriters) {
  tree_->set_limit(P("/a"), "cpu.max", "50000 200000");
  EXPECT_EQ(snapshot("cpu/a/cpu.cfs_period_us"), "200000");
  EXPECT_EQ(snapshot("cpu/a/cpu.cfs_quota_us"), "50000");
  tree_->set_limit(P("/a"), "cpu.max", "max");
  EXPECT_EQ(snapshot("cpu/a/cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(snapshot("cpu/a/cpu.cfs_period_us"), "100000");
  tree_->set_limit(P("/a"), "cpu.weight", "50");
  EXPECT_EQ(snapshot("cpu/a/cpu.shares"), "512");
  tree_->set_limit(P("/a"), "cpu.weight", "1");
  EXPECT_EQ(snapshot("cpu/a/cpu.shares"), "10");
  EXPECT_EQ(detail::cpu_weight_to_shares(10000), 102400u);
  EXPECT_EQ(detail::cpu_weight_to_shares(0), 2u);
  tree_->set_limit(P("/a"), "cpuset.cpus", "1");
  EXPECT_EQ(snapshot("cpuset/a/cpuset.cpus"), "1");
  tree_->set_limit(P("/a"), "cpuset.mems", "0");
  EXPECT_EQ(snapshot("cpuset/a/cpuset.mems"), "0");
  tree_->set_limit(P("/a/b"), "pids.max", "10");
  EXPECT_EQ(snapshot("pids/a/b/pids.max"), "10");
  tree_->set_limit(P("/a"), "io.max", "8:0 rbps=1M wiops=max");
  EXPECT_EQ(snapshot("blkio/a/blkio.throttle.read_bps_device"), "8:0 1048576");
  EXPECT_EQ(snapshot("blkio/a/blkio.throttle.write_iops_device"), "8:0 0");
  EXPECT_EQ(snapshot("blkio/a/blkio.throttle.write_bps_device"), "");
  EXPECT_EQ(snapshot("blkio/a/blkio.throttle.read_iops_device"), "");
}

TEST_F(V1Fixture, LimitsReadBackInV2Form) {
  EXPECT_EQ(tree_->limit(P("/a"), "memory.max"), "104857600");
  EXPECT_EQ(tree_->limit(P("/a"), "memory.swap.max"), "52428800");  // memsw - limit
  EXPECT_EQ(tree_->limit(P("/a/b"), "memory.max"), "max");
  EXPECT_EQ(tree_->limit(P("/a/b"), "memory.swap.max"), "max");
  EXPECT_EQ(tree_->limit(P("/empty"), "memory.swap.max"), std::nullopt);  // no swap accounting
  EXPECT_EQ(tree_->limit(P("/a/b"), "cpu.max"), "50000 100000");
  EXPECT_EQ(tree_->limit(P("/a"), "cpu.max"), "max 100000");
  EXPECT_EQ(tree_->limit(P("/a"), "cpu.weight"), "100");
  EXPECT_EQ(tree_->limit(P("/a"), "cpuset.cpus"), "0-1");
  EXPECT_EQ(tree_->limit(P("/a/b"), "pids.max"), "max");
  EXPECT_EQ(tree_->limit(P("/a"), "pids.max"), std::nullopt);
  EXPECT_EQ(tree_->limit(P("/a"), "io.max"), "");
  dir_.write("blkio/a/blkio.throttle.read_bps_device", "8:0 1048576\n8:16 5\n");
  dir_.write("blkio/a/blkio.throttle.write_iops_device", "8:0 0\n");
  EXPECT_EQ(tree_->limit(P("/a"), "io.max"), "8:0 rbps=1048576 wiops=max\n8:16 rbps=5");
  // What set_limit writes reads back as its normalized form.
  tree_->set_limit(P("/a"), "memory.max", "200M");
  EXPECT_EQ(tree_->limit(P("/a"), "memory.max"), "209715200");
  for (const char* weight : {"1", "33", "50", "100", "250", "10000"}) {
    tree_->set_limit(P("/a"), "cpu.weight", weight);
    EXPECT_EQ(tree_->limit(P("/a"), "cpu.weight"), weight);
  }
  expect_error(Errc::InvalidValue, [&] { (void)tree_->limit(P("/a"), "memory.limit_in_bytes"); });
}

TEST_F(V1Fixture, RefusalsChangeNothing) {
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "memory.max", "-1"); });
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "cpu.max", "10 100000"); });
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "io.max", "8:0 rbps=1 bogus=2"); });
  expect_error(Errc::InvalidValue, [&] { tree_->set_limit(P("/a"), "memory.limit_in_bytes", "1"); });
  // A missing blkio file for one of the keys refuses before writing any.
  ASSERT_EQ(::unlink(dir_.abs("blkio/a/blkio.throttle.write_iops_device").c_str()), 0);
  expect_error(Errc::Unsupported, [&] { tree_->set_limit(P("/a"), "io.max", "8:0 rbps=1M wiops=5"); });
  EXPECT_EQ(snapshot("blkio/a/blkio.throttle.read_bps_device"), "");
  EXPECT_EQ(snapshot("memory/a/memory.limit_in_bytes"), "104857600\n");
  EXPECT_EQ(snapshot("cpu/a/cpu.cfs_quota_us"), "-1\n");
}

TEST_F(V1Fixture, CreateAttachRemove) {
  tree_->create(P("/a/new"));
  for (const auto& h : kHierarchies) EXPECT_TRUE(dir_.exists(h + "/a/new")) << h;
  EXPECT_TRUE(dir_.exists("unified/a/new"));
  EXPECT_FALSE(dir_.exists("systemd/a/new"));
  expect_error(Errc::Exists, [&] { tree_->create(P("/a/new")); });
  tree_->remove(P("/a/new"));
  for (const auto& h : kHierarchies) EXPECT_FALSE(dir_.exists(h + "/a/new")) << h;
  EXPECT_FALSE(dir_.exists("unified/a/new"));
  // Parent missing in one hierarchy: everything made so far is rolled back.
  dir_.mkdir("memory/a/half");
  ASSERT_EQ(::rmdir(dir_.abs("memory/a/half").c_str()), 0);
  ASSERT_EQ(::rename(dir_.abs("pids/a").c_str(), dir_.abs("pids/a-moved").c_str()), 0);
  expect_error(Errc::NotFound, [&] { tree_->create(P("/a/half")); });
  for (const auto& h : kHierarchies) EXPECT_FALSE(dir_.exists(h + "/a/half")) << h;
  ASSERT_EQ(::rename(dir_.abs("pids/a-moved").c_str(), dir_.abs("pids/a").c_str()), 0);

  tree_->attach(P("/empty"), 42);
  for (const auto& h : kHierarchies) EXPECT_EQ(snapshot(h + "/empty/cgroup.procs"), "42") << h;
  EXPECT_EQ(snapshot("unified/empty/cgroup.procs"), "42");
  expect_error(Errc::NotFound, [&] { tree_->attach(P("/nope"), 42); });
  EXPECT_EQ(tree_->processes(P("/a"), true), (std::vector<pid_t>{42, 43}));
  EXPECT_TRUE(tree_->populated(P("/a")));
  expect_error(Errc::Busy, [&] { tree_->remove(P("/a/b")); });
  expect_error(Errc::Busy, [&] { tree_->remove(P("/a")); });
}

TEST_F(V1Fixture, PopulatedTrustsTheCgroup2FlagOnlyWhenItIsSet) {
  // /empty holds nothing anywhere.
  EXPECT_FALSE(tree_->populated(P("/empty")));
  // The hybrid host's cgroup2 flag says populated: one read decides.
  dir_.write("unified/empty/cgroup.events", "populated 1\n");
  EXPECT_TRUE(tree_->populated(P("/empty")));
  // The flag says empty, but a process sits in one v1 hierarchy only: found.
  dir_.write("unified/empty/cgroup.events", "populated 0\n");
  dir_.write("pids/empty/cgroup.procs", "77\n");
  EXPECT_TRUE(tree_->populated(P("/empty")));
  // ... also one level down.
  dir_.write("pids/empty/cgroup.procs", "");
  dir_.cgroup("cpuset/empty/sub", {{"cgroup.procs", "78\n"}});
  EXPECT_TRUE(tree_->populated(P("/empty")));
}

TEST_F(V1Fixture, CpusetInheritance) {
  dir_.cgroup("cpuset/a/c", {{"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}});
  detail::Hierarchy h(CgroupMount{dir_.abs("cpuset"), "/", false, {"cpuset"}});
  detail::inherit_cpuset_v1(h.open(P("/a")), h.open(P("/a/c")));
  EXPECT_EQ(snapshot("cpuset/a/c/cpuset.cpus"), "0-1");
  EXPECT_EQ(snapshot("cpuset/a/c/cpuset.mems"), "0");
}

TEST_F(V1Fixture, ReadFileRoutesByController) {
  EXPECT_EQ(tree_->read_file(P("/a"), "memory.limit_in_bytes"), "104857600\n");
  EXPECT_EQ(tree_->read_file(P("/a/b"), "cpuacct.usage"), "3000000\n");
  EXPECT_EQ(tree_->read_file(P("/a/b"), "cgroup.procs"), "42\n43\n");  // primary = memory
  EXPECT_EQ(tree_->read_file(P("/a"), "cgroup.events"), "populated 1\n");  // cgroup2 side
  expect_error(Errc::NotFound, [&] { tree_->read_file(P("/a"), "devices.list"); });
  expect_error(Errc::NotFound, [&] { tree_->read_file(P("/a"), "memory.max"); });
  for (const char* bad : {"", "..", "../memory.limit_in_bytes", "b/cgroup.procs"})
    expect_error(Errc::InvalidPath, [&] { tree_->read_file(P("/a"), bad); });
}

TEST_F(V1Fixture, DelegateChownsEveryHierarchy) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown fixture files";
  auto changed = tree_->delegate(P("/a"), 12345, 23456);
  EXPECT_EQ(changed.size(), kHierarchies.size() * 3 + 2);
  std::vector<std::string> rels;
  for (const auto& h : kHierarchies)
    for (const char* f : {"", "/tasks", "/cgroup.procs"}) rels.push_back(h + "/a" + f);
  rels.push_back("unified/a");
  rels.push_back("unified/a/cgroup.procs");
  for (const auto& rel : rels) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_.abs(rel).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 12345u) << rel;
    EXPECT_EQ(st.st_gid, 23456u) << rel;
  }
  for (const char* rel : {"memory/a/memory.limit_in_bytes", "cpu/a/cpu.shares", "memory/a/b", "memory/a/notify_on_release"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir_.abs(rel).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u) << rel;
  }
  EXPECT_EQ(tree_->owner(P("/a")), 12345u);
}

}  // namespace
}  // namespace nestbox
