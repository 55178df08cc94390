// SPDX-License-Identifier: Apache-2.0
// Real programs the way they really use the files: tools that keep a file open
// and re-read it (top, vmstat, free -s), tools that count CPUs from sysfs
// (lscpu, nproc --all, getconf, taskset), readers in a pid namespace, all
// against a real nestbox-fs mount bound over /proc and /sys in a private mount
// namespace, with a load running in the container's cgroup.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "fs_fixture.hpp"
#include "nestbox/parse.hpp"
#include "render.hpp"

namespace nestbox::fs::test {
namespace {

using namespace std::chrono_literals;

std::vector<unsigned> host_online() { return parse_cpu_list(slurp("/sys/devices/system/cpu/online")); }

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Numbers of a whitespace-separated line.
std::vector<std::uint64_t> numbers(std::string_view line) {
  std::vector<std::uint64_t> out;
  for (auto f : split_ws(line)) {
    try {
      out.push_back(parse_u64(f));
    } catch (const std::exception&) {
    }
  }
  return out;
}

// Moves the calling (forked) process into `cg`; false if the kernel refused.
bool join(CgroupTree& t, const CgroupPath& cg) {
  try {
    t.attach(cg, getpid());
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

class FsToolsTest : public FsTest {
 protected:
  // Binds every file nestbox-run binds, plus the sysfs CPU directory, then runs
  // `command` (sh) in the private mount namespace, inside cgroup `cg`.
  std::string inside(const CgroupPath& cg, const std::string& command) {
    std::string script;
    for (const char* f : {"proc/meminfo", "proc/cpuinfo", "proc/stat", "proc/uptime", "proc/loadavg", "proc/swaps",
                          "proc/diskstats", "proc/vmstat"})
      script += "mount --bind " + mnt(f) + " /" + f + " && ";
    script += "mount --bind " + mnt("sys/devices/system/cpu") + " /sys/devices/system/cpu && ";
    return run_in(cg, {"unshare", "-m", "sh", "-c", script + command});
  }
  // A process spinning in `cg` until the test ends.
  testkit::Child busy(const CgroupPath& cg) {
    CgroupTree& t = tree();
    return testkit::Child::fork_fn([&t, cg]() -> int {
      if (!join(t, cg)) return 10;
      volatile std::uint64_t x = 0;
      for (;;) x = x + 1;
    });
  }
  // A container limited to 64M and to one CPU's half.
  CgroupPath container(std::string_view name) {
    CgroupPath c = sandbox().make(name);
    tree().set_limit(c, "memory.max", "64M");
    tree().set_limit(c, "cpuset.cpus", std::to_string(host_online().front()));
    tree().set_limit(c, "cpu.max", "50000 100000");
    return c;
  }
};

// top keeps /proc/stat and /proc/meminfo open and re-reads them after lseek(0):
// later iterations must show the container's load, not a frozen first sample.
TEST_F(FsToolsTest, TopShowsTheLoadOnEveryIteration) {
  auto c = container("top");
  auto load = busy(c);
  std::this_thread::sleep_for(300ms);
  auto out = inside(c, "top -b -d1 -n3 | grep -E '^%Cpu|^MiB Mem'");
  std::vector<double> busy_pct;
  for (auto line : split_lines(out)) {
    if (!line.starts_with("%Cpu")) {
      EXPECT_NE(line.find(" 64.0 total"), std::string_view::npos) << line;
      continue;
    }
    // "%Cpu(s): 49.5 us,  0.5 sy,  0.0 ni, 50.0 id, ..."
    double us = 0, sy = 0;
    ASSERT_EQ(std::sscanf(std::string(line).c_str(), "%%Cpu(s): %lf us, %lf sy", &us, &sy), 2) << line;
    busy_pct.push_back(us + sy);
  }
  ASSERT_EQ(busy_pct.size(), 3u) << out;
  // The 50% quota on one visible CPU: ~50% busy in the iterations after the first.
  for (std::size_t i = 1; i < busy_pct.size(); ++i) {
    EXPECT_GE(busy_pct[i], 25.0) << out;
    EXPECT_LE(busy_pct[i], 100.0) << out;
  }
}

// vmstat's first line divides counters since boot by the container's time base;
// its later lines re-read the open files.
TEST_F(FsToolsTest, VmstatRatesAreSaneAndFollowTheLoad) {
  auto c = container("vmstat");
  auto load = busy(c);
  std::this_thread::sleep_for(300ms);
  auto host = testkit::run({"vmstat", "1", "1"});
  ASSERT_EQ(host.exit_code, 0) << host.err;
  auto out = inside(c, "vmstat 1 3");
  auto data_lines = [](const std::string& text) {
    std::vector<std::vector<std::uint64_t>> rows;
    for (auto line : split_lines(text)) {
      auto n = numbers(line);
      if (n.size() >= 17) rows.push_back(n);
    }
    return rows;
  };
  auto h = data_lines(host.out);
  auto v = data_lines(out);
  ASSERT_EQ(h.size(), 1u) << host.out;
  ASSERT_EQ(v.size(), 3u) << out;
  // r b swpd free buff cache si so bi bo in cs us sy id wa st
  enum { kFree = 3, kBi = 8, kBo = 9, kIn = 10, kCs = 11, kUs = 12, kSy = 13 };
  EXPECT_LE(v[0][kFree], 64u * 1024) << out;
  for (int col : {kBi, kBo, kIn, kCs})
    EXPECT_LE(v[0][col], 3 * h[0][col] + 100) << "column " << col << "\nhost:\n" << host.out << "\ncontainer:\n" << out;
  EXPECT_GE(v[2][kUs] + v[2][kSy], 25u) << out;
}

// free -s re-reads /proc/meminfo; memory allocated meanwhile must show up.
TEST_F(FsToolsTest, FreeRepeatsWithNewValues) {
  auto c = container("free");
  CgroupTree& t = tree();
  auto allocator = testkit::Child::fork_fn([&t, c]() -> int {
    if (!join(t, c)) return 10;
    for (int i = 0; i < 10; ++i) {  // 4 MiB every 250 ms, up to 40 MiB
      void* p = ::mmap(nullptr, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return 11;
      std::memset(p, 1, 4 << 20);
      ::usleep(250000);
    }
    ::pause();
    return 0;
  });
  auto out = inside(c, "free -k -s 1 -c 3");
  std::vector<std::vector<std::uint64_t>> mem;
  for (auto line : split_lines(out))
    if (line.starts_with("Mem:")) mem.push_back(numbers(line));
  ASSERT_EQ(mem.size(), 3u) << out;
  for (const auto& m : mem) EXPECT_EQ(m.at(0), 64u * 1024) << out;
  EXPECT_GE(mem[2].at(1), mem[0].at(1) + 6 * 1024) << out;  // used grew by 2 s of allocation
}

// The same open file descriptor, re-read after lseek(0) and with pread(…, 0),
// sees new values; a read at a later offset continues the last rendering.
TEST_F(FsToolsTest, ReadAtOffsetZeroRendersAfresh) {
  auto c = container("reread");
  const std::string meminfo = mnt("proc/meminfo");
  const std::string stat = mnt("proc/stat");
  const std::string usage_file = mnt("cgroup/" + memory_view_name() + "/" +
                                     (layout_.layout == Layout::Unified ? "memory.current" : "memory.usage_in_bytes"));
  CgroupTree& t = tree();
  auto r = testkit::fork_reporting([&](int report) -> int {
    if (!join(t, c)) return 10;
    int mfd = ::open(meminfo.c_str(), O_RDONLY);
    int sfd = ::open(stat.c_str(), O_RDONLY);
    int ufd = ::open(usage_file.c_str(), O_RDONLY);
    if (mfd < 0 || sfd < 0 || ufd < 0) return 11;
    auto read_all = [](int fd, bool use_pread) {
      std::string s;
      char buf[512];
      if (!use_pread) ::lseek(fd, 0, SEEK_SET);
      off_t off = 0;
      for (;;) {
        ssize_t n = use_pread ? ::pread(fd, buf, sizeof buf, off) : ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        s.append(buf, static_cast<std::size_t>(n));
        off += n;
      }
      return s;
    };
    std::string m1 = read_all(mfd, false), s1 = read_all(sfd, false), u1 = read_all(ufd, false);
    void* p = ::mmap(nullptr, 24 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 12;
    std::memset(p, 1, 24 << 20);
    const double until = now_seconds() + 0.4;
    volatile std::uint64_t x = 0;
    while (now_seconds() < until) x = x + 1;
    std::string m2 = read_all(mfd, true), s2 = read_all(sfd, false), u2 = read_all(ufd, true);
    std::string report_text = m1 + "\x1e" + m2 + "\x1e" + s1 + "\x1e" + s2 + "\x1e" + u1 + "\x1e" + u2;
    if (::write(report, report_text.data(), report_text.size()) < 0) return 13;
    return 0;
  });
  ASSERT_EQ(r.child.wait(), 0);
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    auto sep = r.text.find('\x1e', pos);
    parts.push_back(r.text.substr(pos, sep == std::string::npos ? std::string::npos : sep - pos));
    if (sep == std::string::npos) break;
    pos = sep + 1;
  }
  ASSERT_EQ(parts.size(), 6u);
  EXPECT_LE(kb(parts[1], "MemFree") + 16 * 1024, kb(parts[0], "MemFree")) << parts[0] << "\n---\n" << parts[1];
  auto busy_ticks = [](const std::string& text) {
    auto n = numbers(split_lines(text).at(0));  // "cpu  user nice system idle ..."
    return n.at(0) + n.at(2);
  };
  EXPECT_GE(busy_ticks(parts[3]), busy_ticks(parts[2]) + 5) << parts[2] << "\n---\n" << parts[3];
  EXPECT_GE(parse_u64(parts[5]), parse_u64(parts[4]) + (16u << 20)) << parts[4] << " -> " << parts[5];
}

// Tools that count CPUs from sysfs, and CPU ids that the kernel's affinity calls
// accept: in a cpuset of the host's last CPU, every view names that CPU.
TEST_F(FsToolsTest, SysfsCpuDirectoryShowsOnlyTheVisibleCpusWithHostIds) {
  auto online = host_online();
  if (online.size() < 2) GTEST_SKIP() << "needs at least 2 online CPUs to hide one (host has " << online.size() << ")";
  const unsigned last = online.back();
  const std::string id = std::to_string(last);
  CgroupPath c = sandbox().make("cpus");
  tree().set_limit(c, "cpuset.cpus", id);
  auto out = inside(c,
                    "echo ONLINE $(cat /sys/devices/system/cpu/online); "
                    "echo POSSIBLE $(cat /sys/devices/system/cpu/possible); "
                    "taskset -c $(cat /sys/devices/system/cpu/online) true && echo TASKSET ok; "
                    "echo NPROC_ALL $(nproc --all); echo CONF $(getconf _NPROCESSORS_CONF); "
                    "echo ONLN $(getconf _NPROCESSORS_ONLN); "
                    "echo DIRS $(ls /sys/devices/system/cpu | grep -E '^cpu[0-9]+$'); "
                    "cat /sys/devices/system/cpu/cpu" + id + "/topology/core_id >/dev/null && echo TOPOLOGY ok; "
                    "grep -E '^processor' /proc/cpuinfo | tr -d ' \\t'; grep -E '^cpu[0-9]' /proc/stat | cut -d' ' -f1; "
                    "lscpu");
  auto has = [&](const std::string& line) { return out.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("ONLINE " + id)) << out;
  EXPECT_TRUE(has("POSSIBLE " + id)) << out;
  EXPECT_TRUE(has("TASKSET ok")) << out;
  EXPECT_TRUE(has("NPROC_ALL 1")) << out;
  EXPECT_TRUE(has("CONF 1")) << out;
  EXPECT_TRUE(has("ONLN 1")) << out;
  EXPECT_TRUE(has("DIRS cpu" + id)) << out;
  EXPECT_TRUE(has("TOPOLOGY ok")) << out;
  EXPECT_TRUE(has("processor:" + id)) << out;
  EXPECT_TRUE(has("cpu" + id)) << out;
  EXPECT_EQ(out.find("Off-line"), std::string::npos) << out;
  bool lscpu_count = false, lscpu_list = false;
  for (auto line : split_lines(out)) {
    auto f = split_ws(line);
    if (f.size() == 2 && f[0] == "CPU(s):") lscpu_count = f[1] == "1";
    if (line.starts_with("On-line CPU(s) list:")) lscpu_list = f.back() == id;
  }
  EXPECT_TRUE(lscpu_count) << out;
  EXPECT_TRUE(lscpu_list) << out;
  // The host (the test itself, in the root cgroup) still sees every CPU there.
  auto all = testkit::run({"ls", mnt("sys/devices/system/cpu")});
  for (unsigned cpu : online) EXPECT_NE(all.out.find("cpu" + std::to_string(cpu) + "\n"), std::string::npos) << all.out;
}

// A quota alone shows the first ceil(quota) CPUs, in sysfs too. (nproc --all is
// not asked here: when sysconf says 1 or 2 it trusts the affinity mask instead,
// which a quota does not change; nestbox-run sees to that.)
// htop counts CPUs from the sysfs directory and divides each process's ticks by
// one CPU's share of the aggregate /proc/stat line: with the host's CPU count it
// drew a phantom, idle meter and doubled every process's CPU%. The real,
// interactive htop runs in a terminal (tmux) and its screen is read back.
TEST_F(FsToolsTest, HtopDrawsOneMeterPerVisibleCpuAndTrueProcessPercentages) {
  for (const char* tool : {"htop", "tmux"})
    if (testkit::run({"sh", "-c", std::string("command -v ") + tool}).exit_code != 0)
      GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh installs it)";
  auto c = container("htop");
  auto load = busy(c);
  std::this_thread::sleep_for(300ms);
  const std::string sock = "nestbox-htop-" + std::to_string(::getpid());
  // htop refreshes every second (-d 10); after a few refreshes the screen shows
  // rates measured over the container's own counters.
  auto screen = inside(c, "home=$(mktemp -d) && trap 'tmux -L " + sock + " kill-server 2>/dev/null; rm -rf \"$home\"' EXIT && "
                          "HOME=$home tmux -L " + sock + " new-session -d -x 200 -y 60 'htop -d 10 -s PERCENT_CPU' && "
                          "sleep 4 && tmux -L " + sock + " capture-pane -p");
  int meters = 0;
  std::optional<double> busy_pct;
  const std::string busy_pid = std::to_string(load.pid());
  for (auto line : split_lines(screen)) {
    std::string l(line);
    // One CPU is drawn as "CPU[...]", several as "0[...]", "1[...]", ...
    unsigned cpu = 0;
    char bracket = 0;
    const auto text = l.find_first_not_of(' ');
    if (text != std::string::npos && l.compare(text, 4, "CPU[") == 0) ++meters;
    else if (std::sscanf(l.c_str(), " %u%c", &cpu, &bracket) == 2 && bracket == '[') ++meters;
    auto f = split_ws(line);
    // "PID USER PRI NI VIRT RES SHR S CPU% MEM% TIME+ Command"
    if (f.size() > 9 && f[0] == busy_pid) busy_pct = std::stod(std::string(f[8]));
  }
  EXPECT_EQ(meters, 1) << screen;
  ASSERT_TRUE(busy_pct.has_value()) << "the busy process " << busy_pid << " is not on the screen:\n" << screen;
  // A 50% quota on one visible CPU, shared with htop and tmux themselves (they
  // run in the container too): a real share, never beyond one CPU. With the
  // host's CPU count every figure came out doubled (187 % under a 1-CPU quota).
  EXPECT_GE(*busy_pct, 10.0) << screen;
  EXPECT_LE(*busy_pct, 100.0) << screen;
}

TEST_F(FsToolsTest, QuotaShrinksTheSysfsCpus) {
  CgroupPath c = sandbox().make("quota");
  tree().set_limit(c, "cpu.max", "100000 100000");
  auto out = inside(c,
                    "echo CONF $(getconf _NPROCESSORS_CONF); echo POSSIBLE $(cat /sys/devices/system/cpu/possible); "
                    "echo DIRS $(ls /sys/devices/system/cpu | grep -cE '^cpu[0-9]+$')");
  EXPECT_NE(out.find("CONF 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("POSSIBLE " + std::to_string(host_online().front()) + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("DIRS 1\n"), std::string::npos) << out;
}

// Counter-based monitoring reads a decrease as a reset: every counter of every
// /proc/stat line must be monotonic across re-reads under load, and the busy +
// idle of an interval cannot exceed the interval's time on the visible CPUs.
TEST_F(FsToolsTest, StatCountersNeverGoBackwardsUnderLoad) {
  auto c = container("stat");
  auto load = busy(c);
  // A second load that spends its time in the kernel, so the user:system ratio shifts.
  CgroupTree& t = tree();
  auto syscalls = testkit::Child::fork_fn([&t, c]() -> int {
    if (!join(t, c)) return 10;
    for (;;) {
      int fd = ::open("/proc/self/stat", O_RDONLY);
      if (fd >= 0) ::close(fd);
    }
  });
  const std::string path = mnt("proc/stat");
  const long hz = sysconf(_SC_CLK_TCK);
  auto r = testkit::fork_reporting([&](int report) -> int {
    if (!join(t, c)) return 10;
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return 11;
    std::string all;
    for (int i = 0; i < 24; ++i) {
      char buf[8192];
      // The rendering happened between these two instants (less up to 100 ms of
      // render cache): bounds that hold however the reader gets scheduled.
      const double before = now_seconds();
      ssize_t n = ::pread(fd, buf, sizeof buf, 0);
      if (n <= 0) return 12;
      all += std::to_string(before) + " " + std::to_string(now_seconds()) + "\n" +
             std::string(buf, static_cast<std::size_t>(n)) + "\x1e";
      ::usleep(120000);
    }
    if (::write(report, all.data(), all.size()) < 0) return 13;
    return 0;
  });
  ASSERT_EQ(r.child.wait(), 0);
  struct Sample {
    double before = 0, after = 0;
    std::map<std::string, std::vector<std::uint64_t>> lines;
  };
  std::vector<Sample> samples;
  std::size_t pos = 0;
  while (pos < r.text.size()) {
    auto end = r.text.find('\x1e', pos);
    if (end == std::string::npos) break;
    std::string_view chunk(r.text.data() + pos, end - pos);
    pos = end + 1;
    Sample s;
    auto lines = split_lines(chunk);
    auto times = split_ws(lines.at(0));
    s.before = std::stod(std::string(times.at(0)));
    s.after = std::stod(std::string(times.at(1)));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      auto f = split_ws(lines[i]);
      if (f.empty()) continue;
      if (f[0].starts_with("cpu") || f[0] == "intr" || f[0] == "ctxt" || f[0] == "processes")
        s.lines[std::string(f[0])] = numbers(lines[i].substr(f[0].size()));
    }
    samples.push_back(std::move(s));
  }
  ASSERT_EQ(samples.size(), 24u);
  const std::size_t cpus = samples[0].lines.size() - 4;  // cpu, cpuN..., intr, ctxt, processes
  ASSERT_EQ(cpus, 1u);
  for (std::size_t i = 1; i < samples.size(); ++i) {
    for (const auto& [name, values] : samples[i].lines) {
      const auto& before = samples[i - 1].lines.at(name);
      ASSERT_EQ(values.size(), before.size()) << name;
      for (std::size_t f = 0; f < values.size(); ++f)
        EXPECT_GE(values[f], before[f]) << name << " field " << f << " went backwards at sample " << i;
    }
    auto total = [](const std::vector<std::uint64_t>& v) {
      std::uint64_t sum = 0;
      for (std::size_t f = 0; f < v.size() && f < 8; ++f) sum += v[f];
      return sum;
    };
    const auto interval = total(samples[i].lines.at("cpu")) - total(samples[i - 1].lines.at("cpu"));
    // A rendering is shared for up to 100 ms (the render cache), so two samples
    // may be that much further apart than the reads that returned them.
    const double wall =
        (samples[i].after - samples[i - 1].before + 0.1) * static_cast<double>(hz) * static_cast<double>(cpus);
    EXPECT_LE(static_cast<double>(interval), wall + 2.0) << "sample " << i;
  }
}

// A reader in its own pid namespace sees the view's pids in that namespace and
// can write them back.
TEST_F(FsToolsTest, ViewPidsAreTheReadersNumbers) {
  NESTBOX_SKIP_IF_MISSING(testkit::missing_userns());
  CgroupPath c = sandbox().make("pidns");
  const std::string view = mnt("cgroup/" + memory_view_name());
  auto out = run_in(c, {"unshare", "-fp", "--mount-proc", "sh", "-c",
                        "echo SELF $$; cat " + view + "/cgroup.procs; mkdir " + view + "/sub && echo 1 > " + view +
                            "/sub/cgroup.procs && echo MOVED && cat " + view + "/cgroup.procs"});
  // After the move the shell's own cgroup is "sub", so the view's root is sub.
  std::vector<std::uint64_t> before, after;
  bool moved = false, self = false;
  for (auto line : split_lines(out)) {
    if (line == "SELF 1") self = true;
    if (line == "MOVED") {
      moved = true;
      continue;
    }
    if (!line.empty() && line[0] >= '0' && line[0] <= '9') (moved ? after : before).push_back(parse_u64(line));
  }
  EXPECT_TRUE(self) << out;
  EXPECT_TRUE(moved) << out;
  ASSERT_FALSE(before.empty()) << out;
  ASSERT_FALSE(after.empty()) << out;
  for (const auto* list : {&before, &after}) {
    for (auto p : *list) EXPECT_LT(p, 100u) << "a host pid leaked into the namespace:\n" << out;
    EXPECT_NE(std::find(list->begin(), list->end(), 1u), list->end()) << out;  // the namespace's init
  }
}

// Package upgrades of container managers send SIGUSR1; no stray signal may take
// the mount down.
TEST_F(FsToolsTest, StraySignalsDoNotStopTheDaemon) {
  for (int sig : {SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE}) ASSERT_EQ(::kill(mount_->daemon_pid(), sig), 0);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(mount_->running_daemon());
  auto r = testkit::run({"cat", mnt("proc/meminfo")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("MemTotal:"), std::string::npos);
}

}  // namespace
}  // namespace nestbox::fs::test

namespace nestbox::fs::test {
namespace {

// The whole disk behind a directory's filesystem ("MAJ:MIN"), nullopt when it
// is not on a block device (tmpfs, overlay).
std::optional<std::string> disk_of(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || major(st.st_dev) == 0) return std::nullopt;
  std::string dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  const std::string sys = "/sys/dev/block/" + dev;
  if (::access(sys.c_str(), F_OK) != 0) return std::nullopt;
  if (::access((sys + "/partition").c_str(), F_OK) == 0) {
    // A partition: its disk is the parent directory in sysfs.
    std::string parent = slurp(sys + "/../dev");
    if (parent.empty()) return std::nullopt;
    dev = std::string(trim(parent));
  }
  return dev;
}

// A rule no write reaches: on v2 it enables the io controller for the cgroup
// (io.stat counts without rules), on v1 it makes the throttle counters count.
// nullopt once set, else why it cannot be (the test is then skipped).
std::optional<std::string> set_unreachable_io_rule_in(CgroupTree& tree, const CgroupPath& c, const std::string& disk) {
  try {
    tree.set_limit(c, "io.max", disk + " wbps=1099511627776");
    return std::nullopt;
  } catch (const std::exception& e) {
    return "cannot set an io rule on " + disk + ": " + e.what();
  }
}

// A write with fsync in the container shows up in its /proc/diskstats row of
// that disk (v2: io.stat; v1: the throttle counters, which count only with a
// rule, or BFQ's).
TEST_F(FsToolsTest, DiskstatsCountTheContainersWrites) {
  std::string target = "/var/tmp";
  auto disk = disk_of(target);
  if (!disk) GTEST_SKIP() << target << " is not on a block device here, so no block I/O can be counted";
  CgroupPath c = sandbox().make("io");
  if (auto why = set_unreachable_io_rule_in(tree(), c, *disk)) GTEST_SKIP() << *why;
  const std::string file = target + "/nestbox-diskstats-" + std::to_string(getpid());
  auto out = run_in(c, {"sh", "-c", "dd if=/dev/zero of=" + file + " bs=1M count=4 oflag=direct conv=fsync 2>/dev/null; rm -f " +
                                        file + "; cat " + mnt("proc/diskstats")});
  const auto colon = disk->find(':');
  const std::string maj = disk->substr(0, colon), min = disk->substr(colon + 1);
  bool found = false;
  for (auto line : split_lines(out)) {
    auto f = split_ws(line);
    if (f.size() < 10 || f[0] != maj || f[1] != min) continue;
    found = true;
    EXPECT_GE(parse_u64(f[9]), 4u * 1024 * 1024 / 512) << "sectors written\n" << out;  // 4 MiB in 512-byte sectors
  }
  EXPECT_TRUE(found) << "no row for " << *disk << ":\n" << out;
}


// sysstat's iostat reads /sys/block/<dev>/stat (not /proc/diskstats) and divides
// by the container's uptime: with the device's stat bound as nestbox-run binds
// it, its totals are the container's own writes, not the host's since boot.
TEST_F(FsToolsTest, IostatShowsTheContainersWrites) {
  if (::access("/usr/bin/iostat", X_OK) != 0) GTEST_SKIP() << "iostat is not installed (scripts/install-deps.sh installs sysstat)";
  std::string target = "/var/tmp";
  auto disk = disk_of(target);
  if (!disk) GTEST_SKIP() << target << " is not on a block device here, so no block I/O can be counted";
  char link[4096];
  ssize_t n = ::readlink(("/sys/dev/block/" + *disk).c_str(), link, sizeof link - 1);
  ASSERT_GT(n, 0);
  std::string name(link, static_cast<std::size_t>(n));
  name = name.substr(name.rfind('/') + 1);
  CgroupPath c = sandbox().make("iostat");
  if (auto why = set_unreachable_io_rule_in(tree(), c, *disk)) GTEST_SKIP() << *why;
  const std::string file = target + "/nestbox-iostat-" + std::to_string(getpid());
  const std::string dd = "dd if=/dev/zero of=" + file + " bs=1M count=8 oflag=direct conv=fsync 2>/dev/null; rm -f " + file;
  // Before the write nothing of the container's is on the device; after it, the
  // 8 MiB (the sleep outlasts the 100 ms a rendering is shared, see README.md).
  auto out = inside(c, "mount --bind " + mnt("sys/block/" + name + "/stat") + " /sys/block/" + name + "/stat && " +
                           "iostat -d -k " + name + " && " + dd + " && sleep 0.3 && iostat -d -k " + name);
  auto host = testkit::run({"iostat", "-d", "-k", name});
  // Device  tps  kB_read/s  kB_wrtn/s  kB_dscd/s  kB_read  kB_wrtn  kB_dscd
  auto rows = [&](const std::string& text) {
    std::vector<std::vector<std::uint64_t>> out_rows;
    for (auto line : split_lines(text)) {
      auto f = split_ws(line);
      if (f.size() >= 8 && f[0] == name) out_rows.push_back({parse_u64(f[5]), parse_u64(f[6])});
    }
    return out_rows;
  };
  auto in = rows(out), h = rows(host.out);
  ASSERT_EQ(in.size(), 2u) << out;
  ASSERT_EQ(h.size(), 1u) << host.out;
  EXPECT_EQ(in[0][1], 0u) << "kB written before the container wrote\n" << out;
  EXPECT_GE(in[1][1], 8u * 1024) << "kB written after 8 MiB\n" << out;
  auto st = tree().io_stats(c);
  auto it = std::find_if(st.begin(), st.end(), [&](const IoDeviceStats& s) {
    return std::to_string(s.major) + ":" + std::to_string(s.minor) == *disk;
  });
  ASSERT_NE(it, st.end());
  EXPECT_EQ(in[1][1], it->wbytes / 1024) << "iostat's total is the cgroup's io.stat\n" << out;
  EXPECT_LT(in[1][1], h[0][1]) << "the host's total since boot is not shown\n" << out << host.out;
}

}  // namespace
}  // namespace nestbox::fs::test
