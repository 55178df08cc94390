// SPDX-License-Identifier: Apache-2.0
// Self-tests of the fixtures that need no privileges: run(), Child, TempDir,
// locations and mount detection.
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "testkit.hpp"

namespace tk = nestbox::testkit;
namespace fs = std::filesystem;

namespace {

// Gone, or a zombie waiting for its (new) parent to reap it.
bool dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(TestkitRun, CapturesStdoutStderrAndExitCode) {
  auto r = tk::run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(TestkitRun, LargeInterleavedOutputDoesNotDeadlock) {
  // Far more than a pipe buffer on both streams at once.
  constexpr int kLines = 100000;
  auto r = tk::run({"sh", "-c", "i=0; while [ $i -lt " + std::to_string(kLines) +
                                    " ]; do echo o$i; echo e$i >&2; i=$((i+1)); done"});
  ASSERT_EQ(r.exit_code, 0);
  std::size_t out_lines = std::count(r.out.begin(), r.out.end(), '\n');
  std::size_t err_lines = std::count(r.err.begin(), r.err.end(), '\n');
  EXPECT_EQ(out_lines, static_cast<std::size_t>(kLines));
  EXPECT_EQ(err_lines, static_cast<std::size_t>(kLines));
  EXPECT_EQ(r.out.substr(r.out.size() - 7), "o" + std::to_string(kLines - 1) + "\n");
}

TEST(TestkitRun, FeedsStdin) {
  std::string input(300000, 'x');
  tk::RunOptions options;
  options.stdin_data = input;
  auto r = tk::run({"wc", "-c"}, options);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::stoul(r.out), input.size());
}

TEST(TestkitRun, MinimalEnvironmentPlusExtras) {
  ::setenv("NESTBOX_TESTKIT_SHOULD_NOT_LEAK", "1", 1);
  tk::RunOptions options;
  options.env["NESTBOX_EXTRA"] = "value with space";
  auto r = tk::run({"env"}, options);
  ::unsetenv("NESTBOX_TESTKIT_SHOULD_NOT_LEAK");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("NESTBOX_EXTRA=value with space\n"), std::string::npos);
  EXPECT_NE(r.out.find("PATH="), std::string::npos);
  EXPECT_NE(r.out.find("LANG=C\n"), std::string::npos);
  EXPECT_EQ(r.out.find("NESTBOX_TESTKIT_SHOULD_NOT_LEAK"), std::string::npos);
}

TEST(TestkitRun, WorkingDirectory) {
  tk::TempDir dir;
  tk::RunOptions options;
  options.cwd = dir.path();
  auto r = tk::run({"pwd"}, options);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, dir.path() + "\n");
}

TEST(TestkitRun, SignalDeathIs128PlusSignal) {
  auto r = tk::run({"sh", "-c", "kill -USR1 $$"});
  EXPECT_EQ(r.exit_code, 128 + SIGUSR1);
}

TEST(TestkitRun, TimeoutKillsTheWholeGroup) {
  tk::TempDir dir;
  const std::string pidfile = dir.path() + "/grandchild.pid";
  tk::RunOptions options;
  options.timeout = std::chrono::seconds(1);
  // The grandchild keeps stdout open; the timeout must still end run().
  auto r = tk::run({"sh", "-c", "sleep 1000 & echo $! > " + pidfile + "; wait"}, options);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  ASSERT_TRUE(in >> grandchild);
  // SIGKILL is asynchronous: give the kernel a bounded moment to finish it off.
  for (int i = 0; i < 500 && !dead(grandchild); ++i) ::usleep(10000);
  EXPECT_TRUE(dead(grandchild)) << "grandchild " << grandchild << " survived the timeout";
}

TEST(TestkitRun, MissingProgramThrowsWithItsName) {
  try {
    tk::run({"nestbox-no-such-program-xyz"});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nestbox-no-such-program-xyz"), std::string::npos);
  }
}

TEST(TestkitRun, DoesNotLeakDescriptors) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 0);
  auto r = tk::run({"ls", "/proc/self/fd"});
  ::close(fd);
  ASSERT_EQ(r.exit_code, 0);
  // ls itself opens one directory fd; nothing of ours may be there.
  std::istringstream lines(r.out);
  std::string entry;
  int count = 0;
  while (lines >> entry) ++count;
  EXPECT_LE(count, 4) << r.out;
}

