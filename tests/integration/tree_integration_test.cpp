// SPDX-License-Identifier: Apache-2.0
// The host backend on the real kernel, inside a per-run sandbox cgroup.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include "expect_error.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "testkit.hpp"

namespace nestbox {
namespace {

using testkit::Child;

class TreeIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    NESTBOX_SKIP_IF_MISSING(testkit::missing_cgroup_write());
    sandbox_ = std::make_unique<testkit::CgroupSandbox>();
  }
  CgroupTree& tree() { return sandbox_->tree(); }
  CgroupPath make(std::string_view name) {
    auto path = sandbox_->root().child(name);
    tree().create(path);
    return path;
  }
  // A child that sleeps until killed (the Child destructor kills and reaps it).
  static Child sleeper() {
    return Child::fork_fn([] {
      for (;;) ::pause();
      return 0;
    });
  }
  std::unique_ptr<testkit::CgroupSandbox> sandbox_;
};

using testkit::expect_error;

TEST_F(TreeIntegration, LimitsRoundTrip) {
  auto cg = make("limits");
  tree().set_limit(cg, "memory.max", "64M");
  EXPECT_EQ(tree().memory(cg).limit, Limit(64ull << 20));
  tree().set_limit(cg, "cpu.max", "50000 100000");
  EXPECT_EQ(tree().cpu_max(cg), (CpuMax{50000, 100000}));
  tree().set_limit(cg, "cpuset.cpus", "0");
  EXPECT_EQ(tree().cpuset_cpus(cg), CpuList{0});
  tree().set_limit(cg, "pids.max", "10");
  EXPECT_EQ(tree().pids(cg)->max, Limit(10));
  tree().set_limit(cg, "cpu.weight", "50");
  if (tree().layout() == Layout::Unified) {
    EXPECT_EQ(tree().read_file(cg, "cpu.weight"), "50\n");
  } else {
    EXPECT_EQ(tree().read_file(cg, "cpu.shares"), "512\n");
  }
  tree().set_limit(cg, "memory.max", "max");
  EXPECT_EQ(tree().memory(cg).limit, std::nullopt);
  tree().set_limit(cg, "cpu.max", "max");
  EXPECT_EQ(tree().cpu_max(cg)->quota_us, std::nullopt);
}

TEST_F(TreeIntegration, InvalidLimitChangesNothing) {
  auto cg = make("refuse");
  tree().set_limit(cg, "memory.max", "64M");
  expect_error(Errc::InvalidValue, [&] { tree().set_limit(cg, "memory.max", "64X"); });
  expect_error(Errc::InvalidValue, [&] { tree().set_limit(cg, "cpu.weight", "0"); });
  EXPECT_EQ(tree().memory(cg).limit, Limit(64ull << 20));
}

TEST_F(TreeIntegration, SwapLimitOrderingBothDirections) {
  auto cg = make("swap");
  tree().set_limit(cg, "memory.max", "64M");
  try {
    tree().set_limit(cg, "memory.swap.max", "16M");
  } catch (const Error& e) {
    if (e.code() == Errc::Unsupported) GTEST_SKIP() << "no swap accounting: " << e.what();
    throw;
  }
  EXPECT_EQ(tree().memory(cg).swap_limit, Limit(16ull << 20));
  // Raising above the old memory+swap total and lowering below the old limit
  // both need the writes in the right order on v1.
  tree().set_limit(cg, "memory.max", "256M");
  EXPECT_EQ(tree().memory(cg).limit, Limit(256ull << 20));
  EXPECT_EQ(tree().memory(cg).swap_limit, Limit(16ull << 20));
  tree().set_limit(cg, "memory.max", "32M");
  EXPECT_EQ(tree().memory(cg).limit, Limit(32ull << 20));
  EXPECT_EQ(tree().memory(cg).swap_limit, Limit(16ull << 20));
}

TEST_F(TreeIntegration, EffectiveLimitFromGrandparent) {
  auto gp = make("gp");
  auto p = gp.child("p");
  auto c = p.child("c");
  tree().create(p);
  tree().create(c);
  tree().set_limit(gp, "memory.max", "32M");
  tree().set_limit(c, "memory.max", "64M");
  tree().set_limit(gp, "cpu.max", "25000 100000");
  auto eff = tree().effective_memory(c);
  EXPECT_EQ(eff.limit, Limit(32ull << 20));
  EXPECT_EQ(eff.binding, gp);
  EXPECT_DOUBLE_EQ(*tree().effective_cpu_quota(c), 0.25);
  EXPECT_EQ(tree().children(gp), std::vector<std::string>{"p"});
}

