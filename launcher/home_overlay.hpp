// SPDX-License-Identifier: Apache-2.0
// A writable $HOME whose changes are thrown away with the container. Programs
// write caches and preferences under $HOME (go build, pip install --user,
// jshell) or in the working directory (stress-ng): on the read-only host root
// they fail. An overlay keeps the user's files visible and takes every write on
// a tmpfs layer private to the container.
#pragma once

#include <string>

namespace nestbox::launcher {

// Mounts an overlay on `target` (a directory of the new root) with the host's
// directory `host_dir` as its read-only lower layer and an upper layer in
// `scratch`, a directory of the setup's scratch tmpfs that is created here and
// detached with the old root (so nothing in the container can reach the
// layers, only the merged view). Returns false after a warning on stderr when
// the kernel refuses (the container then runs with a read-only $HOME).
bool mount_scratch_overlay(const std::string& host_dir, const std::string& target, const std::string& scratch);

}  // namespace nestbox::launcher
