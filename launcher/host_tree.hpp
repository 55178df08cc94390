// SPDX-License-Identifier: Apache-2.0
// Copies of host directory trees that leave chosen subtrees out. A mount
// namespace made inside a user namespace locks every mount it inherited to its
// parent, so a host mount cannot be unmounted or bound without the mounts below
// it; the only way to keep one (say, the host's /sys/fs/cgroup/*) out of the
// container is never to clone it. These helpers rebuild a directory on a fresh
// tmpfs, entry by entry: each entry is a recursive clone of the host's, except
// the entries on the way to an excluded path, which are rebuilt the same way
// one level down, and the excluded paths themselves, which become empty
// directories (mount points for what replaces them).
#pragma once

#include <string>
#include <vector>

namespace nestbox::launcher {

// Mounts a tmpfs on `dst` (an existing directory) and fills it with the entries
// of the host directory `src`: directories as read-only recursive clones, regular
// files as read-only binds, symlinks recreated. `excluded` holds paths relative
// to `src` ("proc", "sys/fs/cgroup") that get only an empty directory. The tmpfs
// itself stays writable; the caller makes it read-only once its own mount points
// exist.
void copy_tree_without(const std::string& src, const std::string& dst, const std::vector<std::string>& excluded);

}  // namespace nestbox::launcher