TEST(TestkitChild, DaemonsStopWhenTheTestProcessDies) {
  // The child starts a daemon and dies without stopping it, as a test process
  // killed by a sanitizer would.
  auto test_process = tk::fork_reporting([](int report) -> int {
    tk::RunOptions options;
    options.stop_with_test = true;
    tk::Child daemon = tk::Child::spawn({"sleep", "1000"}, options);
    std::string pid = std::to_string(daemon.pid());
    if (::write(report, pid.data(), pid.size()) < 0) ::_exit(3);
    ::_exit(0);
  });
  EXPECT_EQ(test_process.child.wait(), 0);
  ASSERT_FALSE(test_process.text.empty());
  const pid_t daemon = static_cast<pid_t>(std::stol(test_process.text));
  // It received SIGTERM from the kernel; a pidfd turns readable once it exited.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, daemon, 0));
  if (pidfd < 0) {
    EXPECT_EQ(errno, ESRCH);  // already gone and reaped
    return;
  }
  struct pollfd p = {pidfd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 5000), 1) << "sleep " << daemon << " outlived the process that started it";
  ::close(pidfd);
}

TEST(TestkitChild, KilledWhenDestroyed) {
  pid_t pid;
  {
    tk::Child child = tk::Child::spawn({"sleep", "1000"});
    pid = child.pid();
    ASSERT_TRUE(child.running());
  }
  // Reaped by the destructor: the pid is no longer a child of ours.
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(TestkitChild, WaitReturnsExitCodeAndSignals) {
  tk::Child ok = tk::Child::fork_fn([] { return 7; });
  EXPECT_EQ(ok.wait(), 7);
  EXPECT_EQ(ok.wait(), 7);  // cached after reaping
  EXPECT_FALSE(ok.running());

  tk::Child sleeper = tk::Child::spawn({"sleep", "1000"});
  sleeper.kill(SIGTERM);
  EXPECT_EQ(sleeper.wait(), 128 + SIGTERM);
}

TEST(TestkitChild, WaitTimeoutKills) {
  tk::Child sleeper = tk::Child::spawn({"sleep", "1000"});
  EXPECT_EQ(sleeper.wait(std::chrono::milliseconds(50)), 128 + SIGKILL);
}

TEST(TestkitChild, MoveTransfersOwnership) {
  tk::Child a = tk::Child::spawn({"sleep", "1000"});
  pid_t pid = a.pid();
  tk::Child b = std::move(a);
  EXPECT_EQ(b.pid(), pid);
  EXPECT_TRUE(b.running());
  EXPECT_FALSE(a.running());  // NOLINT(bugprone-use-after-move): moved-from is inert
}

TEST(TestkitTempDir, CreatedWithModeAndRemovedRecursively) {
  std::string path;
  {
    tk::TempDir dir("nestbox-selftest", 0750);
    path = dir.path();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    std::string file = dir.write("a/b/c.txt", "content");
    EXPECT_EQ(file, path + "/a/b/c.txt");
    std::ifstream in(file);
    std::string text;
    in >> text;
    EXPECT_EQ(text, "content");
    ASSERT_EQ(::chmod((path + "/a").c_str(), 0500), 0);  // removal must cope
    ASSERT_EQ(::symlink("/etc/hostname", (path + "/link").c_str()), 0);
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::exists("/etc/hostname"));  // the symlink target is untouched
}

TEST(TestkitTempDir, WriteRejectsEscapes) {
  tk::TempDir dir;
  EXPECT_THROW(dir.write("../escape", "x"), std::invalid_argument);
  EXPECT_THROW(dir.write("/etc/escape", "x"), std::invalid_argument);
  EXPECT_THROW(dir.write("", "x"), std::invalid_argument);
}

TEST(TestkitLocations, SourceAndBuildDirsExist) {
  EXPECT_TRUE(fs::exists(tk::source_dir() + "/tests/harness/testkit.hpp"));
  EXPECT_TRUE(fs::exists(tk::build_dir() + "/CMakeCache.txt"));
}

TEST(TestkitLocations, BuiltProgramFindsHelpersAndRejectsUnknown) {
  std::string hello = tk::built_program("nestbox_fuse_hello");
  EXPECT_EQ(hello, NESTBOX_FUSE_HELLO);
  EXPECT_THROW(tk::built_program("nestbox-no-such-program"), std::runtime_error);
}

TEST(TestkitLocations, PublicCopyIsWorldExecutableAlongItsPath) {
  std::string copy = tk::public_copy(NESTBOX_FUSE_HELLO);
  EXPECT_EQ(tk::public_copy(NESTBOX_FUSE_HELLO), copy);  // once per process
  for (fs::path p = copy; p != p.root_path(); p = p.parent_path()) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0005, 0005u) << p << " is not world-readable/executable";
  }
  EXPECT_EQ(fs::file_size(copy), fs::file_size(NESTBOX_FUSE_HELLO));
}

TEST(TestkitMounts, IsMountedKnowsProcAndNotTmpSubdirs) {
  EXPECT_TRUE(tk::is_mounted("/proc"));
  tk::TempDir dir;
  EXPECT_FALSE(tk::is_mounted(dir.path()));
}

}  // namespace
