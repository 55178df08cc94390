// SPDX-License-Identifier: Apache-2.0
#include "bind_view.hpp"

#include <fcntl.h>

#include <cerrno>

#include "mounts.hpp"
#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::hooks {

BindReport bind_view(const std::string& fs_mount, const std::vector<std::string>& files, const std::string& rootfs) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno(errno, "open the container root " + rootfs);
  BindReport report;
  for (const auto& rel : files) {
    UniqueFd target;
    try {
      target = launcher::resolve_in_root(root.get(), rel, /*create=*/false, /*last_is_file=*/false);
    } catch (const Error& e) {
      if (e.code() != Errc::NotFound) throw;
      report.absent.push_back(rel);
      continue;
    }
    // A detached copy of the file's mount, then attached on the resolved fd:
    // no path is looked up again between the check and the mount.
    UniqueFd tree = launcher::clone_tree(fs_mount + "/" + rel, /*recursive=*/false, /*read_only=*/false);
    launcher::attach_tree_at(tree.get(), target.get(), "/" + rel);
    report.bound.push_back(rel);
  }
  return report;
}

}  // namespace nestbox::hooks
