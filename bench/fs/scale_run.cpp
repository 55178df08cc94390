// SPDX-License-Identifier: Apache-2.0
#include "scale_run.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <new>
#include <stdexcept>
#include <thread>

namespace nestbox::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Latencies in a log-scale histogram shared by every reader: 8 buckets per
// power of two of nanoseconds (about 9% wide), up to 2^34 ns.
constexpr int kPerOctave = 8;
constexpr int kBuckets = 34 * kPerOctave;

struct Shared {
  std::atomic<std::uint64_t> reads{0}, failures{0};
  std::atomic<std::uint64_t> buckets[kBuckets];
};

int bucket_of(double ns) {
  if (ns < 1) return 0;
  const int b = static_cast<int>(std::log2(ns) * kPerOctave);
  return b < kBuckets ? b : kBuckets - 1;
}

double bucket_us(int b) { return std::exp2((b + 0.5) / kPerOctave) / 1000.0; }

double percentile(const Shared& sh, double q) {
  std::uint64_t total = 0;
  for (const auto& b : sh.buckets) total += b.load();
  if (total == 0) return 0;
  const auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += sh.buckets[b].load();
    if (seen >= want) return bucket_us(b);
  }
  return bucket_us(kBuckets - 1);
}

bool read_whole(const std::string& path) {
  char buf[65536];
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
  }
  ::close(fd);
  return n == 0;
}

int container_init(void*) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (;;) ::pause();
}

}  // namespace

Containers::Containers(CgroupTree& tree, const std::vector<CgroupPath>& cgroups) {
  // One small stack serves every child: clone() without CLONE_VM copies it.
  alignas(16) static char stack[64 * 1024];
  inits_.reserve(cgroups.size());
  try {
    for (const auto& cg : cgroups) {
      const pid_t pid = ::clone(container_init, stack + sizeof stack, CLONE_NEWPID | SIGCHLD, nullptr);
      if (pid < 0) throw std::runtime_error("clone(CLONE_NEWPID) failed: " + std::to_string(errno));
      inits_.push_back(pid);
      tree.attach(cg, pid);
    }
  } catch (...) {
    kill_all();
    throw;
  }
}

Containers::~Containers() { kill_all(); }

void Containers::kill_all() {
  for (pid_t p : inits_) ::kill(p, SIGKILL);
  for (pid_t p : inits_) ::waitpid(p, nullptr, 0);
  inits_.clear();
}

ScaleResult scale_run(CgroupTree& tree, const std::vector<CgroupPath>& cgroups,
                      const std::function<std::string(std::size_t)>& prefix, const DaemonMount* daemon,
                      double seconds, Reach reach, double period_s) {
  void* mem = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::runtime_error("mmap failed");
  auto* sh = new (mem) Shared;
  for (auto& b : sh->buckets) b = 0;

  // Every reader blocks on `go` until the last one is forked; closing the
  // write end starts them all at once.
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(period_s));
  const auto length = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<pid_t> readers;
  readers.reserve(cgroups.size());
  for (std::size_t i = 0; i < cgroups.size(); ++i) {
    const std::string at = prefix(i);
    const pid_t pid = ::fork();
    if (pid < 0) break;
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(go[1]);
      try {
        tree.attach(cgroups[i], ::getpid());
      } catch (...) {
        _exit(2);
      }
      char c;
      (void)!::read(go[0], &c, 1);
      const auto start = Clock::now();
      const auto end = start + length;
      auto next = start + period * static_cast<long>(i) / static_cast<long>(cgroups.size());
      std::string files[] = {at + "meminfo", at + "stat", at + "cpuinfo"};
      if (reach == Reach::Bind && at != "/proc/") {
        // A mount namespace of its own, its changes kept from the host's, and
        // the files bound over /proc's, where the reader opens them.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(3);
        for (auto& f : files) {
          const std::string target = "/proc/" + f.substr(at.size());
          if (::mount(f.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) _exit(4);
          f = target;
        }
      }
      while (true) {
        std::this_thread::sleep_until(next);
        if (Clock::now() >= end) break;
        for (const auto& f : files) {
          const auto t0 = Clock::now();
          const bool ok = read_whole(f);
          const auto t1 = Clock::now();
          (ok ? sh->reads : sh->failures).fetch_add(1, std::memory_order_relaxed);
          sh->buckets[bucket_of(std::chrono::duration<double, std::nano>(t1 - t0).count())].fetch_add(
              1, std::memory_order_relaxed);
        }
        // A reader that fell behind does not burst to catch up.
        next = std::max(next + period, Clock::now());
      }
      _exit(0);
    }
    readers.push_back(pid);
  }
  ::close(go[0]);
  const double cpu0 = daemon ? daemon->cpu_seconds() : 0;
  const auto t0 = Clock::now();
  ::close(go[1]);
  for (pid_t p : readers) ::waitpid(p, nullptr, 0);
  ScaleResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (daemon) {
    r.daemon_cpu_s = daemon->cpu_seconds() - cpu0;
    r.rss_kb = daemon->status_kb("VmRSS");
    r.hwm_kb = daemon->status_kb("VmHWM");
  }
  r.reads = sh->reads.load();
  r.failures = sh->failures.load();
  r.p50_us = percentile(*sh, 0.50);
  r.p99_us = percentile(*sh, 0.99);
  if (readers.size() != cgroups.size()) r.failures += (cgroups.size() - readers.size()) * 3;
  ::munmap(mem, sizeof(Shared));
  return r;
}

}  // namespace nestbox::bench
