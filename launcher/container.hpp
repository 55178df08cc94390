// SPDX-License-Identifier: Apache-2.0
// Starting a container: the plan the launcher prepares on the host side, and the
// two halves that carry it out (container.cpp in the launcher, container_child.cpp
// in the container's pid 1). See README.md (nestbox-run) for the sequence and the why.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bind_spec.hpp"
#include "options.hpp"

namespace nestbox::launcher {

// One cgroup hierarchy shown at /sys/fs/cgroup/<target> inside.
struct CgroupViewEntry {
  std::string target;    // "" = /sys/fs/cgroup itself (pure v2), else "memory", "unified", ...
  std::string host_dir;  // the container's cgroup directory in that hierarchy, on the host
  bool cgroup2 = false;  // mount a fresh cgroup2 (rooted at the cgroup namespace) instead of a bind
};

struct MountPlan {
  std::string rootfs = "/";   // host path (realpath)
  bool host_root = true;      // the host's / bound read-only
  std::vector<BindSpec> binds;                // sources are absolute host paths
  std::string fs_mount;                       // nestbox-fs mountpoint on the host
  std::vector<std::string> fs_files;          // "proc/meminfo", ... present in fs_mount
  std::string fs_tree;                        // nestbox-fs --container-tree mountpoint; "" = none
  bool new_net = true;                        // own network namespace (a fresh sysfs is allowed)
  std::string home;                           // host path (realpath) given a scratch overlay; "" = none
};

struct ProcessPlan {
  std::vector<std::string> command;
  std::vector<std::string> env;  // "K=V"
  std::string workdir = "/";
  bool tty = false;
};

struct ContainerPlan {
  std::string name;
  std::string hostname;
  bool new_net = true;
  bool enter_cgroup_ns = true;
  // ceil(--cpus): pid 1 pins itself to that many CPUs of its cpuset (0 = no
  // quota; see cpu_affinity.hpp).
  unsigned cpu_count = 0;
  // sysinfo(2) goes to the launcher (needs the container's cgroup).
  bool intercept_sysinfo = false;
  MountPlan mounts;
  ProcessPlan process;
};

// Runs the whole container (host side) and returns nestbox-run's exit code.
int run_container(const RunOptions& options);

// Runs inside the cloned child (pid 1 of the new pid namespace). `sync_fd` is the
// child's end of the launcher socket. Never returns.
[[noreturn]] void container_child_main(const ContainerPlan& plan, int sync_fd);

// In the forked command process (inside every namespace): session/terminal,
// working directory, capabilities, no_new_privs, seccomp (unless
// `filter_inherited`: the first command inherits pid 1's), then execvp. With
// `listener_socket`, the filter hands sysinfo to a supervisor and its listener
// is sent there ('S', setup_channel.hpp) before the exec. Exits 125 for a setup
// failure, 126/127 when the command cannot be executed.
[[noreturn]] void exec_in_container(const ProcessPlan& process, const std::string& slave_path,
                                    bool filter_inherited, int listener_socket = -1);

// The environment the command gets: the caller's, with `container=nestbox`,
// HOSTNAME, and the --env overrides applied last.
std::vector<std::string> build_environment(char** base, const std::string& hostname,
                                           const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace nestbox::launcher
