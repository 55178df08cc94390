// SPDX-License-Identifier: Apache-2.0
// The container's own clocks: a time namespace whose CLOCK_BOOTTIME and
// CLOCK_MONOTONIC start at 0 when the container starts. /proc/uptime (the
// kernel's, and nestbox-fs's, which reads the reader's offsets), the start time
// of every process in /proc/<pid>/stat and btime in /proc/stat are all
// presented through the reader's time namespace, so with it ps's elapsed times
// and %CPU, psutil's boot_time() and uptime agree with each other.
#pragma once

namespace nestbox::launcher {

// Called by pid 1 before it forks anything: creates the time namespace its
// children will be in (the caller itself stays where it is; a time namespace
// applies to the children of whoever made it, so that its offsets can be set
// before any process uses it) and sets the offsets to minus the clocks' current
// values. Returns false, changing nothing, on a kernel without time namespaces.
bool make_container_clocks();

// What `nestbox-run exec` opens to join the container's time namespace: pid 1's
// namespace for children (pid 1 itself is not in it).
inline constexpr const char* kTimeNsForChildren = "time_for_children";

}  // namespace nestbox::launcher
