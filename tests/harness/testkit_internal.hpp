// SPDX-License-Identifier: Apache-2.0
// Pieces shared by the testkit's own source files (not part of the test API).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "testkit.hpp"

namespace nestbox::testkit::detail {

// One mounted cgroup hierarchy as seen in /proc/self/mountinfo.
struct CgroupMountPoint {
  std::string mountpoint;  // "/sys/fs/cgroup/memory"
  std::string root;        // hierarchy path the mount shows ("/" on the host)
  bool unified = false;
};
// Every cgroup/cgroup2 mount of this mount namespace (first mount of each root path).
std::vector<CgroupMountPoint> cgroup_mounts();
// Directories that hold cgroup `path` in each hierarchy where it exists.
std::vector<std::string> cgroup_dirs(const nestbox::CgroupPath& path);

// Mount points of /proc/self/mountinfo (octal escapes decoded), in mount order.
std::vector<std::string> mount_points();

// How to start a process. Everything the child needs is computed before fork(),
// so the child only makes async-signal-safe calls.
struct SpawnSpec {
  std::vector<std::string> argv;
  RunOptions options;
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: inherit
  int stderr_fd = -1;  // -1: inherit
  // Extra descriptors to hand over: (fd in parent, fd number in child).
  std::vector<std::pair<int, int>> extra_fds;
};
// fork + exec; throws std::runtime_error (with the child's reason) if the
// child could not be set up or exec failed. The child leads its own process group.
pid_t spawn(const SpawnSpec& spec);

// Exit status as exit code, or 128+signal.
int decode_status(int status);
// Waits for `pid` up to `timeout_ms` (-1: forever). Returns the decoded status or -1 on timeout.
int wait_pid(pid_t pid, int timeout_ms);
// SIGKILL the process (and its group if it leads one) and reap it.
int kill_and_reap(pid_t pid);
// Polite stop: SIGTERM, wait up to `grace_ms`, then SIGKILL; always reaps.
int terminate_and_reap(pid_t pid, int grace_ms);

// pidfd_open(2).
int pidfd_open(pid_t pid);

// Absolute path of a program found in PATH (or empty).
std::string find_in_path(const std::string& name, const std::string& path_env = "");

// Reads a whole regular file ("" if it cannot be opened).
std::string slurp(const std::string& path);

}  // namespace nestbox::testkit::detail
