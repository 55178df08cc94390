// SPDX-License-Identifier: Apache-2.0
// Building the container's filesystem view inside its mount namespace, then
// entering it with pivot_root. Runs in the container's pid 1 before the command.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "container.hpp"

namespace nestbox::launcher {

// Where the never-covered procfs and sysfs for nested containers are mounted
// inside (the sysfs only with an own network namespace).
inline constexpr const char* kPristineProc = "/dev/.nestbox/proc";
inline constexpr const char* kPristineSys = "/dev/.nestbox/sys";

// Does every mount step and pivots into the new root (see README.md (nestbox-run)).
// `join_cgroup` is called just before /sys/fs/cgroup is set up: it waits until
// the process is in the container's cgroup, enters the cgroup namespace and
// returns the hierarchies to show.
void build_rootfs(const MountPlan& plan, const std::function<std::vector<CgroupViewEntry>()>& join_cgroup);

// /dev: a tmpfs with binds of the safe host device nodes, a private devpts and
// the usual symlinks. `dev` is the path being set up, `host_dev` the host's /dev.
void setup_dev(const std::string& dev, const std::string& host_dev);

// /sys/fs/cgroup: a tmpfs holding the container's own cgroup of each hierarchy.
void setup_cgroup_view(const std::string& target, const std::vector<CgroupViewEntry>& entries,
                       const std::string& host_prefix);
// Host side: which hierarchies have a directory for `container_cgroup`.
std::vector<CgroupViewEntry> plan_cgroup_view(const std::string& container_cgroup);

}  // namespace nestbox::launcher
