// SPDX-License-Identifier: Apache-2.0
// File access below a directory fd that cannot escape it.
//
// open_beneath() uses openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS); on kernels without openat2 (ENOSYS) it walks the path
// one component at a time with O_NOFOLLOW, refusing "..", "." and symlinks.
// Either way a path can never name anything outside `dirfd`.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "nestbox/unique_fd.hpp"

namespace nestbox {

// `rel` is relative ("a/b/memory.max", "" or "." for dirfd itself). Throws Error
// (NotFound, PermissionDenied, InvalidPath for an escape attempt, ...).
UniqueFd open_beneath(int dirfd, std::string_view rel, int flags, mode_t mode = 0);
// Same as open_beneath but returns an invalid fd on ENOENT instead of throwing.
UniqueFd try_open_beneath(int dirfd, std::string_view rel, int flags, mode_t mode = 0);
// Forces the component-walk fallback (exposed for tests).
UniqueFd open_beneath_walk(int dirfd, std::string_view rel, int flags, mode_t mode = 0);

// Reads a whole (small, pseudo-)file from its start.
std::string read_fd(int fd);
// Reads `rel` below dirfd; nullopt if it does not exist.
std::optional<std::string> read_file_beneath(int dirfd, std::string_view rel);
// Writes `data` with one write() (cgroup files want a single write), O_WRONLY|O_TRUNC|O_CLOEXEC.
void write_file_beneath(int dirfd, std::string_view rel, std::string_view data);
// Opens a directory (O_PATH|O_DIRECTORY|O_CLOEXEC) by absolute path.
UniqueFd open_directory(const std::string& path);

}  // namespace nestbox
