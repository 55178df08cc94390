// SPDX-License-Identifier: Apache-2.0
// The scale run: many live containers (each a pid 1 of its own pid namespace in
// its own cgroup with a memory limit), each with a reader that opens and reads
// meminfo, stat and cpuinfo every 100 ms, as a monitoring agent per container
// does, against one daemon at a time. What it reports is what users pay: the
// daemon's CPU time per million reads, its memory, the readers' latencies.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench_mounts.hpp"
#include "nestbox/cgroup_tree.hpp"

namespace nestbox::bench {

// One pid 1 of a new pid namespace per cgroup, killed on destruction (and if
// the bench dies).
class Containers {
 public:
  Containers(CgroupTree& tree, const std::vector<CgroupPath>& cgroups);
  ~Containers();
  Containers(const Containers&) = delete;
  Containers& operator=(const Containers&) = delete;
  // Host pids, in the order of the cgroups.
  const std::vector<pid_t>& inits() const { return inits_; }

 private:
  void kill_all();
  std::vector<pid_t> inits_;
};

struct ScaleResult {
  std::uint64_t reads = 0, failures = 0;
  double seconds = 0;
  double daemon_cpu_s = 0;  // 0 without a daemon (the kernel's files)
  long rss_kb = -1, hwm_kb = -1;
  double p50_us = 0, p99_us = 0;
};

// How a reader reaches the files: through bind mounts of them over /proc's in
// a mount namespace of its own, as containers do (nestbox-run, LXC with
// lxcfs), or by their paths in the daemon's mount, walked at every open.
enum class Reach { Bind, Walk };

// Reader i runs in cgroups[i] and reads prefix(i) + "meminfo", "stat" and
// "cpuinfo" every `period`, its phase spread over the period, for `seconds`.
ScaleResult scale_run(CgroupTree& tree, const std::vector<CgroupPath>& cgroups,
                      const std::function<std::string(std::size_t)>& prefix, const DaemonMount* daemon,
                      double seconds, Reach reach, double period_s = 0.1);

}  // namespace nestbox::bench
