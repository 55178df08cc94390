// SPDX-License-Identifier: Apache-2.0
// What affinity-based CPU counters see inside a `--cpus N` container.
// sched_getaffinity is what Go's NumCPU, node's availableParallelism, Python's
// os.sched_getaffinity, busybox nproc and the JDK count, and a CPU-time quota
// does not change it. pid 1 pins itself to the first ceil(N) CPUs of its cpuset
// once it is in the container's cgroup, so the command inherits that mask;
// `exec` sessions copy pid 1's mask, so every command sees the same count.
// Scheduling is still bounded by cpu.max; the mask only narrows where threads
// run (ceil(N) CPUs can always consume an N-CPU quota).
#pragma once

#include <sys/types.h>

namespace nestbox::launcher {

// ceil(--cpus) as a CPU count (at least 1); 0 when `cpus` is empty (no quota).
unsigned cpu_count_for_quota(const char* cpus);
// Keeps the first `count` CPUs of the calling thread's affinity mask (which
// the cpuset of its cgroup has set); no-op when count is 0 or the mask already
// has that many or fewer. Throws Error.
void pin_to_first_cpus(unsigned count);
// Sets the calling thread's mask to that of `pid` (the container's pid 1).
// Throws Error.
void copy_affinity_of(pid_t pid);

}  // namespace nestbox::launcher