TEST_F(TreeIntegration, AttachCountAndRemove) {
  auto cg = make("procs");
  // On cgroup v2 a controller's files appear once a limit needs the controller.
  tree().set_limit(cg, "pids.max", "100");
  auto child = sleeper();
  tree().attach(cg, child.pid());
  // Created after cg got its process: on cgroup v2 the library then leaves cg's
  // subtree_control alone, so cg may keep its process beside a child cgroup.
  auto sub = cg.child("sub");
  tree().create(sub);
  EXPECT_EQ(tree().primary_cgroup_of(child.pid()), cg);
  for (const auto& ctl : tree().controllers())
    EXPECT_EQ(tree().cgroup_of(child.pid(), ctl), cg) << ctl;
  EXPECT_EQ(tree().pids(cg)->current, 1u);
  EXPECT_EQ(tree().processes(cg, false), std::vector<pid_t>{child.pid()});
  auto other = sleeper();
  tree().attach(sub, other.pid());
  auto all = tree().processes(cg, true);
  std::sort(all.begin(), all.end());
  auto expected = std::vector<pid_t>{child.pid(), other.pid()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(all, expected);
  EXPECT_TRUE(tree().populated(cg));
  expect_error(Errc::Busy, [&] { tree().remove(cg); });
  expect_error(Errc::Busy, [&] { tree().remove(sub); });
  other.kill(SIGKILL);
  other.wait();
  tree().remove(sub);
  EXPECT_FALSE(tree().exists(sub));
  child.kill(SIGKILL);
  child.wait();
  EXPECT_FALSE(tree().populated(cg));
  tree().remove(cg);
  EXPECT_FALSE(tree().exists(cg));
  expect_error(Errc::NotFound, [&] { tree().remove(cg); });
}

TEST_F(TreeIntegration, CpuUsageAfterBusyChild) {
  auto cg = make("busy");
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  auto child = Child::fork_fn([&] {
    ::close(go[1]);
    char c;
    if (::read(go[0], &c, 1) != 1) return 1;
    // Burn 100ms of CPU time (not wall time) once we are inside the cgroup.
    timespec ts{};
    volatile unsigned long spin = 0;
    do {
      for (int i = 0; i < 100000; ++i) spin = spin + 1;
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec == 0 && ts.tv_nsec < 100'000'000);
    return 0;
  });
  ::close(go[0]);
  tree().attach(cg, child.pid());
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  EXPECT_EQ(child.wait(), 0);
  auto usage = tree().cpu_usage(cg);
  ASSERT_TRUE(usage);
  EXPECT_GT(usage->usage_usec, 0u);
  EXPECT_GT(usage->user_usec + usage->system_usec, 0u);
}

// "MAJ:MIN" of a whole disk (not a loop/zram device), or "" if there is none.
std::string first_disk() {
  for (const char* name : {"vda", "sda", "nvme0n1", "xvda"}) {
    std::ifstream in(std::string("/sys/block/") + name + "/dev");
    std::string dev;
    if (in >> dev) return dev;
  }
  return "";
}

TEST_F(TreeIntegration, IoMaxTranslation) {
  auto dev = first_disk();
  if (dev.empty()) GTEST_SKIP() << "needs a vda/sda/nvme0n1/xvda block device for io throttling";
  auto cg = make("io");
  try {
    tree().set_limit(cg, "io.max", dev + " rbps=1M wiops=100");
  } catch (const Error& e) {
    if (e.code() == Errc::Unsupported) GTEST_SKIP() << "no io throttling: " << e.what();
    throw;
  }
  if (tree().layout() == Layout::Unified) {
    auto text = tree().read_file(cg, "io.max");
    EXPECT_NE(text.find(dev + " rbps=1048576"), std::string::npos) << text;
    EXPECT_NE(text.find("wiops=100"), std::string::npos) << text;
  } else {
    EXPECT_EQ(tree().read_file(cg, "blkio.throttle.read_bps_device"), dev + " 1048576\n");
    EXPECT_EQ(tree().read_file(cg, "blkio.throttle.write_iops_device"), dev + " 100\n");
    tree().set_limit(cg, "io.max", dev + " rbps=max");
    EXPECT_EQ(tree().read_file(cg, "blkio.throttle.read_bps_device"), "");
  }
}

TEST_F(TreeIntegration, CreateRefusesBadAndExisting) {
  auto cg = make("dup");
  // A new cgroup can take processes at once: on v1 it got its parent's cpuset.
  if (auto cpus = tree().cpuset_cpus(cg)) {
    EXPECT_FALSE(cpus->empty());
  }
  expect_error(Errc::Exists, [&] { tree().create(cg); });
  expect_error(Errc::NotFound, [&] { tree().create(sandbox_->root().child("missing").child("x")); });
  EXPECT_FALSE(tree().exists(sandbox_->root().child("missing")));
  expect_error(Errc::InvalidPath, [&] { tree().create(CgroupPath::parse(sandbox_->root().str() + "/../x")); });
}

TEST_F(TreeIntegration, DelegateHandsOverOnlyTheDelegatableFiles) {
  auto cg = make("deleg");
  auto changed = tree().delegate(cg, 65534, 65534);
  EXPECT_FALSE(changed.empty());
  EXPECT_EQ(tree().owner(cg), 65534u);
  for (const auto& e : changed) {
    struct stat st {};
    ASSERT_EQ(::stat(e.path.c_str(), &st), 0) << e.path;
    EXPECT_EQ(st.st_uid, 65534u) << e.path;
  }
  // Limit files stay root's, so the delegatee cannot raise its own limits.
  const char* limit_file = tree().layout() == Layout::Unified ? "memory.max" : "memory.limit_in_bytes";
  for (const auto& e : changed) EXPECT_EQ(e.path.find(limit_file), std::string::npos) << e.path;
}

TEST_F(TreeIntegration, ReadFileRefusesEscapes) {
  auto cg = make("files");
  for (const char* bad : {"../cgroup.procs", "..", "x/cgroup.procs"})
    expect_error(Errc::InvalidPath, [&] { tree().read_file(cg, bad); });
  EXPECT_EQ(tree().read_file(cg, "cgroup.procs"), "");
}

// A tree that keeps files open (as nestbox-fs reads) sees what a fresh open
// would: new values, a removed cgroup as gone, a cgroup made again under the
// same name as the new one, and more cgroups than it keeps files for.
TEST_F(TreeIntegration, KeptOpenFilesShowWhatAFreshOpenWould) {
  TreeOptions options;
  options.kept_files = 16;
  auto reader = open_host_cgroup_tree(options);
  auto cg = make("kept");
  tree().set_limit(cg, "memory.max", "64M");
  EXPECT_EQ(reader->memory(cg).limit, Limit(64ull << 20));
  tree().set_limit(cg, "memory.max", "32M");
  EXPECT_EQ(reader->memory(cg).limit, Limit(32ull << 20));
  EXPECT_EQ(reader->effective_memory(cg).limit, Limit(32ull << 20));

  EXPECT_TRUE(reader->exists(cg));
  tree().remove(cg);
  EXPECT_FALSE(reader->exists(cg)) << "a removed cgroup whose files are kept";
  EXPECT_THROW(reader->memory(cg), Error) << "a removed cgroup read through kept files";
  tree().create(cg);
  tree().set_limit(cg, "memory.max", "16M");
  EXPECT_EQ(reader->memory(cg).limit, Limit(16ull << 20)) << "the cgroup made again under the same name";

  // Four times more cgroups than files kept: every one reads right, twice.
  std::vector<CgroupPath> many;
  for (int i = 0; i < 64; ++i) {
    many.push_back(make("many" + std::to_string(i)));
    tree().set_limit(many.back(), "memory.max", std::to_string((i + 1) * 4) + "M");
  }
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 64; ++i)
      EXPECT_EQ(reader->memory(many[static_cast<std::size_t>(i)]).limit, Limit(static_cast<std::uint64_t>(i + 1) * 4 << 20))
          << "cgroup " << i << ", round " << round;
}

}  // namespace
}  // namespace nestbox
