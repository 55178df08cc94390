// SPDX-License-Identifier: Apache-2.0
// Renderers: pure functions from (host file text, cgroup values) to the text a
// reader inside a container sees. No I/O happens here, so every rule is unit
// tested with fixture inputs for both cgroup layouts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/memory_view.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/resources.hpp"

namespace nestbox::fs {

// ---- meminfo -----------------------------------------------------------------
// The arithmetic (MemoryView, container_memory, container_swap, meminfo_value)
// lives in libnestbox, shared with nestbox-run's sysinfo(2) answers.
using nestbox::container_swap;
using nestbox::meminfo_value;
using nestbox::MemoryView;
using nestbox::SwapFigures;
// Replaces values line by line in the host's /proc/meminfo; every line keeps its
// place and its format.
std::string render_meminfo(std::string_view host, const MemoryView& view);

// ---- which CPUs the reader sees -------------------------------------------------
enum class CpuView { Cpuset, Quota, Both };
// Host CPU numbers the reader sees, in ascending order; never empty as long as
// `online` is not. `cpuset` nullopt = no cpuset restriction; `quota_cpus`
// nullopt = no quota (e.g. 1.5 for 150000/100000).
CpuList visible_cpus(const CpuList& online, const std::optional<CpuList>& cpuset,
                     std::optional<double> quota_cpus, CpuView mode);
// The visible CPUs' host numbers as a kernel CPU list ("0-1,3\n"), used for
// online/possible/present/enabled (host numbers, so taskset and sched_setaffinity
// accept them).
std::string render_cpu_list(const CpuList& visible);

// ---- cpuinfo ---------------------------------------------------------------------
// Keeps the per-processor blocks of the host CPUs in `visible`, with their host
// numbers; other blocks (e.g. arm64's trailing lines) stay.
std::string render_cpuinfo(std::string_view host, const CpuList& visible);

// ---- stat ------------------------------------------------------------------------
struct CpuTimes {
  std::uint64_t user = 0, system = 0, idle = 0;  // clock ticks
};
// Host counters of /proc/stat replaced for a container reader (nullopt = the host's).
struct StatCounters {
  std::optional<std::uint64_t> intr, ctxt, processes, btime;
};
struct StatView {
  CpuList visible;                 // host CPU numbers shown (lines keep the host numbers)
  CpuUsage usage;                  // the cgroup's CPU usage (per-cpu only on v1)
  std::uint64_t elapsed_ticks = 0; // wall time since the container started, in clock ticks
  unsigned ticks_per_second = 100;
  std::uint64_t procs_running = 0;
  std::uint64_t procs_blocked = 0;
  // What was last served to this container, per host CPU: every counter served
  // afterwards is at least as large (see container_cpu_times).
  std::map<unsigned, CpuTimes> previous;
  StatCounters counters;
};
// Per visible CPU times, the rules documented in README.md (nestbox-fs): busy time from the
// per-cpu counters where they exist (usage on hidden CPUs spread evenly), else the
// total split evenly; busy is capped so that busy + idle = elapsed; user/system in
// the cgroup's proportion. With `previous`, every counter is monotonic and the
// busy time of an interval never exceeds its elapsed time.
std::vector<CpuTimes> container_cpu_times(const StatView& view);
// The next served value of one CPU line given the last one (pure; exposed for tests):
// `busy` and `elapsed` in ticks, `user_share` in [0, 1].
CpuTimes next_cpu_times(const std::optional<CpuTimes>& last, std::uint64_t busy, long double user_share,
                        std::uint64_t elapsed);
// `times` are container_cpu_times(view), one per visible CPU.
std::string render_stat(std::string_view host, const StatView& view, const std::vector<CpuTimes>& times);
// A host event counter (intr, ctxt, processes) seen from a container: the host's
// count since a baseline taken when the container was first seen, which places
// the host's average rate on the container's time base (see README.md).
std::uint64_t counter_baseline(std::uint64_t host_value, double container_seconds, double host_seconds);
// The value of a "key N ..." line of /proc/stat (or "key N" of /proc/vmstat).
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);

// ---- vmstat ------------------------------------------------------------------------
struct VmstatView {
  FlatKeyed memory_stat;                     // v2 key names (v1 total_* translated)
  std::optional<std::uint64_t> read_kb, written_kb;  // block I/O of the cgroup
};
// The host's /proc/vmstat with the paging, swapping and fault counters of the
// cgroup: pgpgin/pgpgout (kB read/written, from the cgroup's block I/O),
// pswpin/pswpout, pgfault, pgmajfault (memory.stat; 0 where the kernel keeps no
// per-cgroup count). Every other line stays the host's.
std::string render_vmstat(std::string_view host, const VmstatView& view);

// ---- uptime / loadavg / swaps / diskstats ------------------------------------------
// "UP IDLE\n" with two decimals, like the kernel.
std::string render_uptime(double uptime_seconds, double idle_seconds);
struct LoadView {
  double avg1 = 0, avg5 = 0, avg15 = 0;
  std::uint64_t running = 0, total = 0;
};
// The host's last-pid field is kept.
std::string render_loadavg(std::string_view host, const LoadView& load);
// SwapTotal/SwapFree of the host meminfo are used to decide whether there is swap.
std::string render_swaps(std::string_view host_swaps, std::uint64_t host_swap_total_kb,
                         std::uint64_t swap_total_kb, std::uint64_t swap_used_kb);
// Host rows only for devices the cgroup did I/O on, counters from the cgroup.
std::string render_diskstats(std::string_view host, const std::vector<IoDeviceStats>& stats);
// /sys/block/<dev>/stat of device MAJ:MIN for a cgroup with `stats` (zeros when
// the cgroup did no I/O on it), with the host file's column count.
std::string render_block_stat(std::string_view host_stat, unsigned major, unsigned minor,
                              const std::vector<IoDeviceStats>& stats);

}  // namespace nestbox::fs
