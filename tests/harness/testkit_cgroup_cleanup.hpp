// SPDX-License-Identifier: Apache-2.0
// Registry of live cgroup sandboxes and their signal-safe removal.
#pragma once

#include <string>

#include "nestbox/cgroup_tree.hpp"

namespace nestbox::testkit::detail {

// Every sandbox is a top-level cgroup whose name starts with this.
inline constexpr const char kSandboxPrefix[] = "/nestbox-test-";

// Adds a sandbox path ("/nestbox-test-...") to the registry cleaned at exit and on
// SIGINT/SIGTERM/SIGHUP (handlers installed on first use).
void register_sandbox(const std::string& path);
void unregister_sandbox(const std::string& path);
// Kills every process in the sandbox (all hierarchies, repeated until none is
// left) and removes its cgroups depth-first; keeps the sandbox root itself if
// keep_root. Refuses any path outside the sandbox prefix. Returns whether all
// directories are gone. Async-signal-safe after the first register_sandbox().
bool cleanup_sandbox(const char* path, bool keep_root);

// A test process that died without cleaning up (a sanitizer abort, SIGKILL)
// leaves its sandboxes behind; the first sandbox of the next test process
// removes them. Only names the testkit makes ("nestbox-test-<pid>-<n>") whose
// <pid> no longer exists are touched.
void remove_stale_sandboxes(const nestbox::CgroupTree& tree);

}  // namespace nestbox::testkit::detail
