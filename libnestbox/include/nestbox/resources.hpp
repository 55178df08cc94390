// SPDX-License-Identifier: Apache-2.0
// Typed values read from one cgroup, the same shape on every layout.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/parse.hpp"

namespace nestbox {

// One cgroup's own memory values (not hierarchical).
struct MemoryState {
  Limit limit;                               // v2 memory.max; v1 memory.limit_in_bytes (huge = nullopt)
  std::uint64_t usage = 0;                   // v2 memory.current; v1 memory.usage_in_bytes
  Limit swap_limit;                          // swap only: v2 memory.swap.max; v1 memsw.limit - limit
  std::optional<std::uint64_t> swap_usage;   // v2 memory.swap.current; v1 memsw.usage - usage; nullopt if no swap accounting
  // memory.stat with v2 key names on both layouts (v1 "total_cache" -> "file",
  // "total_rss" -> "anon", "total_mapped_file" -> "file_mapped", "total_shmem" ->
  // "shmem", "total_active_anon" -> "active_anon", ... ; v1-only keys kept as is).
  FlatKeyed stat;
};

// The memory limits that bind a cgroup: minimum over it and all its ancestors.
struct EffectiveMemory {
  Limit limit;           // min over the path and its ancestors
  Limit swap_limit;      // min over the path and its ancestors
  CgroupPath binding;    // the cgroup that imposes `limit` (the path itself if nothing does)
  MemoryState binding_state;  // values of `binding` (usage/stat come from here)
};

struct CpuUsage {
  std::uint64_t usage_usec = 0;
  std::uint64_t user_usec = 0;
  std::uint64_t system_usec = 0;
  // Per host CPU usage in usec, indexed by host CPU number (v1 cpuacct.usage_percpu).
  // Empty on v2, which has no per-cpu accounting.
  std::vector<std::uint64_t> per_cpu_usec;
};

struct PidsState {
  std::uint64_t current = 0;
  Limit max;
};

struct IoDeviceStats {
  unsigned major = 0, minor = 0;
  std::uint64_t rbytes = 0, wbytes = 0, rios = 0, wios = 0, dbytes = 0, dios = 0;
};

// A file whose owner Delegate() changed (for logs and tests).
struct DelegatedEntry {
  std::string path;  // absolute filesystem path
  uid_t uid = 0;
  gid_t gid = 0;
};

}  // namespace nestbox
