// SPDX-License-Identifier: Apache-2.0
// The container's pid 1 is no way around the seccomp filter: the command cannot
// ptrace it (nor write its memory) to make system calls through it, pid 1 runs
// under the same filter with no_new_privs, and the calls the filter refuses are
// refused to the command directly. Run with --no-cgroup (no manager needed).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "c_probe.hpp"
#include "launcher_env.hpp"

namespace nestbox::launcher_test {
namespace {

// Tries every way the command could use pid 1 to run a call of its choice:
// PTRACE_ATTACH, PTRACE_SEIZE, writing /proc/1/mem. Should an attach succeed
// (a regression), it goes on to inject add_key(2) into pid 1 through the
// syscall instruction pid 1 is blocked at (x86-64) and reports the result.
// Then add_key and keyctl directly. One line per attempt: "NAME rc errno".
constexpr const char* kPtraceProbe = R"(
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char* what, long rc) { printf("%s %ld %d\n", what, rc, rc < 0 ? errno : 0); }

static long inject_add_key(pid_t pid) {
#ifdef __x86_64__
  int status;
  if (waitpid(pid, &status, __WALL) < 0) return -1000;
  struct user_regs_struct saved, regs;
  if (ptrace(PTRACE_GETREGS, pid, 0, &saved) != 0) return -1001;
  regs = saved;
  // pid 1 sleeps in a system call: the two bytes before rip are `syscall`.
  errno = 0;
  long word = ptrace(PTRACE_PEEKTEXT, pid, (void*)(saved.rip - 2), 0);
  if (errno != 0 || (word & 0xffff) != 0x050f) return -1002;
  // "user\0" and "nb\0" below the red zone of pid 1's stack.
  unsigned long at = (saved.rsp - 512) & ~7UL;
  ptrace(PTRACE_POKEDATA, pid, (void*)at, (void*)0x0000000072657375UL);        /* "user" */
  ptrace(PTRACE_POKEDATA, pid, (void*)(at + 8), (void*)0x000000000000626eUL); /* "nb" */
  regs.rax = SYS_add_key;
  regs.orig_rax = -1;
  regs.rdi = at;
  regs.rsi = at + 8;
  regs.rdx = at;
  regs.r10 = 4;
  regs.r8 = (unsigned long)KEY_SPEC_PROCESS_KEYRING;
  regs.rip = saved.rip - 2;
  if (ptrace(PTRACE_SETREGS, pid, 0, &regs) != 0) return -1003;
  if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0) return -1004;
  if (waitpid(pid, &status, __WALL) < 0) return -1005;
  ptrace(PTRACE_GETREGS, pid, 0, &regs);
  ptrace(PTRACE_SETREGS, pid, 0, &saved);
  return (long)regs.rax;
#else
  (void)pid;
  return -2000;
#endif
}

int main(void) {
  long rc = ptrace(PTRACE_ATTACH, 1, 0, 0);
  report("attach", rc);
  if (rc == 0) {
    printf("inject-add_key %ld 0\n", inject_add_key(1));
    ptrace(PTRACE_DETACH, 1, 0, 0);
  }
  rc = ptrace(PTRACE_SEIZE, 1, 0, 0);
  report("seize", rc);
  if (rc == 0) ptrace(PTRACE_DETACH, 1, 0, 0);
  report("open-mem", open("/proc/1/mem", O_RDWR));
  report("add_key", syscall(SYS_add_key, "user", "nb", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  return 0;
}
)";

class LauncherSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    launcher_ = launcher_or_skip(&why);
    if (launcher_.empty()) GTEST_SKIP() << why;
    name_ = unique_name();
  }
  void TearDown() override {
    if (launcher_.empty()) return;
    EXPECT_TRUE(eventually([&] { return processes_mentioning(name_).empty(); }))
        << "leftover processes for " << name_;
  }
  testkit::CommandResult run(std::vector<std::string> args) {
    std::vector<std::string> full{"--no-cgroup", "--no-fs", "--name", name_};
    full.insert(full.end(), args.begin(), args.end());
    return run_launcher(launcher_, full);
  }
  std::string launcher_;
  std::string name_;
};

// "NAME rc errno" lines -> NAME -> {rc, errno}.
std::map<std::string, std::pair<long, int>> attempts(const std::string& out) {
  std::map<std::string, std::pair<long, int>> m;
  std::istringstream in(out);
  std::string name;
  long rc = 0;
  int err = 0;
  while (in >> name >> rc >> err) m[name] = {rc, err};
  return m;
}

