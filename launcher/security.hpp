// What the command may still do once it runs: a documented capability set, no
// new privileges through exec, and a seccomp filter that refuses the well-known
// escape and host-tampering system calls with EPERM. The lists are in
// security.cpp and README.md (nestbox-run).
#pragma once

#include <string>
#include <vector>

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
void load_seccomp_filter();

}  // namespace nestbox::launcher
