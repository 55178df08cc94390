// SPDX-License-Identifier: Apache-2.0
// What language runtimes and everyday tools see inside nestbox-run: cgroup
// mounts in mountinfo that match /proc/self/cgroup (the JDK's container
// detection), a heap that ends in OutOfMemoryError instead of the OOM killer,
// process ages from the container's time namespace, and a writable $HOME and
// working directory. Real manager, fs and kernel, as the test user.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>

#include "managed_stack.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::launcher_test {
namespace {

using LauncherRuntimes = ManagedStackTest;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Every cgroup mount inside shows the container's own cgroup as its root, which
// is what /proc/self/cgroup says inside its cgroup namespace ("/"): a runtime
// pairing the two finds its limits. No host cgroup mount stays underneath.
TEST_F(LauncherRuntimes, MountinfoShowsOnlyTheContainersCgroupMounts) {
  auto r = run({"--memory", "128M", "--", "sh", "-c", "cat /proc/self/mountinfo; echo ---; cat /proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto sep = r.out.find("---\n");
  ASSERT_NE(sep, std::string::npos) << r.out;
  int cgroup_mounts = 0;
  for (const auto& line : lines_of(r.out.substr(0, sep))) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto after = fields(line.substr(dash + 3));
    if (after.empty() || (after[0] != "cgroup" && after[0] != "cgroup2")) continue;
    ++cgroup_mounts;
    auto f = fields(line);
    ASSERT_GE(f.size(), 5u) << line;
    EXPECT_EQ(f[3], "/") << "a cgroup mount whose root is not the container's cgroup: " << line;
  }
  EXPECT_GT(cgroup_mounts, 0) << r.out;
  for (const auto& line : lines_of(r.out.substr(sep + 4))) {
    if (line.empty()) continue;
    EXPECT_EQ(line.substr(line.rfind(':') + 1), "/") << "cgroup namespace root expected: " << line;
  }
}

// A growing heap ends in the JVM's own OutOfMemoryError (the heap was sized
// from the container's memory), not in the kernel's OOM killer (137).
TEST_F(LauncherRuntimes, JavaHeapGrowthEndsInOutOfMemoryError) {
  if (::access("/usr/bin/java", X_OK) != 0) GTEST_SKIP() << "no JRE (default-jre-headless)";
  if (testkit::run({"sh", "-c", "java --list-modules 2>/dev/null | grep -q '^jdk.compiler'"}).exit_code != 0)
    GTEST_SKIP() << "the JDK's compiler module is missing (openjdk-17-jdk-headless), needed to run a source file";
  const std::string program =
      "public class Grow { public static void main(String[] a) {"
      " System.out.println(\"max \" + Runtime.getRuntime().maxMemory());"
      " java.util.List<byte[]> l = new java.util.ArrayList<>();"
      " try { for (;;) l.add(new byte[1 << 20]); }"
      " catch (OutOfMemoryError e) { System.out.println(\"OutOfMemoryError after \" + l.size()); System.exit(3); } } }";
  auto r = run({"--memory", "300M", "--cpus", "1", "--", "sh", "-c",
                "cat > /tmp/Grow.java <<'EOF'\n" + program + "\nEOF\nexec java /tmp/Grow.java"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("OutOfMemoryError after"), std::string::npos) << r.out << r.err;
  std::uint64_t max = 0;
  for (const auto& line : lines_of(r.out))
    if (line.rfind("max ", 0) == 0) max = parse_u64(line.substr(4));
  EXPECT_GT(max, 0u) << r.out;
  EXPECT_LE(max, parse_size("300M").value() / 2) << r.out;
}

// Process ages: /proc/uptime, btime and each process's start time agree with
// the container's start (time namespace), so ps shows a fresh process as 00:00
// and btime + start time is now, in the first command and in exec.
constexpr const char* kClockScript =
    "ps -o etime= -p $$; cut -d' ' -f1 /proc/uptime; awk '/^btime/ {print $2}' /proc/stat; "
    "cut -d' ' -f22 /proc/self/stat; getconf CLK_TCK; date +%s";

void expect_fresh_clocks(const std::string& out) {
  auto l = lines_of(out);
  ASSERT_GE(l.size(), 6u) << out;
  auto etime = fields(l[0]);
  ASSERT_EQ(etime.size(), 1u) << out;
  EXPECT_TRUE(etime[0] == "00:00" || etime[0] == "00:01" || etime[0] == "00:02") << "etime " << out;
  const double uptime = std::stod(l[1]);
  EXPECT_GE(uptime, 0.0) << out;
  const double btime = std::stod(l[2]), start_ticks = std::stod(l[3]), hz = std::stod(l[4]), now = std::stod(l[5]);
  // btime + the process's start (ticks since boot) is the wall time it started: a moment ago.
  const double started = btime + start_ticks / hz;
  EXPECT_LE(std::abs(now - started), 3.0) << out;
}

TEST_F(LauncherRuntimes, ProcessAgesCountFromTheContainersStart) {
  auto r = run({"--", "sh", "-c", kClockScript});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_fresh_clocks(r.out);
  auto l = lines_of(r.out);
  ASSERT_GE(l.size(), 2u);
  EXPECT_LT(std::stod(l[1]), 30.0) << "uptime of a fresh container: " << r.out;
}

TEST_F(LauncherRuntimes, ExecSeesTheSameClocks) {
  auto child = spawn({"--", "sleep", "600"});
  ASSERT_TRUE(listed());
  ::sleep(2);
  auto r = run_launcher(launcher(), {"exec", name_, "--", "sh", "-c", kClockScript});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_fresh_clocks(r.out);
  // The container is older than the exec'ed process: its uptime counts from its own start.
  auto l = lines_of(r.out);
  ASSERT_GE(l.size(), 2u);
  EXPECT_GE(std::stod(l[1]), 1.5) << r.out;
  EXPECT_LT(std::stod(l[1]), 60.0) << r.out;
  child.kill(SIGTERM);
  child.wait();
}

// Programs that write a cache under $HOME or the working directory work; what
// they write is discarded and the host's home is unchanged.
TEST_F(LauncherRuntimes, HomeAndWorkingDirectoryAreWritableAndDiscarded) {
  const std::string marker = ".nestbox-test-" + name_;
  auto r = run({"--", "sh", "-c",
                "echo cwd=$(pwd) home=$HOME; echo data > ./" + marker + " && mkdir -p $HOME/.cache/" + marker +
                    " && cat ./" + marker});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string home = testkit::test_user().home;
  EXPECT_NE(r.out.find("cwd=" + home + " home=" + home), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data\n"), std::string::npos) << r.out;
  EXPECT_NE(::access((home + "/" + marker).c_str(), F_OK), 0) << "the write reached the host's home";
  EXPECT_NE(::access((home + "/.cache/" + marker).c_str(), F_OK), 0) << "the write reached the host's home";
}

// A script in the host's /tmp is not in the container's private /tmp: the
// error says so instead of a bare "not found".
TEST_F(LauncherRuntimes, AHostTmpPathGetsAHint) {
  const std::string script = "/tmp/nestbox-hint-" + name_ + ".sh";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\necho hello\n";
  }
  ::chmod(script.c_str(), 0755);
  auto r = run({"--", script});
  ::unlink(script.c_str());
  EXPECT_EQ(r.exit_code, 127) << r.out << r.err;
  EXPECT_NE(r.err.find("/tmp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("container"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nestbox::launcher_test
