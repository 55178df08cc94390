// SPDX-License-Identifier: Apache-2.0
// nestbox-fs vs lxcfs: open/read/close throughput and latency of the virtualized
// files, with reader processes spread over 50 cgroups, for the compatible
// layout, the per-container tree (--container-tree, one container: pid 1 of a
// pid namespace in the first cgroup) and lxcfs, beside the kernel's own
// /proc file and a static file served by nestbox-fs as the FUSE floor; and the
// daemons' peak RSS after 1,000 cgroups were read. Needs root. Prints ratios;
// asserts nothing.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "bench_mounts.hpp"
#include "scale_run.hpp"
#include "nestbox/cgroup_tree.hpp"

namespace {

using namespace nestbox;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kSlot = 1 << 19;  // latencies kept per worker

struct Shared {
  std::atomic<int> go{0};
  std::atomic<std::uint64_t> counts[8];
  float lat_us[8][kSlot];
};

// Creates and always removes the bench cgroups.
class Cgroups {
 public:
  Cgroups(CgroupTree& tree, std::size_t n) : tree_(tree) {
    root_ = CgroupPath::parse("/nestbox-bench-" + std::to_string(getpid()));
    tree_.create(root_);
    grow(n);
  }
  void grow(std::size_t n) {
    while (paths_.size() < n) {
      auto p = root_.child("c" + std::to_string(paths_.size()));
      tree_.create(p);
      tree_.set_limit(p, "memory.max", std::to_string(128 + paths_.size() % 64) + "M");
      paths_.push_back(p);
    }
  }
  ~Cgroups() {
    for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) {
      try {
        tree_.remove(*it);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cleanup %s: %s\n", it->str().c_str(), e.what());
      }
    }
    try {
      tree_.remove(root_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cleanup %s: %s\n", root_.str().c_str(), e.what());
    }
  }
  const std::vector<CgroupPath>& paths() const { return paths_; }

 private:
  CgroupTree& tree_;
  CgroupPath root_;
  std::vector<CgroupPath> paths_;
};

bool read_file(const std::string& path) {
  char buf[65536];
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
  }
  ::close(fd);
  return n == 0;
}

struct Result {
  double ops_per_s = 0, p50 = 0, p99 = 0;
};

