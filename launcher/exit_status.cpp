// SPDX-License-Identifier: Apache-2.0
#include "exit_status.hpp"

#include <sys/wait.h>

#include <cerrno>

namespace nestbox::launcher {

int exit_code_from_wait_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  // Stopped/continued are not exits; callers only pass exit statuses here.
  return kExitLauncherError;
}

int exit_code_for_exec_errno(int err) noexcept {
  return (err == ENOENT || err == ENOTDIR) ? kExitNotFound : kExitNotExecutable;
}

}  // namespace nestbox::launcher
