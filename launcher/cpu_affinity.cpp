// SPDX-License-Identifier: Apache-2.0
#include "cpu_affinity.hpp"

#include <sched.h>

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "nestbox/error.hpp"

namespace nestbox::launcher {
namespace {

// Masks sized for any CPU count the kernel may report (CPU_SETSIZE is 1024;
// hosts with more CPUs need dynamically sized sets).
constexpr int kMaxCpus = 8192;

struct CpuSetFree {
  void operator()(cpu_set_t* s) const noexcept { CPU_FREE(s); }
};
using CpuSetPtr = std::unique_ptr<cpu_set_t, CpuSetFree>;

CpuSetPtr alloc_set() {
  CpuSetPtr set(CPU_ALLOC(kMaxCpus));
  if (!set) throw_errno(ENOMEM, "CPU_ALLOC");
  CPU_ZERO_S(CPU_ALLOC_SIZE(kMaxCpus), set.get());
  return set;
}

}  // namespace

unsigned cpu_count_for_quota(const char* cpus) {
  if (!cpus || !*cpus) return 0;
  const double n = std::strtod(cpus, nullptr);
  if (!(n > 0)) return 0;
  return static_cast<unsigned>(std::max(1.0, std::ceil(n)));
}

void pin_to_first_cpus(unsigned count) {
  if (count == 0) return;
  const std::size_t size = CPU_ALLOC_SIZE(kMaxCpus);
  CpuSetPtr current = alloc_set();
  if (::sched_getaffinity(0, size, current.get()) != 0) throw_errno(errno, "sched_getaffinity");
  if (static_cast<unsigned>(CPU_COUNT_S(size, current.get())) <= count) return;
  CpuSetPtr kept = alloc_set();
  unsigned taken = 0;
  for (int cpu = 0; cpu < kMaxCpus && taken < count; ++cpu)
    if (CPU_ISSET_S(cpu, size, current.get())) {
      CPU_SET_S(cpu, size, kept.get());
      ++taken;
    }
  if (::sched_setaffinity(0, size, kept.get()) != 0) throw_errno(errno, "sched_setaffinity");
}

void copy_affinity_of(pid_t pid) {
  const std::size_t size = CPU_ALLOC_SIZE(kMaxCpus);
  CpuSetPtr mask = alloc_set();
  if (::sched_getaffinity(pid, size, mask.get()) != 0)
    throw_errno(errno, "cannot read the CPU affinity of the container's pid 1");
  if (::sched_setaffinity(0, size, mask.get()) != 0) throw_errno(errno, "sched_setaffinity");
}

}  // namespace nestbox::launcher
