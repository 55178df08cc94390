// SPDX-License-Identifier: Apache-2.0
// Binding nestbox-fs's files over a container root's procfs/sysfs twins, from
// inside the container's mount namespace before it pivots (an OCI
// createContainer hook, an LXC mount hook).
#pragma once

#include <string>
#include <vector>

namespace nestbox::hooks {

struct BindReport {
  std::vector<std::string> bound;   // relative paths now served by nestbox-fs
  std::vector<std::string> absent;  // not in the container (e.g. no /sys mounted): left alone
};

// Binds `fs_mount`/F onto `rootfs`/F for each F of `files`. Targets are
// resolved beneath `rootfs` (a symlink of the image's cannot redirect a bind
// outside it). Throws Error naming the file on the first bind that fails.
BindReport bind_view(const std::string& fs_mount, const std::vector<std::string>& files, const std::string& rootfs);

}  // namespace nestbox::hooks
