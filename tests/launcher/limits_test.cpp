// SPDX-License-Identifier: Apache-2.0
// nestbox-run with the real manager and fs: a private bus, nestbox-cgmgr rooted
// in a sandbox cgroup with a policy granting the test user, nestbox-fs on a
// temporary mountpoint; the launcher runs as the unprivileged test user.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "managed_stack.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::launcher_test {
namespace {

class LauncherLimits : public ManagedStackTest {};

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

TEST_F(LauncherLimits, FreeShowsTheMemoryLimit) {
  auto r = run({"--memory", "128M", "--", "free", "-m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto mem = words(line_starting(r.out, "Mem:"));
  ASSERT_GE(mem.size(), 2u) << r.out;
  EXPECT_EQ(mem[1], std::to_string(parse_size("128M").value() >> 20)) << r.out;
}

TEST_F(LauncherLimits, TopHeaderShowsTheContainersMemory) {
  auto r = run({"--memory", "256M", "--", "top", "-bn1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto mem = line_starting(r.out, "MiB Mem");
  EXPECT_NE(mem.find(std::to_string(parse_size("256M").value() >> 20) + ".0 total"), std::string::npos) << r.out;
}

TEST_F(LauncherLimits, CpusetGivesOneCpu) {
  auto r = run({"--cpuset", "0", "--", "sh", "-c", "nproc; grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n1\n0\n");
}

// Inside a real container: the sysfs CPU directory, host CPU ids that taskset
// accepts, and a re-reading tool (vmstat keeps /proc/stat open) that sees the
// container's own load on its later lines.
TEST_F(LauncherLimits, CpusetCpuOfTheHostIsWhatEveryCpuCounterShows) {
  std::ifstream online_file("/sys/devices/system/cpu/online");
  std::string online_text((std::istreambuf_iterator<char>(online_file)), std::istreambuf_iterator<char>());
  auto online = parse_cpu_list(online_text);
  if (online.size() < 2) GTEST_SKIP() << "needs at least 2 online CPUs (host has " << online.size() << ")";
  const std::string id = std::to_string(online.back());
  auto r = run({"--cpuset", id, "--", "sh", "-c",
                "cat /sys/devices/system/cpu/online; ls /sys/devices/system/cpu | grep -E '^cpu[0-9]+$'; "
                "getconf _NPROCESSORS_CONF; taskset -c $(cat /sys/devices/system/cpu/online) echo taskset-ok; "
                "lscpu | grep -E '^(CPU\\(s\\)|On-line)'; "
                "(while :; do :; done) & vmstat 1 3 | tail -n 1 | awk '{ print \"busy\", $13 + $14 }'; kill $!"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = split_lines(r.out);
  ASSERT_GE(lines.size(), 7u) << r.out;
  EXPECT_EQ(lines[0], id) << r.out;
  EXPECT_EQ(lines[1], "cpu" + id) << r.out;
  EXPECT_EQ(lines[2], "1") << r.out;
  EXPECT_EQ(lines[3], "taskset-ok") << r.out;
  EXPECT_EQ(split_ws(lines[4]).back(), "1") << r.out;
  EXPECT_EQ(split_ws(lines[5]).back(), id) << r.out;
  auto busy = split_ws(lines[6]);
  ASSERT_EQ(busy.size(), 2u) << r.out;
  EXPECT_GE(parse_u64(busy[1]), 50u) << "vmstat's last line under a busy loop on the one visible CPU:\n" << r.out;
}

// iostat reads /sys/block/<dev>/stat: nestbox-run binds the fs's counters onto
// each device in use, so a fresh container has written nothing, while the
// host's totals since boot are not what it shows.
TEST_F(LauncherLimits, IostatShowsTheContainersCountersNotTheHosts) {
  if (::access("/usr/bin/iostat", X_OK) != 0) GTEST_SKIP() << "iostat is not installed (scripts/install-deps.sh installs sysstat)";
  // A device the host has written to since boot.
  std::string disk;
  for (const auto& name : {"vda", "sda", "nvme0n1", "xvda"}) {
    std::ifstream in(std::string("/sys/block/") + name + "/stat");
    std::vector<std::uint64_t> f;
    for (std::uint64_t v; in >> v;) f.push_back(v);
    if (f.size() > 6 && f[6] > 0) {
      disk = name;
      break;
    }
  }
  if (disk.empty()) GTEST_SKIP() << "no vda/sda/nvme0n1/xvda with writes since boot on this host";
  auto r = run({"--", "sh", "-c", "grep -c ' /sys/block/" + disk + "/stat \\| /sys/devices/.*/" + disk +
                                      "/stat ' /proc/self/mountinfo; iostat -d -k " + disk});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto lines = split_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.out;
  EXPECT_EQ(lines[0], "1") << "one mount over the device's stat\n" << r.out;
  bool found = false;
  for (auto line : lines) {
    auto f = words(std::string(line));
    if (f.size() < 8 || f[0] != disk) continue;
    found = true;
    EXPECT_EQ(f[6], "0") << "kB written by a container that wrote nothing\n" << r.out;
  }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(LauncherLimits, UptimeIsTheContainers) {
  auto r = run({"--", "cat", "/proc/uptime"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream host_file("/proc/uptime");
  double host = 0, inside = -1;
  host_file >> host;
  std::istringstream(r.out) >> inside;
  EXPECT_GE(inside, 0.0) << r.out;
  EXPECT_LT(inside, host) << "inside " << inside << " host " << host;
}

TEST_F(LauncherLimits, OwnCgroupIsTheRoot) {
  auto r = run({"--memory", "64M", "--", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":memory:") != std::string::npos || line.find(":pids:") != std::string::npos ||
        line.rfind("0::", 0) == 0) {
      EXPECT_EQ(line.substr(line.rfind(':')), ":/") << r.out;
    }
  }
}

TEST_F(LauncherLimits, MemoryHogIsOomKilled) {
  auto r = run({"--memory", "32M", "--", "sh", "-c", "head -c 512M /dev/zero | tail"});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
}

TEST_F(LauncherLimits, ForkBombStopsAtPidsLimit) {
  auto r = run({"--pids", "16", "--", "sh", "-c",
                "n=0; while [ $n -lt 64 ]; do sleep 60 & n=$((n+1)); done; echo survived"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("survived"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("fork"), std::string::npos) << r.err;
}

TEST_F(LauncherLimits, ExecJoinsTheCgroup) {
  const auto& user = testkit::test_user();
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  auto child = testkit::Child::spawn({stack().launcher, "--bus", stack().bus->address(), "--fs",
                                      stack().fs->mountpoint(), "--name", name_, "--memory", "96M", "--", "sleep",
                                      "600"},
                                     as_user);
  ASSERT_TRUE(eventually([&] {
    auto names = listed_names(stack().launcher);
    return std::count(names.begin(), names.end(), name_) == 1;
  }));
  auto ex = run_launcher(stack().launcher, {"exec", name_, "--", "sh", "-c", "free -m; cat /proc/self/cgroup"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  auto mem = words(line_starting(ex.out, "Mem:"));
  ASSERT_GE(mem.size(), 2u) << ex.out;
  EXPECT_EQ(mem[1], "96");
  // The joined cgroup namespace shows the container's cgroup as the root.
  const bool unified = HostLayout::discover().layout == Layout::Unified;
  EXPECT_NE(ex.out.find(unified ? "0::/\n" : ":memory:/\n"), std::string::npos) << ex.out;
  // A second container with the same name is refused and leaves the first alone.
  auto dup = run({"--", "true"});
  EXPECT_EQ(dup.exit_code, 125);
  EXPECT_TRUE(child.running());
  child.kill(SIGTERM);
  EXPECT_EQ(child.wait(), 128 + SIGTERM);
}

TEST_F(LauncherLimits, RefusedLimitLeavesNothingBehind) {
  // The kernel refuses a CPU the host does not have; the manager undoes the
  // cgroup and the launcher's pid 1, already cloned, is killed (TearDown checks).
  auto r = run({"--cpuset", "63", "--", "true"});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("cpuset"), std::string::npos) << r.err;
}

TEST_F(LauncherLimits, ForeignCgroupWithTheSameNameIsLeftAlone) {
  // A cgroup of that name that no running container owns (made here by root).
  auto& tree = stack().sandbox->tree();
  const CgroupPath grant = stack().sandbox->root().child("user-" + std::to_string(testkit::test_user().uid));
  if (!tree.exists(grant)) tree.create(grant);
  const CgroupPath theirs = grant.child(name_);
  tree.create(theirs);
  auto r = run({"--memory", "64M", "--", "true"});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("pick another --name"), std::string::npos) << r.err;
  EXPECT_TRUE(tree.exists(theirs));
  tree.remove(theirs);
}

TEST_F(LauncherLimits, KilledLauncherAtAnyInstantOfStartLeavesNothing) {
  // SIGKILL lands at spread-out instants of start-up: before the manager call,
  // while it runs, between the attach and the mark, after the command started.
  // Whatever the instant, the container's processes die with the launcher
  // (PDEATHSIG), the cgroup goes (never created, undone, or RemoveOnEmpty) and
  // the name can be used again.
  const auto& user = testkit::test_user();
  testkit::RunOptions as_user;
  as_user.uid = user.uid;
  as_user.gid = user.gid;
  const CgroupPath grant = stack().sandbox->root().child("user-" + std::to_string(user.uid));
  std::vector<std::string> names;
  constexpr int kRuns = 40;
  for (int i = 0; i < kRuns; ++i) {
    const std::string name = name_ + "-k" + std::to_string(i);
    names.push_back(name);
    auto child = testkit::Child::spawn({stack().launcher, "--bus", stack().bus->address(), "--fs",
                                        stack().fs->mountpoint(), "--name", name, "--memory", "64M", "--", "sleep",
                                        "600"},
                                       as_user);
    // 0 to 39 ms in steps that do not repeat the same phase: start-up takes ~10-30 ms.
    ::usleep(static_cast<useconds_t>((i * 7919) % 40) * 1000);
    child.kill(SIGKILL);
    child.wait();
  }
  for (const std::string& name : names) {
    EXPECT_TRUE(eventually([&] { return processes_mentioning(name).empty(); })) << "leftover processes of " << name;
    EXPECT_TRUE(eventually([&] { return !stack().sandbox->tree().exists(grant.child(name)); }))
        << "leftover cgroup " << grant.child(name).str();
    EXPECT_TRUE(mounts_mentioning(name).empty()) << name;
  }
  // The names are free again, and nothing counts against the quota.
  const std::string again = names.front();
  auto r = run_launcher(stack().launcher, {"--bus", stack().bus->address(), "--fs", stack().fs->mountpoint(),
                                            "--name", again, "--memory", "64M", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(LauncherLimits, UnreachableManagerIsAClearError) {
  auto r = run_launcher(stack().launcher, {"--bus", "unix:path=/nonexistent/nestbox-bus", "--name", name_,
                                            "--memory", "64M", "--", "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("nestbox-cgmgr"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nestbox::launcher_test