Result measure(CgroupTree& tree, const std::vector<CgroupPath>& cgroups, const std::string& path, int threads,
               double seconds, Shared* sh) {
  sh->go = 0;
  std::vector<pid_t> kids;
  for (int w = 0; w < threads; ++w) {
    sh->counts[w] = 0;
    pid_t pid = fork();
    if (pid == 0) {
      std::size_t spot = static_cast<std::size_t>(w);
      try {
        tree.attach(cgroups[spot % cgroups.size()], getpid());
      } catch (...) {
        _exit(2);
      }
      while (sh->go.load() == 0) std::this_thread::yield();
      auto end = Clock::now() + std::chrono::duration<double>(seconds);
      std::uint64_t n = 0;
      while (Clock::now() < end) {
        auto t0 = Clock::now();
        if (!read_file(path)) _exit(3);
        auto t1 = Clock::now();
        if (n < kSlot) sh->lat_us[w][n] = std::chrono::duration<float, std::micro>(t1 - t0).count();
        ++n;
        // Move on to another cgroup now and then (outside the timed part) so
        // the readers cover all of them.
        if (n % 256 == 0) {
          spot += static_cast<std::size_t>(threads);
          try {
            tree.attach(cgroups[spot % cgroups.size()], getpid());
          } catch (...) {
          }
        }
      }
      sh->counts[w] = n;
      _exit(0);
    }
    kids.push_back(pid);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sh->go = 1;
  bool ok = true;
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  Result r;
  if (!ok) return r;
  std::vector<float> all;
  std::uint64_t total = 0;
  for (int w = 0; w < threads; ++w) {
    total += sh->counts[w];
    all.insert(all.end(), sh->lat_us[w], sh->lat_us[w] + std::min<std::uint64_t>(sh->counts[w], kSlot));
  }
  if (all.empty()) return r;
  std::sort(all.begin(), all.end());
  r.ops_per_s = static_cast<double>(total) / seconds;
  r.p50 = all[all.size() / 2];
  r.p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return r;
}

// The scale run (scale_run.hpp): `n` live containers, each with a reader of
// meminfo, stat and cpuinfo every 100 ms, against each daemon in turn.
void scale(CgroupTree& tree, Cgroups& cgroups, std::size_t n, double seconds, bench::Reach reach,
           const bench::DaemonMount& nb, const bench::DaemonMount& ct, const bench::DaemonMount& lx) {
  cgroups.grow(n);
  const std::vector<CgroupPath> cgs(cgroups.paths().begin(), cgroups.paths().begin() + static_cast<std::ptrdiff_t>(n));
  bench::Containers live(tree, cgs);
  const auto& inits = live.inits();
  struct Mode {
    const char* name;
    const bench::DaemonMount* daemon;
    std::function<std::string(std::size_t)> prefix;
  };
  const Mode modes[] = {
      {"ct", &ct, [&](std::size_t i) { return ct.mountpoint() + "/" + std::to_string(inits[i]) + "/proc/"; }},
      {"nb", &nb, [&](std::size_t) { return nb.mountpoint() + "/proc/"; }},
      {"lx", &lx, [&](std::size_t) { return lx.mountpoint() + "/proc/"; }},
      {"kernel", nullptr, [](std::size_t) { return std::string("/proc/"); }},
  };
  std::printf("\nscale: %zu live containers (pid 1 of its own pid namespace, its own cgroup and memory limit), "
              "each with a reader of meminfo, stat, cpuinfo every 100 ms (%.0f reads/s asked), %.0f s per daemon; "
              "%s\n",
              n, static_cast<double>(n) * 30, seconds,
              reach == bench::Reach::Bind
                  ? "each reader opens /proc/<file>, the daemon's file bound over it in its own mount namespace, "
                    "as in a container"
                  : "each reader opens the files by their paths in the daemon's mount (--scale-walk)");
  std::printf("%-7s | %9s %8s | %8s %8s | %9s %12s | %9s %9s\n", "daemon", "reads/s", "failed", "p50 us", "p99 us",
              "CPU s", "CPU s per 1M", "RSS kB", "HWM kB");
  double per_million[4] = {};
  int m = 0;
  for (const auto& mode : modes) {
    const bench::ScaleResult r = bench::scale_run(tree, cgs, mode.prefix, mode.daemon, seconds, reach);
    per_million[m] = r.reads ? r.daemon_cpu_s / static_cast<double>(r.reads) * 1e6 : 0;
    std::printf("%-7s | %9.0f %8llu | %8.1f %8.1f | %9.2f %12.2f | %9ld %9ld\n", mode.name,
                static_cast<double>(r.reads) / r.seconds, static_cast<unsigned long long>(r.failures), r.p50_us,
                r.p99_us, r.daemon_cpu_s, per_million[m], r.rss_kb, r.hwm_kb);
    ++m;
  }
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("daemon CPU per 1M reads: lxcfs / tree %.1fx, lxcfs / compatible %.1fx, compatible / tree %.1fx\n",
              ratio(per_million[2], per_million[0]), ratio(per_million[2], per_million[1]),
              ratio(per_million[1], per_million[0]));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nestbox-fs vs lxcfs benchmark (root)"};
  std::string nestbox_fs = NESTBOX_FS_PATH;
  std::string lxcfs = "/usr/bin/lxcfs";
  double seconds = 1.0;
  std::size_t rss_cgroups = 1000;
  std::size_t containers = 1000;
  double scale_seconds = 10.0;
  app.add_option("--nestbox-fs", nestbox_fs, "nestbox-fs binary")->capture_default_str();
  app.add_option("--lxcfs", lxcfs, "lxcfs binary")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds per measurement")->capture_default_str();
  app.add_option("--rss-cgroups", rss_cgroups, "Cgroups read before peak RSS is taken")->capture_default_str();
  app.add_option("--containers", containers, "Live containers in the scale run (0: no scale run)")
      ->capture_default_str();
  app.add_option("--scale-seconds", scale_seconds, "Seconds of the scale run per daemon")->capture_default_str();
  bool scale_walk = false;
  app.add_flag("--scale-walk", scale_walk,
               "Scale run readers open the files by their paths in each daemon's mount (default: through bind mounts "
               "over /proc's, as in a container)");
  bool scale_only = false;
  app.add_flag("--scale-only", scale_only, "Only the scale run (no per-file table, no RSS pass)");
  CLI11_PARSE(app, argc, argv);
  if (geteuid() != 0) {
    std::fprintf(stderr, "nestbox_fs_bench: needs root (cgroups, mounts)\n");
    return 77;
  }
  // The daemons get the descriptors their units give them (LimitNOFILE=65536
  // in nestbox-fs.service; lxcfs gets the same), or as many as this process may.
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  const rlimit wanted{65536, 65536};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
    std::printf("descriptors: %llu (the units give 65536; this process may not raise its hard limit)\n",
                static_cast<unsigned long long>(nofile.rlim_cur));
  }
  try {
    auto tree = open_host_cgroup_tree();
    auto dir = std::filesystem::temp_directory_path() / ("nestbox-fs-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "nb");
    std::filesystem::create_directories(dir / "lx");
    struct DirGuard {
      std::filesystem::path p;
      ~DirGuard() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } dir_guard{dir};
    Cgroups cgroups(*tree, 50);
    std::vector<CgroupPath> fifty = cgroups.paths();

    std::filesystem::create_directories(dir / "ct");
    bench::DaemonMount nb("nestbox-fs", {nestbox_fs, "-f", "--log-level=warn"}, (dir / "nb").string());
    bench::DaemonMount ct("nestbox-fs tree", {nestbox_fs, "-f", "--log-level=warn", "--container-tree"},
                          (dir / "ct").string());
    // The container the tree serves: pid 1 of a new pid namespace in the first cgroup.
    // Both processes are killed: the namespace's pid 1 would otherwise outlive
    // the bench, keeping its cgroup busy and the bench's stdout open.
    struct Container {
      pid_t unshare = -1;
      pid_t init = -1;
      ~Container() {
        if (init > 0) ::kill(init, SIGKILL);
        if (unshare > 0) {
          ::kill(unshare, SIGKILL);
          ::waitpid(unshare, nullptr, 0);
        }
      }
    } container;
    int ready[2];
    if (::pipe(ready) != 0) throw std::runtime_error("pipe failed");
    container.unshare = fork();
    if (container.unshare == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      try {
        tree->attach(fifty.front(), getpid());
      } catch (...) {
        _exit(2);
      }
      if (::unshare(CLONE_NEWPID) != 0) _exit(3);
      pid_t init = fork();  // pid 1 of the new namespace
      if (init == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // and if the bench itself dies
        for (;;) ::pause();
      }
      if (::write(ready[1], &init, sizeof init) != sizeof init) _exit(4);
      ::waitpid(init, nullptr, 0);
      _exit(0);
    }
    ::close(ready[1]);
    pid_t init = -1;
    if (::read(ready[0], &init, sizeof init) != sizeof init || init <= 0)
      throw std::runtime_error("the container for the tree did not start");
    container.init = init;
    ::close(ready[0]);
    const std::string ct_dir = ct.mountpoint() + "/" + std::to_string(init) + "/proc/";
    bench::DaemonMount lx("lxcfs", {lxcfs, "-f", "-p", (dir / "lxcfs.pid").string()}, (dir / "lx").string());

    void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("mmap failed");
    auto* sh = new (mem) Shared;

    std::printf("nestbox-fs %s vs lxcfs, %zu cgroups, %.1f s per cell, host has %u CPUs\n", nestbox_fs.c_str(),
                fifty.size(), seconds, std::thread::hardware_concurrency());
    std::printf("nb: the compatible layout; ct: the per-container tree (page cache); lx: lxcfs; "
                "kernel: /proc itself; floor: nb's static file\n");
    std::printf("%-8s %3s | %9s %7s %7s | %9s %7s %7s | %9s %7s %7s | %9s %7s | %6s %6s %6s %7s\n", "file", "thr",
                "nb ops/s", "p50 us", "p99 us", "ct ops/s", "p50 us", "p99 us", "lx ops/s", "p50 us", "p99 us",
                "kern op/s", "p50 us", "nb/lx", "ct/lx", "ct/kern", "nb/floor");
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    for (int threads : {1, 2, 8}) {
      if (scale_only) break;
      Result floor = measure(*tree, fifty, nb.mountpoint() + "/.nestbox/static", threads, seconds, sh);
      std::printf("%-8s %3d | %9.0f %7.1f %7.1f |\n", "static", threads, floor.ops_per_s, floor.p50, floor.p99);
      for (const char* file : {"meminfo", "cpuinfo", "stat", "uptime"}) {
        Result a = measure(*tree, fifty, nb.mountpoint() + "/proc/" + file, threads, seconds, sh);
        Result c = measure(*tree, fifty, ct_dir + file, threads, seconds, sh);
        Result b = measure(*tree, fifty, lx.mountpoint() + "/proc/" + file, threads, seconds, sh);
        Result k = measure(*tree, fifty, std::string("/proc/") + file, threads, seconds, sh);
        // ct/kern: p50 latency ratio (below 1: faster than the kernel's file).
        std::printf("%-8s %3d | %9.0f %7.1f %7.1f | %9.0f %7.1f %7.1f | %9.0f %7.1f %7.1f | %9.0f %7.1f | "
                    "%5.1fx %5.1fx %6.2f %7.2f\n",
                    file, threads, a.ops_per_s, a.p50, a.p99, c.ops_per_s, c.p50, c.p99, b.ops_per_s, b.p50, b.p99,
                    k.ops_per_s, k.p50, ratio(a.ops_per_s, b.ops_per_s), ratio(c.ops_per_s, b.ops_per_s),
                    ratio(c.p50, k.p50), ratio(a.p50, floor.p50));
      }
    }

    // Peak RSS once every one of `rss_cgroups` cgroups has read every file.
    if (scale_only) rss_cgroups = 0;
    cgroups.grow(rss_cgroups);
    pid_t kid = fork();
    if (kid == 0) {
      for (const auto& cg : cgroups.paths()) {
        try {
          tree->attach(cg, getpid());
        } catch (...) {
          _exit(2);
        }
        for (const auto* m : {&nb, &lx})
          for (const char* f : {"meminfo", "cpuinfo", "stat", "uptime", "loadavg", "swaps", "diskstats"})
            read_file(m->mountpoint() + "/proc/" + f);
      }
      _exit(0);
    }
    int st = 0;
    waitpid(kid, &st, 0);
    std::printf("after %zu cgroups read: peak RSS (VmHWM) nestbox-fs %ld kB, lxcfs %ld kB; "
                "own memory (RssAnon) nestbox-fs %ld kB, lxcfs %ld kB\n",
                cgroups.paths().size(), nb.status_kb("VmHWM"), lx.status_kb("VmHWM"), nb.status_kb("RssAnon"),
                lx.status_kb("RssAnon"));
    munmap(mem, sizeof(Shared));

    if (containers > 0)
      scale(*tree, cgroups, containers, scale_seconds, scale_walk ? bench::Reach::Walk : bench::Reach::Bind, nb, ct,
            lx);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nestbox_fs_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
