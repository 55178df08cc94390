// SPDX-License-Identifier: Apache-2.0
// pid 1's loop and the signal sets it shares with the launcher. Linked into
// both nestbox-run and the static nestbox-init, so it uses nothing but libc.
#include <sys/wait.h>

#include <cerrno>

#include "exit_status.hpp"
#include "init.hpp"

namespace nestbox::launcher {

const std::vector<int>& forwarded_signals() {
  static const std::vector<int> sigs = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  return sigs;
}

sigset_t supervised_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : forwarded_signals()) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  return set;
}

int run_init(pid_t command) {
  // The signals stay blocked (inherited from the launcher) and are taken with
  // sigwaitinfo: a blocked signal is queued even for a namespace init, which the
  // kernel otherwise shields from signals it has no handler for.
  const sigset_t set = supervised_signal_set();
  for (;;) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      return kExitLauncherError;
    }
    if (sig != SIGCHLD) {
      ::kill(command, sig);
      continue;
    }
    // SIGCHLD coalesces: reap everything that is ready.
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == command) return exit_code_from_wait_status(status);
    }
  }
}

}  // namespace nestbox::launcher
