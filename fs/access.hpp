// SPDX-License-Identifier: Apache-2.0
// Permission rules of the cgroup view. The daemon runs as root, so it re-applies
// the checks the kernel would apply to the reader itself: classic DAC against the
// real cgroupfs file, and for moving a process the cgroup delegation containment
// rule (see README.md (nestbox-fs) and Documentation/admin-guide/cgroup-v2.rst).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <vector>

#include "nestbox/cgroup_path.hpp"

namespace nestbox::fs {

struct Cred {
  pid_t pid = 0;  // thread id in the daemon's pid namespace
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
};

enum Access : int { kRead = 4, kWrite = 2, kExec = 1 };

// Whether `cred` may access a file with `st` for `want` (a mask of Access bits).
// Root may read and write anything and search directories, as with the real files.
bool dac_allows(const struct stat& st, const Cred& cred, int want);

struct MoveRequest {
  Cred writer;
  uid_t target_ruid = 0;       // real and saved uid of the process being moved
  uid_t target_suid = 0;
  CgroupPath view_root;        // the writer's own cgroup in this hierarchy
  CgroupPath source;           // where the process is now
  CgroupPath destination;      // the cgroup whose cgroup.procs/tasks is written
};

// Throws Error(PermissionDenied) naming the broken rule unless:
//  - the writer is root, or its uid equals the target's real or saved uid;
//  - source and destination are both inside the writer's view;
//  - `may_write_procs(common ancestor)` (the writer may write the common
//    ancestor's cgroup.procs).
void check_move(const MoveRequest& request,
                const std::function<bool(const CgroupPath&)>& may_write_procs);

}  // namespace nestbox::fs
