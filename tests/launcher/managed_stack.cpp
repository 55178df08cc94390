// SPDX-License-Identifier: Apache-2.0
#include "managed_stack.hpp"

#include <unistd.h>

#include <algorithm>

namespace nestbox::launcher_test {

namespace {

ManagedStack* g_stack = nullptr;

bool manager_on_bus(const std::string& address) {
  auto r = testkit::run({"dbus-send", "--bus=" + address, "--print-reply", "--dest=org.freedesktop.DBus", "/",
                         "org.freedesktop.DBus.NameHasOwner", "string:org.nestbox.CgroupManager1"});
  return r.exit_code == 0 && r.out.find("boolean true") != std::string::npos;
}

}  // namespace

void ManagedStackTest::SetUpTestSuite() {
  g_stack = new ManagedStack;
  ManagedStack& s = *g_stack;
  s.launcher = launcher_or_skip(&s.skip);
  if (s.launcher.empty()) return;
  for (auto missing : {testkit::missing_cgroup_write(), testkit::missing_dbus_daemon(), testkit::missing_fuse()})
    if (missing) {
      s.skip = *missing;
      return;
    }
  const std::string cgmgr = testkit::built_program("nestbox-cgmgr");
  const std::string fs = testkit::built_program("nestbox-fs");
  if (::access(cgmgr.c_str(), X_OK) != 0 || ::access(fs.c_str(), X_OK) != 0) {
    s.skip = "nestbox-cgmgr or nestbox-fs is not built (" + cgmgr + ", " + fs + ")";
    return;
  }
  s.sandbox = std::make_unique<testkit::CgroupSandbox>();
  s.bus = std::make_unique<testkit::PrivateBus>();
  s.config = std::make_unique<testkit::TempDir>("nestbox-cgmgr-conf", 0755);
  const std::string policy =
      s.config->write("cgmgr.toml", "[user." + testkit::test_user().name + "]\nmax_cgroups = 64\n");
  s.cgmgr = std::make_unique<testkit::Child>(
      testkit::Child::spawn({cgmgr, "--bus", s.bus->address(), "--root", s.sandbox->root().str(), "--policy", policy,
                             "--state", s.config->path() + "/state.json"}));
  if (!eventually([&] { return manager_on_bus(s.bus->address()) || !s.cgmgr->running(); }) ||
      !manager_on_bus(s.bus->address())) {
    s.skip = "nestbox-cgmgr did not come up on the private bus";
    return;
  }
  s.fs = std::make_unique<testkit::FuseMount>(std::vector<std::string>{fs, "-f"});
}

void ManagedStackTest::TearDownTestSuite() {
  if (!g_stack) return;
  g_stack->fs.reset();
  g_stack->cgmgr.reset();
  g_stack->bus.reset();
  g_stack->sandbox.reset();
  delete g_stack;
  g_stack = nullptr;
}

void ManagedStackTest::SetUp() {
  if (!g_stack->skip.empty()) GTEST_SKIP() << g_stack->skip;
  name_ = unique_name();
}

void ManagedStackTest::TearDown() {
  if (!g_stack->skip.empty()) return;
  EXPECT_TRUE(eventually([&] { return processes_mentioning(name_).empty(); })) << "leftover processes";
  const CgroupPath cg =
      g_stack->sandbox->root().child("user-" + std::to_string(testkit::test_user().uid)).child(name_);
  EXPECT_TRUE(eventually([&] { return !g_stack->sandbox->tree().exists(cg); })) << "leftover cgroup " << cg.str();
}

// The files come from this stack's nestbox-fs alone, not from a per-container
// tree the host may have mounted at the default place, unless a test asks.
void ManagedStackTest::add_tree_choice(std::vector<std::string>& full, const std::vector<std::string>& args) {
  const auto dashdash = std::find(args.begin(), args.end(), "--");
  if (std::find(args.begin(), dashdash, "--fs-tree") == dashdash) full.push_back("--no-fs-tree");
}

testkit::CommandResult ManagedStackTest::run(const std::vector<std::string>& args) {
  std::vector<std::string> full{"--bus", g_stack->bus->address(), "--fs", g_stack->fs->mountpoint(), "--name", name_};
  add_tree_choice(full, args);
  full.insert(full.end(), args.begin(), args.end());
  return run_launcher(g_stack->launcher, full);
}

testkit::Child ManagedStackTest::spawn(const std::vector<std::string>& args) {
  const auto& user = testkit::test_user();
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  std::vector<std::string> full{g_stack->launcher, "--bus", g_stack->bus->address(), "--fs", g_stack->fs->mountpoint(),
                                "--name",          name_};
  add_tree_choice(full, args);
  full.insert(full.end(), args.begin(), args.end());
  return testkit::Child::spawn(full, as_user);
}

bool ManagedStackTest::listed() {
  return eventually([&] {
    auto names = listed_names(g_stack->launcher);
    return std::count(names.begin(), names.end(), name_) == 1;
  });
}

const std::string& ManagedStackTest::launcher() const { return g_stack->launcher; }

ManagedStack& ManagedStackTest::stack() { return *g_stack; }

}  // namespace nestbox::launcher_test
