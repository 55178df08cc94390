// SPDX-License-Identifier: Apache-2.0
// Attacks by the unprivileged test user: each must fail with the right error name
// and leave every cgroup below the manager root exactly as it was.
#include <signal.h>

#include <sstream>

#include "cgmgr_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

class AttackTest : public CgmgrTest {
 protected:
  void SetUp() override {
    CgmgrTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto r = as_user(dbus_send("RequestUserDelegation", {}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    grant_ = root_ + "/user-" + std::to_string(tk::test_user().uid);
    ASSERT_EQ(as_user(dbus_send("Create", {"string:" + grant_ + "/job", "dict:string:string:pids.max,10"})).exit_code, 0);
    // Neighbours: a root-owned cgroup whose name extends the grant's, and one
    // delegated to another user (nobody).
    proxy_->Create(grant_ + "0", {});
    proxy_->Create(grant_ + "0/inner", {});
    proxy_->Create(root_ + "/nobody", {});
    proxy_->Delegate(root_ + "/nobody", 65534, 65534);
    proxy_->Create(root_ + "/nobody/work", {});
  }

  // Every cgroup below the root with its owner and the limits the attacks aim at.
  std::vector<std::string> snapshot() {
    std::vector<std::string> out;
    auto& tree = sandbox_->tree();
    std::function<void(const CgroupPath&)> walk = [&](const CgroupPath& p) {
      auto pids = tree.pids(p);
      out.push_back(p.str() + " owner=" + std::to_string(tree.owner(p)) +
                    " mem=" + format_limit(tree.memory(p).limit) + " pids=" + (pids ? format_limit(pids->max) : "-") +
                    " procs=" + std::to_string(tree.processes(p, false).size()));
      for (const auto& c : tree.children(p)) walk(p.child(c));
    };
    walk(CgroupPath::parse(root_));
    return out;
  }

  // Runs dbus-send as the test user; expects `error` and an unchanged tree.
  void expect_refused(const std::string& method, const std::vector<std::string>& args, const std::string& error) {
    auto before = snapshot();
    auto r = as_user(dbus_send(method, args));
    EXPECT_EQ(error_name(r), error) << method << " " << ::testing::PrintToString(args) << "\n" << r.err;
    EXPECT_EQ(snapshot(), before) << method << " changed the tree";
  }

  std::string grant_;
};

constexpr const char* kDenied = "org.nestbox.Error.PermissionDenied";
constexpr const char* kBadPath = "org.nestbox.Error.InvalidPath";
constexpr const char* kQuota = "org.nestbox.Error.QuotaExceeded";

TEST_F(AttackTest, MalformedPaths) {
  for (const std::string& p : {grant_ + "/../escape", grant_ + "/./x", grant_ + "//x", std::string(""),
                               std::string("relative/x"), grant_ + "/cgroup.procs", grant_ + "/" + std::string(300, 'a'),
                               grant_ + std::string(5000, '/') + "x"}) {
    expect_refused("Create", {"string:" + p, "dict:string:string:pids.max,5"}, kBadPath);
  }
  std::string longest = grant_;  // every name valid, the whole path over 4096 bytes
  while (longest.size() <= 4200) longest += "/" + std::string(250, 'l');
  expect_refused("Create", {"string:" + longest, "dict:string:string:pids.max,5"}, kBadPath);
  std::string deep = grant_;
  for (int i = 0; i < 80; ++i) deep += "/d";
  expect_refused("Create", {"string:" + deep, "dict:string:string:pids.max,5"}, kBadPath);
  expect_refused("Remove", {"string:" + grant_ + "/job/..", "boolean:true"}, kBadPath);
  expect_refused("GetValue", {"string:" + grant_ + "/job", "string:../../memory.max"}, kBadPath);
}

// Text a caller chose reaches the log escaped: a newline cannot start a forged
// line, a terminal escape is not sent to whoever reads the log.
TEST_F(AttackTest, CallerTextCannotForgeLogLines) {
  const std::string forged = "2026-12-02 00:00:00.000 nestbox-cgmgr[1] info: Delegate / to 1000:1000: ok";
  expect_refused("Create", {"string:" + grant_ + "/x\n" + forged, "dict:string:string:pids.max,5"}, kBadPath);
  auto r = as_user(dbus_send("SetLimits", {"string:" + grant_ + "/job", "dict:string:string:pids.max\n" + forged + ",5"}));
  EXPECT_NE(error_name(r), "") << r.out;
  expect_refused("Create", {"string:" + grant_ + "/\x1b[2Jx", "dict:string:string:pids.max,5"}, kBadPath);
  // The refusals were logged (warn), each on one line, the caller's text escaped.
  EXPECT_TRUE(eventually([&] {
    const std::string log = daemon_log();
    return log.find("/x\\n" + forged) != std::string::npos && log.find("pids.max\\n" + forged) != std::string::npos;
  })) << daemon_log();
  std::istringstream lines(daemon_log());
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.rfind("2026-12-02 00:00:00.000", 0), 0u) << "forged line: " << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
}

TEST_F(AttackTest, PrefixConfusion) {
  expect_refused("Create", {"string:" + grant_ + "0/x", "dict:string:string:pids.max,5"}, kDenied);
  expect_refused("Remove", {"string:" + grant_ + "0/inner", "boolean:false"}, kDenied);
  expect_refused("SetLimits", {"string:" + grant_ + "0/inner", "dict:string:string:pids.max,5"}, kDenied);
}

TEST_F(AttackTest, AttachForeignProcesses) {
  tk::Child roots = tk::Child::spawn({"sleep", "1000"});
  expect_refused("Attach", {"string:" + grant_ + "/job", "uint32:" + std::to_string(roots.pid())}, kDenied);
  expect_refused("Attach", {"string:" + grant_ + "/job", "uint32:1"}, kDenied);
  tk::RunOptions nobody;
  nobody.uid = 65534;
  nobody.gid = 65534;
  tk::Child theirs = tk::Child::spawn({"sleep", "1000"}, nobody);
  expect_refused("Attach", {"string:" + grant_ + "/job", "uint32:" + std::to_string(theirs.pid())}, kDenied);
  // The user's own process, parked by root in a cgroup the user may not write.
  tk::Child parked = user_sleeper(CgroupPath::parse(grant_ + "0/inner"));
  expect_refused("Attach", {"string:" + grant_ + "/job", "uint32:" + std::to_string(parked.pid())}, kDenied);
  // And moving one's own process into someone else's cgroup.
  tk::Child mine = user_sleeper();
  expect_refused("Attach", {"string:" + root_ + "/nobody/work", "uint32:" + std::to_string(mine.pid())}, kDenied);
  expect_refused("Attach", {"string:" + grant_ + "0/inner", "uint32:" + std::to_string(mine.pid())}, kDenied);
}

TEST_F(AttackTest, CreateAndAttachKeepsEveryCheck) {
  tk::Child mine = user_sleeper();
  const std::string pid = "uint32:" + std::to_string(mine.pid());
  const std::string limit = "dict:string:string:pids.max,5";
  // The name is one cgroup name inside the caller's own delegation, nothing else.
  for (const std::string& name : {std::string("../escape"), std::string("a/b"), std::string(""), std::string("."),
                                  std::string(".."), std::string("cgroup.procs"), std::string(300, 'n')})
    expect_refused("CreateAndAttach", {"string:" + name, limit, pid, "boolean:true"}, kBadPath);
  expect_refused("CreateAndAttach", {"string:box", "dict:string:string:pids.max,-1", pid, "boolean:true"},
                 "org.nestbox.Error.InvalidValue");
  expect_refused("CreateAndAttach", {"string:box", "dict:string:string:memory.max,512M", pid, "boolean:true"},
                 kQuota);
  // Someone else's process: refused, and the cgroup made on the way is gone again.
  tk::Child roots = tk::Child::spawn({"sleep", "1000"});
  expect_refused("CreateAndAttach", {"string:box", limit, "uint32:" + std::to_string(roots.pid()), "boolean:true"},
                 kDenied);
  expect_refused("CreateAndAttach", {"string:box", limit, "uint32:1", "boolean:true"}, kDenied);
  tk::Child parked = user_sleeper(CgroupPath::parse(grant_ + "0/inner"));
  expect_refused("CreateAndAttach", {"string:box", limit, "uint32:" + std::to_string(parked.pid()), "boolean:true"},
                 kDenied);
  // Root has no delegation to create in.
  auto r = as_root(dbus_send("CreateAndAttach", {"string:box", limit, pid, "boolean:true"}));
  EXPECT_EQ(error_name(r), "org.nestbox.Error.InvalidValue") << r.err;
}

TEST_F(AttackTest, OwnDelegatedRootIsOffLimits) {
  expect_refused("SetLimits", {"string:" + grant_, "dict:string:string:memory.max,1G"}, kDenied);
  expect_refused("SetLimits", {"string:" + grant_, "dict:string:string:pids.max,max"}, kDenied);
  expect_refused("Remove", {"string:" + grant_, "boolean:true"}, kDenied);
  expect_refused("Create", {"string:" + grant_, "dict:string:string:pids.max,5"}, kDenied);
}

TEST_F(AttackTest, Quotas) {
  // Ceilings from the policy: memory.max 256M, pids.max 64.
  expect_refused("Create", {"string:" + grant_ + "/big", "dict:string:string:memory.max,512M"}, kQuota);
  expect_refused("Create", {"string:" + grant_ + "/big", "dict:string:string:memory.max,max"}, kQuota);
  expect_refused("SetLimits", {"string:" + grant_ + "/job", "dict:string:string:pids.max,65"}, kQuota);
  expect_refused("SetLimits", {"string:" + grant_ + "/job", "dict:string:string:pids.max,max"}, kQuota);
  // Depth 2 below the grant at most (job exists at depth 1).
  ASSERT_EQ(as_user(dbus_send("Create", {"string:" + grant_ + "/job/a", "dict:string:string:pids.max,5"})).exit_code, 0);
  expect_refused("Create", {"string:" + grant_ + "/job/a/b", "dict:string:string:pids.max,5"}, kQuota);
  // Three cgroups at most (job and job/a exist).
  ASSERT_EQ(as_user(dbus_send("Create", {"string:" + grant_ + "/third", "dict:string:string:pids.max,5"})).exit_code, 0);
  expect_refused("Create", {"string:" + grant_ + "/fourth", "dict:string:string:pids.max,5"}, kQuota);
}

TEST_F(AttackTest, OtherUsersAndOutsideTheRoot) {
  expect_refused("Remove", {"string:" + root_ + "/nobody/work", "boolean:false"}, kDenied);
  expect_refused("Create", {"string:" + root_ + "/nobody/mine", "dict:string:string:pids.max,5"}, kDenied);
  expect_refused("Create", {"string:" + root_ + "/toplevel", "dict:string:string:pids.max,5"}, kDenied);
  expect_refused("Create", {"string:" + sandbox_->root().str() + "/outside", "dict:string:string:pids.max,5"}, kDenied);
  expect_refused("Create", {"string:/nestbox-escape", "dict:string:string:pids.max,5"}, kDenied);
  expect_refused("RemoveOnEmpty", {"string:" + root_ + "/nobody/work", "boolean:true"}, kDenied);
  expect_refused("GetValue", {"string:/", "string:cgroup.procs"}, kDenied);
}

TEST_F(AttackTest, RootOnlyMethods) {
  expect_refused("Delegate", {"string:" + grant_ + "/job", "uint32:1001", "uint32:1001"}, kDenied);
  expect_refused("Delegate", {"string:" + root_ + "/nobody", "uint32:1001", "uint32:1001"}, kDenied);
  expect_refused("Undelegate", {"string:" + root_ + "/nobody"}, kDenied);
  expect_refused("Undelegate", {"string:" + grant_}, kDenied);
}

}  // namespace
}  // namespace nestbox::cgmgr_test
