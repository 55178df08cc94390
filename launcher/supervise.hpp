// SPDX-License-Identifier: Apache-2.0
// The launcher's wait loop: forwards signals to the child it started, proxies
// the terminal in --tty mode, and returns the child's exit code.
#pragma once

#include <sys/types.h>

#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

// The supervised signals must already be blocked (block_supervised_signals()).
// `master` is the pty master for --tty (invalid otherwise). `sysinfo`, when
// given, is served between the other events (see sysinfo_supervisor.hpp).
class SysinfoSupervisor;
int supervise(pid_t child, UniqueFd master, SysinfoSupervisor* sysinfo = nullptr);

}  // namespace nestbox::launcher
