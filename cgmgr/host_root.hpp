// SPDX-License-Identifier: Apache-2.0
// Where the manager root lives on this host: /nestbox by default, the --root
// override for tests, or under systemd the cgroup systemd delegated to the
// service (Delegate=yes), into whose "supervisor" child the daemon moves itself
// (the no-internal-processes rule leaves the root free for children, and the
// daemon stays the single writer of everything else below it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/cgroup_tree.hpp"

namespace nestbox::cgmgr {

struct HostRoot {
  CgroupPath root;
  std::vector<CgroupPath> reserved;  // cgroups no call may touch
  bool under_systemd = false;
};

// Whether this process runs as a systemd service (a booted systemd, and the
// service environment systemd sets).
bool running_under_systemd();

// Determines the root (creating it, and its missing ancestors, if needed) and
// under systemd moves the daemon into <root>/supervisor.
HostRoot establish_root(CgroupTree& tree, const std::optional<std::string>& root_option);

}  // namespace nestbox::cgmgr
