// SPDX-License-Identifier: Apache-2.0
// Pids that mean what the caller means: a caller in its own pid namespace (as a
// nested container's launcher is) names processes by pidfd; a numeric pid from
// it, which the manager would read in its own namespace, is refused, even when
// that number names another process of the same user there.
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

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
    if (tk::run({"sh", "-c", "command -v unshare busctl"}).exit_code != 0)
      GTEST_SKIP() << "unshare or busctl is missing";
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

// What a nested launcher does: a process that is pid 1 of its own pid namespace
// names itself by pidfd. Its numeric pid (1) is refused; the pidfd moves exactly
// it, and GetPidfdCgroup reads its cgroup back.
TEST_F(PidfdTest, APidfdNamesTheProcessFromAnyPidNamespace) {
  const std::string address = bus_->address();
  const std::string job = job_;
  auto outer = tk::fork_reporting([&](int report) -> int {
    if (::unshare(CLONE_NEWPID) != 0) return 20;
    pid_t pid = ::fork();
    if (pid < 0) return 21;
    if (pid > 0) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 22;
    }
    // pid 1 of the new namespace; /proc is still the host's, so /proc/self
    // names it by its host pid.
    auto say = [&](const std::string& text) { (void)!::write(report, text.data(), text.size()); };
    say("nspid " + std::to_string(::getpid()) + "\n");
    try {
      auto connection = sdbus::createSessionBusConnectionWithAddress(address);
      CgmgrProxy proxy(*connection);
      say("numeric " + error_of([&] { proxy.Attach(job, static_cast<std::uint32_t>(::getpid())); }) + "\n");
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
      if (fd < 0) return 23;
      say("pidfd " + error_of([&] { proxy.AttachPidfd(job, sdbus::UnixFd(fd)); }) + "\n");
      say("read " + proxy.GetPidfdCgroup(sdbus::UnixFd(fd)) + "\n");
    } catch (const std::exception& e) {
      say(std::string("exception ") + e.what() + "\n");
      return 24;
    }
    std::ifstream cg("/proc/self/cgroup");
    say("cgroup " + std::string((std::istreambuf_iterator<char>(cg)), std::istreambuf_iterator<char>()));
    return 0;
  });
  EXPECT_EQ(outer.child.wait(), 0) << outer.text;
  const std::string& out = outer.text;
  EXPECT_NE(out.find("nspid 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("numeric org.nestbox.Error.InvalidValue\n"), std::string::npos) << out;
  EXPECT_NE(out.find("pidfd \n"), std::string::npos) << out;  // no error
  EXPECT_NE(out.find("read " + job_ + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find(job_.substr(job_.rfind("/user-")) + "\n"), std::string::npos) << "not moved:\n" << out;
}

TEST_F(PidfdTest, AnFdThatIsNotAPidfdOrOfAnExitedProcessIsRefused) {
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  std::string err;
  try {
    proxy_->AttachPidfd(job_, sdbus::UnixFd(null_fd));
  } catch (const sdbus::Error& e) {
    err = e.getName() + ": " + e.getMessage();
  }
  ::close(null_fd);
  EXPECT_NE(err.find("org.nestbox.Error.InvalidValue"), std::string::npos) << err;
  EXPECT_NE(err.find("not a pidfd"), std::string::npos) << err;

  tk::Child gone = tk::Child::fork_fn([] { return 0; });
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, gone.pid(), 0));
  gone.wait();
  if (fd < 0) GTEST_SKIP() << "the child was reaped before pidfd_open";
  EXPECT_EQ(error_of([&] { proxy_->AttachPidfd(job_, sdbus::UnixFd(fd)); }), "org.nestbox.Error.NotFound");
  ::close(fd);
}

}  // namespace
}  // namespace nestbox::cgmgr_test
