// SPDX-License-Identifier: Apache-2.0
// The files nestbox-fs serves in a container's place, and which of them a
// given mount holds. nestbox-run, the OCI hook and the LXC hook bind the same
// list, so it lives here once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nestbox {

// Paths relative to both the fs mountpoint and the container root, each bound
// over its procfs/sysfs twin. The sysfs CPU directory goes as a whole: tools
// count CPUs from its cpuN entries, not only from `online`.
inline const std::vector<std::string> kViewFiles = {
    "proc/meminfo", "proc/cpuinfo",   "proc/stat",   "proc/uptime",           "proc/loadavg",
    "proc/swaps",   "proc/diskstats", "proc/vmstat", "sys/devices/system/cpu"};

// Unused loop devices (size 0) are left out; a host with more devices in use
// than this keeps the host's counters for the rest.
inline constexpr std::size_t kMaxBlockBinds = 64;

// Whether `path` is the root of a FUSE mount (statfs magic). Never throws.
bool is_fuse_mount(const std::string& path) noexcept;

// Whether the procfs at `proc` is the initial pid namespace's, whose pids are
// the names in nestbox-fs --container-tree: only there is kthreadd pid 2, a
// child of no process (kernel threads are in no other pid namespace). False
// inside a container, and where pid 2 cannot be read (hidepid). Never throws.
bool procfs_is_the_hosts(const std::string& proc = "/proc") noexcept;

// Which of kViewFiles the tree at `fs_root` holds (readable by this process),
// then `sys/block/<dev>/stat` for each device the tree lists whose host
// device (`host_block`/<dev>/size) has a size, at most kMaxBlockBinds of them,
// sorted: iostat reads those instead of /proc/diskstats.
std::vector<std::string> view_files_in(const std::string& fs_root, const std::string& host_block = "/sys/block");

// view_files_in(fs_mount) when a FUSE filesystem is mounted there, else empty.
std::vector<std::string> available_view_files(const std::string& fs_mount);

}  // namespace nestbox
