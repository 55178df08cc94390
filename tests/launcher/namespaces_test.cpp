// SPDX-License-Identifier: Apache-2.0
// nestbox-run's namespaces, mounts, init, security and bad-input handling, with
// --no-cgroup (no manager needed). Limits are tested in limits_test.cpp.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "launcher_env.hpp"

namespace nestbox::launcher_test {
namespace {

class LauncherNs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    launcher_ = launcher_or_skip(&why);
    if (launcher_.empty()) GTEST_SKIP() << why;
    name_ = unique_name();
  }
  void TearDown() override {
    if (launcher_.empty()) return;
    // Nothing of the container may outlive the launcher.
    EXPECT_TRUE(eventually([&] { return processes_mentioning(name_).empty(); }))
        << "leftover processes for " << name_;
    EXPECT_TRUE(mounts_mentioning("newroot").empty() && mounts_mentioning("oldroot").empty())
        << "container mounts leaked into the host's mount namespace";
    auto names = listed_names(launcher_);
    EXPECT_EQ(std::count(names.begin(), names.end(), name_), 0) << "stale record for " << name_;
  }
  testkit::CommandResult run(std::vector<std::string> args, testkit::RunOptions options = {}) {
    std::vector<std::string> full{"--no-cgroup", "--no-fs", "--name", name_};
    full.insert(full.end(), args.begin(), args.end());
    return run_launcher(launcher_, full, std::move(options));
  }
  std::string launcher_;
  std::string name_;
};

