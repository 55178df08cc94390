// SPDX-License-Identifier: Apache-2.0
// Which cgroup hierarchies this host has, read from /proc/self/mountinfo.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nestbox {

enum class Layout {
  Unified,  // pure cgroup v2
  Hybrid,   // v1 controller hierarchies plus a cgroup2 mount (often /sys/fs/cgroup/unified)
  Legacy,   // v1 only
};
// "unified", "hybrid", "legacy".
std::string_view layout_name(Layout layout) noexcept;

struct CgroupMount {
  std::string mountpoint;                // "/sys/fs/cgroup/memory" (octal escapes decoded)
  std::string root = "/";               // root of the mount inside its hierarchy (mountinfo field 4)
  bool unified = false;                  // cgroup2
  std::vector<std::string> controllers;  // v1: from super options ("cpu", "cpuacct", "name=systemd");
                                         // v2: from <mountpoint>/cgroup.controllers
};

struct HostLayout {
  Layout layout = Layout::Unified;
  std::vector<CgroupMount> mounts;  // one per hierarchy (later duplicate mounts of a hierarchy dropped)

  const CgroupMount* unified() const noexcept;
  // The mount that carries `controller` (v2 mount on Unified, else the v1 mount).
  const CgroupMount* mount_for(std::string_view controller) const noexcept;
  // All controllers that have a mount, v1 named hierarchies ("name=...") excluded.
  std::vector<std::string> controllers() const;

  // Parses mountinfo text. `read_v2_controllers(mountpoint)` returns the content of
  // cgroup.controllers of a cgroup2 mount (injected so fixtures can fake it).
  static HostLayout parse(std::string_view mountinfo,
                          const std::function<std::string(const std::string&)>& read_v2_controllers);
  // Reads /proc/self/mountinfo and the real cgroup.controllers.
  static HostLayout discover();
};

}  // namespace nestbox
