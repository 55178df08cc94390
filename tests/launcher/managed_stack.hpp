// SPDX-License-Identifier: Apache-2.0
// A fixture for tests that need nestbox-run with limits: a private bus,
// nestbox-cgmgr rooted in a sandbox cgroup with a policy granting the test user,
// and nestbox-fs on a temporary mountpoint, set up once per test suite. Tests
// skip (with the reason) when root, FUSE, dbus-daemon or a writable cgroup
// hierarchy is missing; TearDown checks that no process or cgroup is left.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "launcher_env.hpp"

namespace nestbox::launcher_test {

// What the suite set up (null members when it skipped).
struct ManagedStack {
  std::unique_ptr<testkit::CgroupSandbox> sandbox;
  std::unique_ptr<testkit::PrivateBus> bus;
  std::unique_ptr<testkit::TempDir> config;
  std::unique_ptr<testkit::Child> cgmgr;
  std::unique_ptr<testkit::FuseMount> fs;
  std::string launcher;
  std::string skip;
};

class ManagedStackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;
  // nestbox-run --bus ... --fs ... --name <name_> ARGS, as the test user.
  testkit::CommandResult run(const std::vector<std::string>& args);
  // The same command line, started in the background (for exec tests).
  testkit::Child spawn(const std::vector<std::string>& args);
  // Waits until `nestbox-run list` shows name_.
  bool listed();
  const std::string& launcher() const;
  static ManagedStack& stack();
  std::string name_;

 private:
  // --no-fs-tree unless `args` name a tree: the tests say which files they read.
  static void add_tree_choice(std::vector<std::string>& full, const std::vector<std::string>& args);
};

}  // namespace nestbox::launcher_test
