// SPDX-License-Identifier: Apache-2.0
// Names and node ids of the per-container tree (--container-tree):
//   MOUNTPOINT/                       root, mode 0711 (no listing)
//   MOUNTPOINT/<pid>/                 a container: <pid> is the host pid of its
//                                     pid 1; owned by that process's uid, 0500
//   MOUNTPOINT/<pid>/proc/<file>      its meminfo, cpuinfo, stat, ... (0444)
//   MOUNTPOINT/<pid>/sys/devices/system/cpu/
//                                     its view of the host's sysfs CPU
//                                     directory (host_cpu_dir.hpp): the CPU
//                                     lists rendered, the rest the host's
//                                     entries under the CPUs it sees
// The paths below <pid> are the container's own, so a container's file X is
// bound from MOUNTPOINT/<pid>/X.
//
// Node ids are computed, never stored: a server started later (live upgrade,
// crash restart, handover) answers the ids the kernel and the containers'
// bind mounts already hold, and no table grows with containers. The fixed
// nodes are pid * 64 + slot; a host entry is bit 62 | pid << 32 | the low 32
// bits of its host inode number (sysfs numbers its entries, and one removed
// and made again, a CPU unplugged and plugged back, gets a new number).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "proc_files.hpp"

namespace nestbox::fs {

inline constexpr std::uint64_t kTreeRoot = 1;
// pid_max is at most 2^22 (PID_MAX_LIMIT).
inline constexpr pid_t kMaxTreePid = 1 << 22;
inline constexpr unsigned kSlotsPerContainer = 64;
inline constexpr std::uint64_t kHostNodeBit = std::uint64_t{1} << 62;

// One fixed node of a container's directory. Slot 0 is the directory itself;
// the slots of earlier servers' nodes never change (live upgrade).
struct ContainerNode {
  unsigned parent;   // the slot of the directory holding it
  std::string_view name;
  bool dir;
  FileKind kind;     // of a file
  mode_t mode;
  bool host_entries; // a directory whose other entries are the host's CPU directory
};
inline constexpr unsigned kContainerSlot = 0;
inline constexpr ContainerNode kContainerNodes[] = {
    {0, "", true, FileKind::Static, 0500, false},
    {0, "proc", true, FileKind::Static, 0500, false},
    {1, "meminfo", false, FileKind::Meminfo, 0444, false},
    {1, "cpuinfo", false, FileKind::Cpuinfo, 0444, false},
    {1, "stat", false, FileKind::Stat, 0444, false},
    {1, "uptime", false, FileKind::Uptime, 0444, false},
    {1, "loadavg", false, FileKind::Loadavg, 0444, false},
    {1, "swaps", false, FileKind::Swaps, 0444, false},
    {1, "diskstats", false, FileKind::Diskstats, 0444, false},
    {1, "vmstat", false, FileKind::Vmstat, 0444, false},
    // The container's /sys/devices/system/cpu is bound from here: readable by
    // every user of the container (the guard is slot 0).
    {0, "sys", true, FileKind::Static, 0555, false},
    {10, "devices", true, FileKind::Static, 0555, false},
    {11, "system", true, FileKind::Static, 0555, false},
    {12, "cpu", true, FileKind::Static, 0555, true},
    {13, "online", false, FileKind::CpuOnline, 0444, false},
    {13, "possible", false, FileKind::CpuPossible, 0444, false},
    {13, "present", false, FileKind::CpuPresent, 0444, false},
    {13, "enabled", false, FileKind::CpuEnabled, 0444, false},
    {13, "offline", false, FileKind::CpuOffline, 0444, false},
};
static_assert(std::size(kContainerNodes) <= kSlotsPerContainer);

struct TreeNode {
  pid_t pid = 0;           // 0 for the root
  unsigned slot = 0;       // into kContainerNodes, unless `host`
  bool host = false;       // a host entry of the CPU directory
  std::uint32_t host_ino = 0;
  const ContainerNode* fixed() const { return host || pid == 0 ? nullptr : &kContainerNodes[slot]; }
};

std::uint64_t tree_node_id(pid_t pid, unsigned slot);
std::uint64_t host_node_id(pid_t pid, std::uint64_t host_ino);
// nullopt for an id this tree never hands out.
std::optional<TreeNode> decode_tree_node(std::uint64_t ino);
// The fixed child `name` of directory slot `parent`.
std::optional<unsigned> container_child(unsigned parent, std::string_view name);
// A decimal pid as the kernel prints it (no sign, no leading zero, 1..kMaxTreePid).
std::optional<pid_t> parse_container_name(std::string_view name);

}  // namespace nestbox::fs
