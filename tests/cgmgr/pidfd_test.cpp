// Pids that mean what the caller means: a caller in its own pid namespace (as a
// nested container's launcher is) names processes by pidfd; a numeric pid from
// it, which the manager would read in its own namespace, is refused, even when
// that number names another process of the same user there.
#include "cgmgr_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

std::string quoted(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "'" : " '") + a + "'";
  return out;
}

// Runs `script` (sh) as the test user in a new user and pid namespace, with the
// user's own uid mapped (so the bus still knows who calls).
std::vector<std::string> in_own_pid_ns(const std::string& script) {
  return {"unshare", "--user", "--map-current-user", "--pid", "--fork", "sh", "-c", script};
}

class PidfdTest : public CgmgrTest {
 protected:
  void SetUp() override {
    CgmgrTest::SetUp();
    if (IsSkipped()) return;
    if (tk::run({"sh", "-c", "command -v unshare python3 busctl"}).exit_code != 0)
      GTEST_SKIP() << "unshare, python3 or busctl is missing";
    auto probe = as_user(in_own_pid_ns("echo $$"));
    if (probe.exit_code != 0 || probe.out != "1\n")
      GTEST_SKIP() << "the test user cannot make a user and pid namespace: " << probe.err;
    grant_ = root_ + "/user-" + std::to_string(tk::test_user().uid);
    ASSERT_EQ(as_user(busctl({"RequestUserDelegation"})).exit_code, 0);
    job_ = grant_ + "/job";
    auto r = as_user(busctl({"Create", "sa{ss}", job_, "0"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string grant_, job_;
};

TEST_F(PidfdTest, ANumberFromAnotherPidNamespaceIsRefusedAndMovesNothing) {
  // A process of the same user on the host: its host pid means nothing (or
  // another process) inside the caller's namespace.
  auto sleeper = user_sleeper(CgroupPath::parse(grant_));
  const CgroupPath before = primary_cgroup(sleeper.pid());
  auto r = as_user(in_own_pid_ns(quoted(busctl({"Attach", "su", job_, std::to_string(sleeper.pid())}))));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("pid namespace"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pidfd"), std::string::npos) << r.err;  // says what to do instead
  EXPECT_EQ(primary_cgroup(sleeper.pid()), before);
  r = as_user(in_own_pid_ns(quoted(busctl({"GetPidCgroup", "u", std::to_string(sleeper.pid())}))));
  EXPECT_NE(r.exit_code, 0) << r.out;
  // 0 still means the caller itself, whatever its namespace.
  r = as_user(in_own_pid_ns(quoted(busctl({"Attach", "su", job_, "0"}))));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  sleeper.kill(SIGKILL);
  sleeper.wait();
}

TEST_F(PidfdTest, APidfdNamesTheProcessFromAnyPidNamespace) {
  // Inside its own pid namespace, a process passes a pidfd of itself: the
  // manager moves exactly that process and reads its cgroup back.
  const std::string script =
      "import os, subprocess, sys\n"
      "fd = os.pidfd_open(os.getpid())\n"
      "base = sys.argv[1:]\n"
      "r = subprocess.run(base + ['AttachPidfd', 'sh', '" + job_ + "', str(fd)], pass_fds=[fd])\n"
      "if r.returncode: sys.exit(10)\n"
      "r = subprocess.run(base + ['GetPidfdCgroup', 'h', str(fd)], pass_fds=[fd], capture_output=True, text=True)\n"
      "print(r.stdout.strip())\n"
      "print(open('/proc/self/cgroup').read())\n";
  auto run = as_user({"unshare", "--user", "--map-current-user", "--pid", "--fork", "python3", "-c", script,
                      "busctl", "--system", "call", "org.nestbox.CgroupManager1", "/org/nestbox/CgroupManager1",
                      "org.nestbox.CgroupManager1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("s \"" + job_ + "\""), std::string::npos) << run.out;
  const std::string leaf = job_.substr(job_.rfind('/'));
  EXPECT_NE(run.out.find(leaf + "\n"), std::string::npos) << "not moved:\n" << run.out;
}

TEST_F(PidfdTest, AnFdThatIsNotAPidfdIsRefused) {
  auto r = as_user({"python3", "-c",
                    "import os, subprocess, sys\n"
                    "fd = os.open('/dev/null', os.O_RDONLY)\n"
                    "sys.exit(subprocess.run(sys.argv[1:] + ['AttachPidfd', 'sh', '" + job_ +
                        "', str(fd)], pass_fds=[fd]).returncode)\n",
                    "busctl", "--system", "call", "org.nestbox.CgroupManager1", "/org/nestbox/CgroupManager1",
                    "org.nestbox.CgroupManager1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not a pidfd"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nestbox::cgmgr_test