TEST_F(LauncherNs, ExitCodesFollowTheCommand) {
  EXPECT_EQ(run({"--", "true"}).exit_code, 0);
  EXPECT_EQ(run({"--", "sh", "-c", "exit 3"}).exit_code, 3);
  EXPECT_EQ(run({"--", "sh", "-c", "kill -9 $$"}).exit_code, 128 + SIGKILL);
  auto missing = run({"--", "no-such-command-here"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  EXPECT_EQ(run({"--", "/etc/passwd"}).exit_code, 126);
}

TEST_F(LauncherNs, ContainerRootIsTheUserAndSubordinateIdsFollow) {
  const auto& user = testkit::test_user();
  auto r = run({"--", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string uid;
  in >> uid;
  EXPECT_EQ(uid, "0");
  unsigned long inside = 0, outside = 0, count = 0;
  in >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(outside, user.uid);
  EXPECT_EQ(count, 1u);
  if (user.subuid_count > 0) {
    ASSERT_TRUE(in >> inside >> outside >> count) << r.out;
    EXPECT_EQ(inside, 1u);
    EXPECT_EQ(outside, user.subuid_start);
    EXPECT_EQ(count, user.subuid_count);
  }
}

TEST_F(LauncherNs, OwnPidNamespaceWithInitAsPid1) {
  auto r = run({"--", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  int self = 0, count = 0;
  in >> self >> count;
  EXPECT_EQ(self, 2) << "the command is the first child of the container's init";
  EXPECT_LE(count, 4) << r.out;  // init, sh, ls, grep at most
}

TEST_F(LauncherNs, HostnameAndLoopback) {
  auto r = run({"--hostname", "box-" + std::to_string(::getpid()), "--", "sh", "-c", "hostname; ip -o link show"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "box-" + std::to_string(::getpid()));
  // --net none: only the loopback interface, and it is up.
  EXPECT_NE(r.out.find("lo: <LOOPBACK,UP"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("2: "), std::string::npos) << "other interfaces visible:\n" << r.out;
}

TEST_F(LauncherNs, HostRootIsReadOnlyAndScratchDirsAreFresh) {
  auto r = run({"--", "sh", "-c",
                "touch /usr/nestbox-probe 2>/dev/null && echo root-writable; "
                "echo ok > /tmp/probe && cat /tmp/probe; ls -A /run | wc -l; "
                "test -c /dev/null && test -e /dev/pts/ptmx && test ! -e /dev/sda && echo dev-ok; "
                "test -d /dev/.nestbox/proc/self && echo pristine-proc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("root-writable"), std::string::npos);
  EXPECT_NE(r.out.find("ok\n0\ndev-ok\npristine-proc"), std::string::npos) << r.out;
}

TEST_F(LauncherNs, BindMountsHonourReadOnly) {
  const auto& user = testkit::test_user();
  testkit::TempDir dir("nestbox-bind", 0755);
  ASSERT_EQ(::chown(dir.path().c_str(), user.uid, user.gid), 0);
  dir.write("hello", "from-host\n");
  auto ro = run({"--bind", dir.path() + ":/mnt:ro", "--", "sh", "-c",
                 "cat /mnt/hello; if touch /mnt/new 2>/dev/null; then echo wrote; fi"});
  ASSERT_EQ(ro.exit_code, 0) << ro.err;
  EXPECT_EQ(ro.out, "from-host\n");
  struct stat st {};
  EXPECT_NE(::stat((dir.path() + "/new").c_str(), &st), 0);

  auto rw = run({"--bind", dir.path() + ":/mnt", "--", "sh", "-c", "echo inside > /mnt/new"});
  ASSERT_EQ(rw.exit_code, 0) << rw.err;
  std::ifstream f(dir.path() + "/new");
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "inside");
}

TEST_F(LauncherNs, SignalsReachTheCommand) {
  const auto& user = testkit::test_user();
  testkit::TempDir dir("nestbox-sig", 0755);
  ASSERT_EQ(::chown(dir.path().c_str(), user.uid, user.gid), 0);
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  auto child = testkit::Child::spawn(
      {launcher_, "--no-cgroup", "--no-fs", "--name", name_, "--bind", dir.path() + ":/mnt", "--", "sh", "-c",
       "trap 'echo term > /mnt/got; exit 42' TERM; touch /mnt/ready; while :; do sleep 0.1; done"},
      as_user);
  ASSERT_TRUE(eventually([&] { return ::access((dir.path() + "/ready").c_str(), F_OK) == 0; }));
  child.kill(SIGTERM);
  EXPECT_EQ(child.wait(), 42);
  std::ifstream f(dir.path() + "/got");
  std::string got;
  f >> got;
  EXPECT_EQ(got, "term");
}

TEST_F(LauncherNs, TtyIsARealPseudoTerminal) {
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  const std::string cmd = launcher_ + " --no-cgroup --no-fs --name " + name_ +
                          " --tty -- sh -c 'tty; test -t 0 && echo stdin-tty; exit 5'";
  auto r = testkit::test_user().run({"script", "-qec", cmd, "/dev/null"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stdin-tty"), std::string::npos) << r.out;
}

TEST_F(LauncherNs, SeccompRefusesTiocsti) {
  if (::access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "perl is not installed";
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  // TIOCSTI = 0x5412 on every Linux architecture nestbox builds for.
  const std::string cmd = launcher_ + " --no-cgroup --no-fs --name " + name_ +
                          R"( --tty -- perl -e 'my $c = "x"; ioctl(STDIN, 0x5412, $c) or print "ioctl: $!\n"')";
  auto r = testkit::test_user().run({"script", "-qec", cmd, "/dev/null"});
  EXPECT_NE(r.out.find("ioctl: Operation not permitted"), std::string::npos) << r.out << r.err;
}

TEST_F(LauncherNs, ExecAndList) {
  const auto& user = testkit::test_user();
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  auto child = testkit::Child::spawn(
      {launcher_, "--no-cgroup", "--no-fs", "--name", name_, "--", "sh", "-c", "echo $$ > /tmp/marker; sleep 600"},
      as_user);
  ASSERT_TRUE(eventually([&] {
    auto names = listed_names(launcher_);
    return std::count(names.begin(), names.end(), name_) == 1;
  }));
  auto list = run_launcher(launcher_, {"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto json = nlohmann::json::parse(list.out);
  bool found = false;
  for (const auto& c : json)
    if (c.at("name") == name_) {
      found = true;
      EXPECT_EQ(c.at("launcher_pid").get<pid_t>(), child.pid());
      EXPECT_GT(c.at("init_pid").get<pid_t>(), 0);
    }
  EXPECT_TRUE(found) << list.out;
  // exec sees the container's hostname, /tmp and pid namespace.
  auto ex = run_launcher(launcher_, {"exec", name_, "--", "sh", "-c", "hostname; cat /tmp/marker; id -u"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(ex.out, name_ + "\n2\n0\n");
  EXPECT_EQ(run_launcher(launcher_, {"exec", name_, "--", "sh", "-c", "exit 9"}).exit_code, 9);
  auto none = run_launcher(launcher_, {"exec", "no-such-" + name_, "--", "true"});
  EXPECT_EQ(none.exit_code, 125);
  EXPECT_NE(none.err.find("no running container"), std::string::npos) << none.err;

  child.kill(SIGTERM);
  EXPECT_EQ(child.wait(), 128 + SIGTERM);
}

TEST_F(LauncherNs, BadInputIsRefusedWith125) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--bogus-option", "--", "true"}, "bogus"},
      {{"--rootfs", "/nonexistent/root/fs", "--", "true"}, "/nonexistent/root/fs"},
      {{"--bind", "/nonexistent/src:/mnt", "--", "true"}, "/nonexistent/src"},
      {{"--bind", "/tmp:/no/such/dir/below/ro/root", "--", "true"}, "/no/such/dir"},
      {{"--workdir", "/no/such/workdir", "--", "true"}, "/no/such/workdir"},
      {{}, "no command"},
  };
  for (const auto& c : cases) {
    auto r = run(c.args);
    EXPECT_EQ(r.exit_code, 125) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // Sizes are checked before anything is created (and need no manager).
  auto size = run_launcher(launcher_, {"--name", name_, "--memory", "lots", "--", "true"});
  EXPECT_EQ(size.exit_code, 125);
  EXPECT_NE(size.err.find("--memory"), std::string::npos) << size.err;
}

TEST_F(LauncherNs, BindDestinationMayNotEscapeViaSymlink) {
  const auto& user = testkit::test_user();
  testkit::TempDir root("nestbox-rootfs", 0755);
  ASSERT_EQ(::chown(root.path().c_str(), user.uid, user.gid), 0);
  testkit::TempDir outside("nestbox-outside", 0755);
  ASSERT_EQ(::symlink("../../../../../../../../..", (root.path() + "/up").c_str()), 0);
  ASSERT_EQ(::symlink("/etc", (root.path() + "/abs").c_str()), 0);
  for (const char* dst : {"/up/tmp/x", "/abs/x"}) {
    auto r = run({"--rootfs", root.path(), "--bind", outside.path() + ":" + dst, "--", "true"});
    EXPECT_EQ(r.exit_code, 125) << dst << ": " << r.err;
    EXPECT_NE(r.err.find("leads out of the container root"), std::string::npos) << r.err;
  }
}

TEST_F(LauncherNs, NameInUse) {
  const auto& user = testkit::test_user();
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  auto first = testkit::Child::spawn({launcher_, "--no-cgroup", "--no-fs", "--name", name_, "--", "sleep", "600"},
                                     as_user);
  ASSERT_TRUE(eventually([&] {
    auto names = listed_names(launcher_);
    return std::count(names.begin(), names.end(), name_) == 1;
  }));
  auto second = run({"--", "true"});
  EXPECT_EQ(second.exit_code, 125);
  EXPECT_NE(second.err.find("already running"), std::string::npos) << second.err;
  first.kill(SIGTERM);
  EXPECT_EQ(first.wait(), 128 + SIGTERM);
}

// On a host without /run/user, the records' fallback is /tmp/nestbox-UID, which
// anyone can create first. Squatted (another user's directory there), run, list
// and exec must still work: the records go below the user's $HOME instead. Run
// in a private mount namespace with its own /tmp, so nothing of the host's /tmp
// (or of other tests' containers) is touched.
TEST_F(LauncherNs, SquattedTmpStateDirectoryFallsBackBelowHome) {
  const auto& user = testkit::test_user();
  if (::access(("/run/user/" + std::to_string(user.uid)).c_str(), F_OK) == 0)
    GTEST_SKIP() << "/run/user/" << user.uid << " exists: the /tmp fallback is not used for the test user";
  const std::string dir = launcher_.substr(0, launcher_.rfind('/'));
  const std::string as_user = "runuser -u " + user.name + " -- env HOME=" + user.home + " /mnt/nestbox-run ";
  const std::string script =
      "set -e; mount --bind " + dir + " /mnt; mount -t tmpfs -o mode=1777 tmpfs /tmp; "
      "mkdir -m 0755 /tmp/nestbox-" + std::to_string(user.uid) + "; " +
      as_user + "--no-cgroup --no-fs --name " + name_ + " -- sleep 60 & p=$!; "
      "for i in $(seq 100); do " + as_user + "list | grep -q '^" + name_ + " ' && break; sleep 0.1; done; " +
      as_user + "list; " + as_user + "exec " + name_ + " -- echo joined; kill $p; wait $p || true; "
      "ls /tmp/nestbox-" + std::to_string(user.uid) + " | wc -l";
  auto r = testkit::run({"unshare", "-m", "--propagation", "private", "sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(name_ + " "), std::string::npos) << "not listed:\n" << r.out << r.err;
  EXPECT_NE(r.out.find("joined"), std::string::npos) << r.out << r.err;
  // Nothing was written into the squatter's directory; the record lived in $HOME.
  EXPECT_EQ(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1), "0\n") << r.out;
  struct stat st {};
  EXPECT_EQ(::stat((user.home + "/.cache/nestbox-run").c_str(), &st), 0) << "no state below $HOME";
  EXPECT_EQ(st.st_mode & 077, 0u);
}

}  // namespace
}  // namespace nestbox::launcher_test
