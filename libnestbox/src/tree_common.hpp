// SPDX-License-Identifier: Apache-2.0
// Pieces both backends share (internal).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "hierarchy.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/resources.hpp"

namespace nestbox::detail {

void check_pid(pid_t pid);
// The controller prefix of an interface file name ("memory" for "memory.max",
// "cgroup" for "cgroup.procs" and the v1 core files "tasks", "notify_on_release").
std::string file_controller(std::string_view file);
// Changes the owner of `dir` itself (when `file` is empty) or of one file in it,
// through the directory fd; returns false if the file does not exist.
bool chown_entry(const CgroupDir& dir, std::string_view file, uid_t uid, gid_t gid,
                 std::vector<DelegatedEntry>& changed);
// Names listed in the kernel's delegate file (one per line); missing file -> {}.
std::vector<std::string> read_delegate_list(const std::string& delegate_file);
// PSI resource names accepted by pressure().
void check_pressure_resource(std::string_view resource);
// kill_all()'s walk: SIGKILL to each process below `path` that is still there
// once pinned by a pidfd, until none is left (Busy after 200 rounds).
void kill_walk(const CgroupTree& tree, const CgroupPath& path);

}  // namespace nestbox::detail
