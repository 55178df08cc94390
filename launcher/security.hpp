// SPDX-License-Identifier: Apache-2.0
// What the command may still do once it runs: a documented capability set, no
// new privileges through exec, and a seccomp filter that refuses the well-known
// escape and host-tampering system calls with EPERM. The lists are in
// security.cpp and README.md (nestbox-run).
#pragma once

#include <string>
#include <vector>

#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

// Names of the capabilities the command keeps (within its user namespace).
std::vector<std::string> default_capability_names();
// Drops every other capability from the bounding, ambient, inheritable,
// permitted and effective sets (libcap). Throws Error.
void drop_capabilities();
// Drops all capabilities (the container's init needs none once set up).
void drop_all_capabilities();
// prctl(PR_SET_NO_NEW_PRIVS): setuid binaries inside cannot gain anything.
void set_no_new_privs();
// Names of the system calls the filter refuses outright.
std::vector<std::string> blocked_syscall_names();
// Loads the filter (libseccomp). Throws Error.
// With `notify_sysinfo`, sysinfo(2) is not run by the kernel but handed to a
// supervisor (SECCOMP_RET_USER_NOTIF, see sysinfo_supervisor.hpp) and the
// listener fd is returned; without it (or on a kernel that lacks user
// notification) the fd is empty and sysinfo runs natively.
// pid 1 loads the filter with the listener before it forks the command, which
// inherits it: both run under the same filter.
UniqueFd load_seccomp_filter(bool notify_sysinfo = false);

}  // namespace nestbox::launcher
