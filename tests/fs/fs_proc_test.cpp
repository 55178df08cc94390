// SPDX-License-Identifier: Apache-2.0
// What a process inside a limited cgroup reads through a real nestbox-fs mount.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "fs_fixture.hpp"
#include "nestbox/parse.hpp"
#include "render.hpp"

namespace nestbox::fs::test {
namespace {

constexpr std::uint64_t kLimitMiB = 64;

double boottime() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

class FsProcTest : public FsTest {
 protected:
  // A container: memory 64M, cpuset {first online CPU}, quota 50%.
  CgroupPath make_container(std::string_view name) {
    CgroupPath c = sandbox().make(name);
    tree().set_limit(c, "memory.max", std::to_string(kLimitMiB) + "M");
    first_cpu_ = parse_cpu_list(slurp("/sys/devices/system/cpu/online")).front();
    tree().set_limit(c, "cpuset.cpus", std::to_string(first_cpu_));
    tree().set_limit(c, "cpu.max", "50000 100000");
    return c;
  }
  unsigned first_cpu_ = 0;
};

TEST_F(FsProcTest, MemTotalIsTheLimit) {
  auto c = make_container("c");
  auto text = run_in(c, {"cat", mnt("proc/meminfo")});
  EXPECT_EQ(kb(text, "MemTotal"), kLimitMiB * 1024);
  EXPECT_LE(kb(text, "MemFree"), kLimitMiB * 1024);
  EXPECT_LE(kb(text, "MemAvailable"), kLimitMiB * 1024);
  // Same lines, same order as the host file.
  auto host = slurp("/proc/meminfo");
  auto names = [](std::string_view t) {
    std::vector<std::string> out;
    for (auto l : split_lines(t)) out.emplace_back(l.substr(0, l.find(':')));
    return out;
  };
  EXPECT_EQ(names(text), names(host));
}

TEST_F(FsProcTest, GrandparentLimitWins) {
  CgroupPath g = sandbox().make("g");
  CgroupPath p = sandbox().make("g/p");
  CgroupPath c = sandbox().make("g/p/c");
  tree().set_limit(g, "memory.max", "64M");
  tree().set_limit(p, "memory.max", "128M");
  auto text = run_in(c, {"cat", mnt("proc/meminfo")});
  EXPECT_EQ(kb(text, "MemTotal"), 64u * 1024);
}

TEST_F(FsProcTest, CpusetAndQuotaShrinkTheCpus) {
  auto c = make_container("c");
  auto cpuinfo = run_in(c, {"cat", mnt("proc/cpuinfo")});
  std::size_t processors = 0;
  for (auto l : split_lines(cpuinfo)) processors += l.starts_with("processor") ? 1 : 0;
  EXPECT_EQ(processors, 1u);
  EXPECT_EQ(run_in(c, {"cat", mnt("sys/devices/system/cpu/online")}), "0\n");
  EXPECT_EQ(run_in(c, {"cat", mnt("sys/devices/system/cpu/present")}), "0\n");
}

TEST_F(FsProcTest, QuotaAloneShrinksTheCpus) {
  CgroupPath c = sandbox().make("q");
  tree().set_limit(c, "cpu.max", "50000 100000");
  auto online = run_in(c, {"cat", mnt("sys/devices/system/cpu/online")});
  EXPECT_EQ(online, "0\n");
}

TEST_F(FsProcTest, StatLinesAddUp) {
  auto c = make_container("c");
  // Burn a little CPU inside the cgroup first so the counters are not all zero.
  run_in(c, {"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"});
  auto text = run_in(c, {"cat", mnt("proc/stat")});
  std::vector<std::vector<std::uint64_t>> cpus;
  for (auto l : split_lines(text)) {
    if (!l.starts_with("cpu")) continue;
    auto f = split_ws(l);
    std::vector<std::uint64_t> v;
    for (std::size_t i = 1; i < f.size(); ++i) v.push_back(parse_u64(f[i]));
    cpus.push_back(v);
  }
  ASSERT_EQ(cpus.size(), 2u) << text;  // "cpu" and "cpu0"
  EXPECT_EQ(cpus[0], cpus[1]);
  EXPECT_NE(text.find("btime "), std::string::npos);
  EXPECT_NE(text.find("procs_running "), std::string::npos);
}

TEST_F(FsProcTest, UptimeInNewPidNamespaceIsSmall) {
  NESTBOX_SKIP_IF_MISSING(testkit::missing_userns());
  auto c = make_container("c");
  double before = boottime();
  auto out = run_in(c, {"unshare", "-fp", "--mount-proc", "cat", mnt("proc/uptime")});
  double after = boottime();
  auto f = split_ws(out);
  ASSERT_EQ(f.size(), 2u) << out;
  double up = std::stod(std::string(f[0]));
  // The namespace's init started after `before`, so its age cannot exceed the
  // time the command took (plus the two-decimal rounding).
  EXPECT_LE(up, after - before + 0.01);
  EXPECT_GE(up, 0.0);
}

TEST_F(FsProcTest, RealToolsSeeTheContainer) {
  auto c = make_container("c");
  std::string script;
  for (const char* f : {"proc/meminfo", "proc/cpuinfo", "proc/stat", "proc/uptime", "proc/loadavg"})
    script += "mount --bind " + mnt(f) + " /" + f + " && ";
  script += "mount --bind " + mnt("sys/devices/system/cpu/online") + " /sys/devices/system/cpu/online && ";
  script += "free -k && echo NPROC $(nproc) && echo GETCONF $(getconf _NPROCESSORS_ONLN) && "
            "top -bn1 | head -5 && uptime";
  auto out = run_in(c, {"unshare", "-m", "sh", "-c", script});
  std::uint64_t free_total = 0;
  for (auto l : split_lines(out)) {
    auto f = split_ws(l);
    if (f.size() >= 2 && f[0] == "Mem:") free_total = parse_u64(f[1]);
    if (f.size() == 2 && f[0] == "NPROC") {
      EXPECT_EQ(f[1], "1");
    }
    if (f.size() == 2 && f[0] == "GETCONF") {
      EXPECT_EQ(f[1], "1");
    }
    if (l.find("Mem :") != std::string_view::npos) {
      EXPECT_NE(l.find(" 64.0 total"), std::string_view::npos) << l;
    }
  }
  EXPECT_EQ(free_total, kLimitMiB * 1024) << out;
  EXPECT_NE(out.find("load average"), std::string::npos) << out;
}

TEST_F(FsProcTest, ChunkedAndOffsetReadsAreConsistent) {
  auto c = make_container("c");
  const std::string path = mnt("proc/meminfo");
  CgroupTree& t = tree();
  auto child = testkit::Child::fork_fn([&]() -> int {
    try {
      t.attach(c, getpid());
    } catch (const std::exception&) {
      return 10;
    }
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return 11;
    std::string whole;
    char ch;
    while (::read(fd, &ch, 1) == 1) whole.push_back(ch);  // 1-byte reads
    if (whole.find("MemTotal:") != 0) return 12;
    // A pread at offset 0 renders afresh; reads at later offsets, in any order
    // and size, continue that rendering: read it whole in 7-byte chunks from
    // offset 1, then check scattered preads against it.
    char first;
    if (::pread(fd, &first, 1, 0) != 1 || first != 'M') return 13;
    std::string again(1, first);
    for (;;) {
      char buf[7];
      ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(again.size()));
      if (n <= 0) break;
      again.append(buf, static_cast<std::size_t>(n));
    }
    if (again.find("MemTotal:") != 0) return 14;
    for (std::size_t off = 97; off < again.size(); off += 97) {
      char buf[64];
      ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(off));
      if (n <= 0 || again.compare(off, static_cast<std::size_t>(n), buf, static_cast<std::size_t>(n)) != 0) return 15;
    }
    char tail;
    if (::pread(fd, &tail, 1, static_cast<off_t>(again.size())) != 0) return 16;  // EOF
    ::close(fd);
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
}

TEST_F(FsProcTest, RootCgroupReaderGetsTheHostFile) {
  testkit::RunOptions opts;
  opts.cgroup = CgroupPath();  // the root of every hierarchy
  auto r = testkit::run({"cat", mnt("proc/meminfo"), mnt("sys/devices/system/cpu/online")}, opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(kb(r.out, "MemTotal"), kb(slurp("/proc/meminfo"), "MemTotal"));
  EXPECT_TRUE(r.out.ends_with(slurp("/sys/devices/system/cpu/online"))) << r.out;
}

TEST_F(FsProcTest, EveryFileReadable) {
  auto c = make_container("c");
  for (const char* f : {"proc/meminfo", "proc/cpuinfo", "proc/stat", "proc/uptime", "proc/loadavg", "proc/swaps",
                        "proc/diskstats", "proc/pressure/cpu", "proc/pressure/memory", "proc/pressure/io",
                        "sys/devices/system/cpu/online", "sys/devices/system/cpu/possible",
                        "sys/devices/system/cpu/present", ".nestbox/static"}) {
    testkit::RunOptions opts;
    opts.cgroup = c;
    auto r = testkit::run({"cat", mnt(f)}, opts);
    EXPECT_EQ(r.exit_code, 0) << f << ": " << r.err;
  }
  const std::string loadavg = run_in(c, {"cat", mnt("proc/loadavg")});
  auto load = split_ws(loadavg);
  EXPECT_EQ(load.size(), 5u);
}

// A service manager stops the daemon with SIGTERM while it is mounted: it must
// unmount and exit 0 (a non-zero status leaves the systemd unit "failed").
TEST_F(FsProcTest, SigtermUnmountsAndExitsZero) {
  ASSERT_TRUE(testkit::is_mounted(mount_->mountpoint()));
  std::string signal_state;  // for the failure message
  const std::string status = slurp("/proc/" + std::to_string(mount_->daemon_pid()) + "/status");
  for (const auto& line : split_lines(status))
    if (line.rfind("Sig", 0) == 0) signal_state += std::string(line) + " ";
  EXPECT_EQ(mount_->terminate_daemon(), 0) << signal_state;
  EXPECT_FALSE(testkit::is_mounted(mount_->mountpoint()));
}

}  // namespace
}  // namespace nestbox::fs::test
