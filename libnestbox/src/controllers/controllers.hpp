// SPDX-License-Identifier: Apache-2.0
// Per-controller readers, writers and v2<->v1 translation (internal). Each
// controller's file holds both layouts so the translation rules sit together.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hierarchy.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/resources.hpp"

namespace nestbox::detail {

// ---- memory (memory.cpp) -------------------------------------------------
// v1 reports "no limit" as a huge page-aligned number (e.g. 9223372036854771712).
bool is_v1_unlimited(std::uint64_t value) noexcept;
// A v1 limit file's content: >= 2^62 or "-1" -> nullopt.
Limit parse_v1_limit(std::string_view text);
// v1 memory.stat with total_* keys renamed to their v2 names (they win over local ones).
FlatKeyed normalize_v1_memory_stat(const FlatKeyed& v1);
MemoryState read_memory_v2(const CgroupDir& dir);
MemoryState read_memory_v1(const CgroupDir& dir);
// Sets memory.limit_in_bytes keeping the current swap allowance, ordered so the
// kernel's memsw >= limit rule holds after every single write.
void write_memory_max_v1(const CgroupDir& dir, Limit limit);
// Sets memsw = limit + swap. Unsupported without memsw files, or when the memory
// limit is unlimited and a finite swap limit is asked for (v1 cannot express it).
void write_swap_max_v1(const CgroupDir& dir, Limit swap);
std::string normalize_memory_value(std::string_view key, std::string_view value);
// memory.max / memory.swap.max in v2 form from the v1 files ("max" when
// unlimited); nullopt for swap without memsw files (no swap accounting).
std::optional<std::string> read_memory_limit_v1(const CgroupDir& dir, std::string_view key);

// ---- cpu / cpuacct (cpu.cpp) ----------------------------------------------
std::optional<CpuMax> read_cpu_max_v2(const CgroupDir& dir);
std::optional<CpuMax> read_cpu_max_v1(const CgroupDir& dir);
std::optional<CpuUsage> read_cpu_usage_v2(const CgroupDir& dir);
std::optional<CpuUsage> read_cpu_usage_v1(const CgroupDir& cpuacct_dir);
void write_cpu_max_v1(const CgroupDir& dir, const CpuMax& value);
// v2 weight (1..10000, default 100) -> v1 shares (default 1024, minimum 2).
std::uint64_t cpu_weight_to_shares(std::uint64_t weight) noexcept;
void write_cpu_weight_v1(const CgroupDir& dir, std::uint64_t weight);
// v1 shares -> the v2 weight that maps to them (rounded, within 1..10000).
std::uint64_t cpu_shares_to_weight(std::uint64_t shares) noexcept;
std::optional<std::string> read_cpu_weight_v1(const CgroupDir& dir);
std::string normalize_cpu_max(std::string_view value);
std::string normalize_cpu_weight(std::string_view value);

// ---- cpuset (cpuset.cpp) ----------------------------------------------------
// Walks from `path` up: the effective list, else the nearest non-empty cpuset.cpus.
std::optional<CpuList> read_effective_cpus(const Hierarchy& h, const CgroupPath& path);
// A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks until set.
void inherit_cpuset_v1(const CgroupDir& parent, const CgroupDir& child);
std::string normalize_cpuset(std::string_view key, std::string_view value);

// ---- pids (pids.cpp) --------------------------------------------------------
std::optional<PidsState> read_pids(const CgroupDir& dir);
std::string normalize_pids_max(std::string_view value);

// ---- io / blkio (io.cpp) ----------------------------------------------------
struct IoMax {
  unsigned major = 0, minor = 0;
  // Outer optional: key not given; inner Limit: nullopt = "max".
  std::optional<Limit> rbps, wbps, riops, wiops;
};
IoMax parse_io_max(std::string_view value);
std::string format_io_max(const IoMax& value);
std::vector<IoDeviceStats> read_io_v2(const CgroupDir& dir);
std::vector<IoDeviceStats> read_io_v1(const CgroupDir& dir);
void write_io_max_v1(const CgroupDir& dir, const IoMax& value);
// The blkio.throttle.* rules as v2 io.max lines (one per device, "" when none);
// nullopt without the throttle files.
std::optional<std::string> read_io_max_v1(const CgroupDir& dir);

}  // namespace nestbox::detail
