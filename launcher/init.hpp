// SPDX-License-Identifier: Apache-2.0
// The container's pid 1: reaps every orphan that lands on it and passes the
// signals a supervisor sends (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
// SIGWINCH) on to the command. Its exit status is the command's (128+N for a
// signal); when it exits the kernel kills whatever else is left in the pid
// namespace.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <vector>

namespace nestbox::launcher {

// The signals forwarded by the launcher to pid 1 and by pid 1 to the command.
const std::vector<int>& forwarded_signals();
// forwarded_signals() + SIGCHLD: blocked in the launcher before cloning so that
// nothing is lost between clone and the loops that consume them.
sigset_t supervised_signal_set();
// Blocks supervised_signal_set() in the calling thread; returns the old mask.
sigset_t block_supervised_signals();

// pid 1's loop; returns the exit code for `command` once it has exited.
int run_init(pid_t command);

}  // namespace nestbox::launcher
