// SPDX-License-Identifier: Apache-2.0
// kill -9 of the daemon, in the middle of a stream of calls, then a restart:
// grants, ownership and remove-on-empty marks are all still in force.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "cgmgr_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

using RestartTest = CgmgrTest;

TEST_F(RestartTest, KillNineLosesNothing) {
  auto& tree = sandbox_->tree();
  const auto& user = tk::test_user();
  const std::string team = proxy_->Create(root_ + "/team", {});
  proxy_->Delegate(team, user.uid, user.gid);
  ASSERT_EQ(as_user(dbus_send("RequestUserDelegation", {})).exit_code, 0);
  const std::string grant = root_ + "/user-" + std::to_string(user.uid);
  const std::string job = grant + "/job";
  ASSERT_EQ(as_user(dbus_send("Create", {"string:" + job, "dict:string:string:pids.max,10"})).exit_code, 0);
  tk::Child sleeper = user_sleeper();
  ASSERT_EQ(as_user(dbus_send("Attach", {"string:" + job, "uint32:" + std::to_string(sleeper.pid())})).exit_code, 0);
  ASSERT_EQ(as_user(dbus_send("RemoveOnEmpty", {"string:" + job, "boolean:true"})).exit_code, 0);
  const auto delegations = proxy_->ListDelegations();
  ASSERT_EQ(delegations.size(), 2u);

  // Root keeps creating and removing cgroups from another connection while the
  // daemon is killed under it.
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    try {
      auto conn = sdbus::createSessionBusConnectionWithAddress(bus_->address());
      CgmgrProxy p(*conn);
      for (int i = 0; !stop; ++i) {
        try {
          p.Create(root_ + "/churn" + std::to_string(i % 4), {{"pids.max", "5"}});
          p.Remove(root_ + "/churn" + std::to_string(i % 4), false);
        } catch (const sdbus::Error&) {
          // Refusals and a vanished daemon are expected here.
        }
      }
    } catch (const sdbus::Error&) {
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop_daemon();
  stop = true;
  churn.join();
  proxy_.reset();
  connection_.reset();
  start_daemon();
  ASSERT_FALSE(HasFatalFailure());

  auto after = proxy_->ListDelegations();
  EXPECT_EQ(after, delegations);
  EXPECT_EQ(tree.owner(CgroupPath::parse(team)), user.uid);
  EXPECT_EQ(tree.owner(CgroupPath::parse(grant)), user.uid);
  // The user can still work in its delegation.
  EXPECT_EQ(as_user(dbus_send("Create", {"string:" + grant + "/more", "dict:string:string:pids.max,5"})).exit_code, 0);
  // Leftover churn cgroups are plain root cgroups that can be removed.
  for (const auto& name : proxy_->ListChildren(root_))
    if (name.rfind("churn", 0) == 0) proxy_->Remove(root_ + "/" + name, true);
  // The remove-on-empty mark survived: emptying the cgroup now removes it.
  EXPECT_TRUE(tree.exists(CgroupPath::parse(job)));
  sleeper.kill(SIGKILL);
  sleeper.wait();
  bool gone = false;
  for (int i = 0; i < 600 && !gone; ++i) {
    gone = !tree.exists(CgroupPath::parse(job));
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone);
}

TEST_F(RestartTest, LostStateFileStillFindsUserDelegations) {
  const auto& user = tk::test_user();
  ASSERT_EQ(as_user(dbus_send("RequestUserDelegation", {})).exit_code, 0);
  stop_daemon();
  ASSERT_EQ(::unlink(state_path_.c_str()), 0);
  proxy_.reset();
  connection_.reset();
  start_daemon();
  ASSERT_FALSE(HasFatalFailure());
  auto list = proxy_->ListDelegations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].get<0>(), root_ + "/user-" + std::to_string(user.uid));
  EXPECT_EQ(list[0].get<1>(), user.uid);
}

// The state file grants subtrees, so one the user can write is an attack: a
// symlink to the user's own JSON, or a file the user owns, granting the user
// a path. The manager refuses to start on it, naming the file, and grants
// nothing; with the file gone it starts clean.
TEST_F(RestartTest, AStateFileTheUserControlsGrantsNothing) {
  const auto& user = tk::test_user();
  stop_daemon();
  proxy_.reset();
  connection_.reset();
  const std::string forged = "{\"version\": 1, \"remove_on_empty\": [], \"grants\": [{\"path\": \"" + root_ +
                             "/stolen\", \"uid\": " + std::to_string(user.uid) + ", \"gid\": " +
                             std::to_string(user.gid) + ", \"origin\": \"delegate\"}]}";
  tk::TempDir theirs("nestbox-forged", 0755);
  const std::string their_file = theirs.write("state.json", forged);
  ASSERT_EQ(::chown(their_file.c_str(), user.uid, user.gid), 0);
  auto start = [&] {
    tk::RunOptions options;
    options.timeout = std::chrono::seconds(30);
    return tk::run({tk::built_program("nestbox-cgmgr"), "--bus", bus_->address(), "--root", root_, "--policy",
                    policy_path_, "--state", state_path_, "--log-level", "warn"},
                   options);
  };
  ::unlink(state_path_.c_str());
  // 1. A symlink to the user's file.
  ASSERT_EQ(::symlink(their_file.c_str(), state_path_.c_str()), 0);
  auto r = start();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(state_path_), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
  // 2. The user's own file at the state path.
  ASSERT_EQ(::unlink(state_path_.c_str()), 0);
  {
    std::ofstream(state_path_) << forged;
  }
  ASSERT_EQ(::chown(state_path_.c_str(), user.uid, user.gid), 0);
  r = start();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("owned by uid " + std::to_string(user.uid)), std::string::npos) << r.err;
  // 3. Without it: a clean start that granted nothing.
  ASSERT_EQ(::unlink(state_path_.c_str()), 0);
  start_daemon();
  ASSERT_FALSE(HasFatalFailure());
  for (const auto& d : proxy_->ListDelegations()) EXPECT_NE(d.get<0>(), root_ + "/stolen");
}

}  // namespace
}  // namespace nestbox::cgmgr_test