TEST_F(LauncherSecurity, CommandCannotPtracePid1OrCallRefusedSyscalls) {
  testkit::TempDir dir("nestbox-probe", 0755);
  std::string why;
  const std::string probe = compile_probe(dir, "ptrace_pid1", kPtraceProbe, &why);
  if (probe.empty()) GTEST_SKIP() << why;
  auto r = run({"--bind", dir.path() + ":/tmp/probe:ro", "--", "/tmp/probe/ptrace_pid1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto m = attempts(r.out);
  ASSERT_TRUE(m.count("attach") && m.count("add_key") && m.count("keyctl"))
      << r.out;
  // pid 1 is not dumpable and its program belongs to the container's user
  // namespace, where the command holds no capability: the kernel refuses every
  // way in. Should an attach succeed anyway, the call injected through it must
  // still meet the filter.
  EXPECT_EQ(m["attach"], std::make_pair(-1L, EPERM)) << r.out;
  EXPECT_EQ(m["seize"], std::make_pair(-1L, EPERM)) << r.out;
  ASSERT_TRUE(m.count("open-mem")) << r.out;
  EXPECT_EQ(m["open-mem"].first, -1L) << "the command opened pid 1's memory for writing:\n" << r.out;
  if (m["attach"].first == 0) {
    ASSERT_TRUE(m.count("inject-add_key")) << r.out;
#ifdef __x86_64__
    EXPECT_EQ(m["inject-add_key"].first, -EPERM) << "add_key injected into pid 1 was not refused:\n" << r.out;
#endif
  }
  EXPECT_EQ(m["add_key"], std::make_pair(-1L, EPERM)) << r.out;
  EXPECT_EQ(m["keyctl"], std::make_pair(-1L, EPERM)) << r.out;
}

TEST_F(LauncherSecurity, Pid1RunsUnderTheFilterWithNoNewPrivs) {
  auto r = run({"--", "grep", "-E", "^(Seccomp|NoNewPrivs|CapEff):", "/proc/1/status"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
}

// pid 1 is nestbox-init (not dumpable), and `ps` inside still shows it: its
// /proc files belong to the container's root, not to the host's.
// (`exec` joining through pid 1's namespaces: LauncherNamespaces.)
TEST_F(LauncherSecurity, Pid1IsNestboxInitAndPsShowsIt) {
  auto r = run({"--", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; ps -o pid=,comm= -p 1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("nestbox-init " + name_), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 nestbox-init"), std::string::npos) << r.out;
}

TEST_F(LauncherSecurity, ExecStillJoinsTheHardenedContainer) {
  const auto& user = testkit::test_user();
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  auto child = testkit::Child::spawn({launcher_, "--no-cgroup", "--no-fs", "--name", name_, "--", "sleep", "600"},
                                     as_user);
  ASSERT_TRUE(eventually([&] {
    auto names = listed_names(launcher_);
    return std::count(names.begin(), names.end(), name_) == 1;
  }));
  // The exec'ed command is under the filter too, and cannot ptrace pid 1
  // either: even reading its namespace links (ptrace read access) is refused.
  auto ex = run_launcher(launcher_, {"exec", name_, "--", "sh", "-c",
                                     "grep -E '^Seccomp:' /proc/self/status; echo $$; "
                                     "readlink /proc/1/ns/pid >/dev/null 2>&1 && echo ns-visible || echo ns-hidden"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_NE(ex.out.find("Seccomp:\t2"), std::string::npos) << ex.out;
  EXPECT_NE(ex.out.find("ns-hidden"), std::string::npos) << ex.out;
  child.kill(SIGTERM);
  EXPECT_EQ(child.wait(), 128 + SIGTERM);
}

// Without nestbox-init pid 1 could not be made safe: the start is refused with
// a message naming where it was looked for, and nothing is left running.
TEST_F(LauncherSecurity, WithoutItsInitProgramNothingStarts) {
  if (::access(NESTBOX_INIT_DIR "/nestbox-init", X_OK) == 0)
    GTEST_SKIP() << "an installed " NESTBOX_INIT_DIR "/nestbox-init would be found";
  testkit::TempDir dir("nestbox-noinit", 0755);
  const std::string lonely = dir.path() + "/nestbox-run";
  ASSERT_TRUE(std::filesystem::copy_file(launcher_, lonely));
  ::chmod(lonely.c_str(), 0755);
  auto r = run_launcher(lonely, {"--no-cgroup", "--no-fs", "--name", name_, "--", "echo", "started"});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out.find("started"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cannot find the container's init program at " + dir.path() + "/nestbox-init"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace nestbox::launcher_test
