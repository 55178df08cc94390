// SPDX-License-Identifier: Apache-2.0
// Names and node ids of the per-container tree (--container-tree):
//   MOUNTPOINT/                       root, mode 0711 (no listing)
//   MOUNTPOINT/<pid>/                 a container: <pid> is the host pid of its
//                                     pid 1; owned by that process's uid, 0500
//   MOUNTPOINT/<pid>/proc/<file>      its meminfo, cpuinfo, stat, ... (0444)
// Node ids are computed from (pid, slot), never stored: a server started later
// (live upgrade, crash restart, handover) answers the ids the kernel and the
// containers' bind mounts already hold, and no table grows with containers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "proc_files.hpp"

namespace nestbox::fs {

inline constexpr std::uint64_t kTreeRoot = 1;
// pid_max is at most 2^22 (PID_MAX_LIMIT).
inline constexpr pid_t kMaxTreePid = 1 << 22;

enum class TreeSlot : unsigned { Container = 0, ProcDir = 1 };  // then the files, from 2
inline constexpr unsigned kFirstFileSlot = 2;
inline constexpr unsigned kSlotsPerContainer = 64;

struct ContainerFile {
  std::string_view name;
  FileKind kind;
};
// The files of MOUNTPOINT/<pid>/proc: content that is a function of the
// container (its cgroup, its pid namespace), not of the reader.
inline constexpr ContainerFile kContainerFiles[] = {
    {"meminfo", FileKind::Meminfo}, {"cpuinfo", FileKind::Cpuinfo},     {"stat", FileKind::Stat},
    {"uptime", FileKind::Uptime},   {"loadavg", FileKind::Loadavg},     {"swaps", FileKind::Swaps},
    {"diskstats", FileKind::Diskstats}, {"vmstat", FileKind::Vmstat}};

struct TreeNode {
  pid_t pid = 0;      // 0 for the root
  unsigned slot = 0;  // TreeSlot or kFirstFileSlot + index into kContainerFiles
};

std::uint64_t tree_node_id(pid_t pid, unsigned slot);
// nullopt for an id this tree never hands out.
std::optional<TreeNode> decode_tree_node(std::uint64_t ino);
// The slot of a name in MOUNTPOINT/<pid>/proc.
std::optional<unsigned> container_file_slot(std::string_view name);
const ContainerFile* container_file(unsigned slot);
// A decimal pid as the kernel prints it (no sign, no leading zero, 1..kMaxTreePid).
std::optional<pid_t> parse_container_name(std::string_view name);

}  // namespace nestbox::fs
