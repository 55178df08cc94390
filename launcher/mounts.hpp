// SPDX-License-Identifier: Apache-2.0
// Small, throwing wrappers around the mount system calls the container setup uses.
// All run inside the container's own user and mount namespaces.
#pragma once

#include <string>

#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

// mount(2); throws Error naming the target.
void mount_fs(const std::string& source, const std::string& target, const std::string& type,
              unsigned long flags, const std::string& data = "");
// A detached copy of the mount tree at `source` (open_tree OPEN_TREE_CLONE),
// recursive when asked, optionally made read-only (recursively) before anyone can
// see it.
UniqueFd clone_tree(const std::string& source, bool recursive, bool read_only);
// Attaches a detached tree on a path or on an O_PATH fd (move_mount).
void attach_tree(int tree_fd, const std::string& target);
void attach_tree_at(int tree_fd, int target_fd, const std::string& target_name);
// bind = clone_tree + attach_tree.
void bind_path(const std::string& source, const std::string& target, bool recursive, bool read_only);
// Makes an attached mount (and its children when recursive) read-only without
// touching its other, possibly locked, flags (mount_setattr).
void make_read_only(const std::string& target, bool recursive);

// Resolves `rel` (no leading '/') below `root_fd` refusing any escape (symlinks
// that leave the root, "..", magic links) and returns an O_PATH fd. Missing
// components are created (directories; the last one as a file when
// `last_is_file`) if `create`. Throws Error(InvalidPath) on an escape, NotFound
// or the creation error otherwise.
UniqueFd resolve_in_root(int root_fd, const std::string& rel, bool create, bool last_is_file);

// Whether path exists (lstat). Never throws.
bool path_exists(const std::string& path) noexcept;
bool is_directory(const std::string& path) noexcept;
// mkdir that tolerates EEXIST.
void ensure_dir(const std::string& path, unsigned mode = 0755);
// Creates an empty regular file (for file bind mount points) if missing.
void ensure_file(const std::string& path);

}  // namespace nestbox::launcher
