// SPDX-License-Identifier: Apache-2.0
// /sys/fs/cgroup inside the container shows the container's own cgroup as the
// root of every hierarchy, so tools that read their limits there (systemd,
// JVMs, Go's automaxprocs, ...) find the container's, not the host's.
// cgroup2 can be mounted from inside the cgroup namespace; cgroup v1 cannot be
// mounted by an unprivileged user, so v1 hierarchies are read-only binds of the
// container's directory.
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "mounts.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"
#include "nestbox/layout.hpp"
#include "rootfs.hpp"

namespace nestbox::launcher {

std::vector<CgroupViewEntry> plan_cgroup_view(const std::string& container_cgroup) {
  std::vector<CgroupViewEntry> entries;
  const HostLayout layout = HostLayout::discover();
  const CgroupPath path = CgroupPath::parse(container_cgroup);
  for (const auto& mount : layout.mounts) {
    // The mount may show only part of its hierarchy (its root); the container's
    // cgroup must lie inside it to be reachable.
    auto root = CgroupPath::try_parse(mount.root);
    if (!root) continue;
    auto rel = path.relative_to(*root);
    if (!rel) continue;
    CgroupViewEntry e;
    e.host_dir = mount.mountpoint + (rel->is_root() ? "" : rel->str());
    e.cgroup2 = mount.unified;
    if (layout.layout == Layout::Unified) {
      if (!mount.unified) continue;
      e.target = "";
    } else {
      auto slash = mount.mountpoint.rfind('/');
      e.target = mount.mountpoint.substr(slash + 1);
      if (e.target.empty()) continue;
    }
    if (!is_directory(e.host_dir)) continue;  // hierarchy not managed by nestbox-cgmgr
    entries.push_back(std::move(e));
  }
  return entries;
}

void setup_cgroup_view(const std::string& target, const std::vector<CgroupViewEntry>& entries,
                       const std::string& host_prefix) {
  for (const auto& e : entries) {
    if (e.target.empty() && e.cgroup2) {
      // Pure v2: the cgroup namespace makes the container's cgroup the mount root.
      // `target` is an empty directory (the container's /sys never holds the
      // host's cgroup mounts), so the mount goes straight on it.
      mount_fs("cgroup2", target, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC);
      make_read_only(target, false);
      return;
    }
  }
  mount_fs("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k");
  for (const auto& e : entries) {
    if (e.target.empty()) continue;
    const std::string dir = target + "/" + e.target;
    ensure_dir(dir);
    if (e.cgroup2)
      mount_fs("cgroup2", dir, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
    else
      bind_path(host_prefix + e.host_dir, dir, false, true);
  }
  make_read_only(target, false);
}

}  // namespace nestbox::launcher
