// SPDX-License-Identifier: Apache-2.0
// Who is reading: the reader's cgroup in each hierarchy, from /proc/<pid>/cgroup.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/proc.hpp"

namespace nestbox::fs {

// The reader's cgroup per controller (nullopt where the hierarchy is not mounted
// or the path is not valid). On a pure v2 host every field is the v2 path.
struct ReaderCgroups {
  std::optional<CgroupPath> memory, cpu, cpuacct, cpuset, io, pids, unified;
  // The hierarchy the library treats as primary (v2, else memory, pids, cpu, cpuset, blkio).
  std::optional<CgroupPath> primary;
};

ReaderCgroups resolve_reader_cgroups(const std::vector<ProcCgroupEntry>& entries, Layout layout);

// Whether `entry` is the line of the hierarchy with these controllers (v1), or the
// v2 line when `controllers` is empty.
bool entry_matches(const ProcCgroupEntry& entry, const std::vector<std::string>& controllers);

}  // namespace nestbox::fs
