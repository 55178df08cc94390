// SPDX-License-Identifier: Apache-2.0
#include "exit_status.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace nestbox::launcher {
namespace {

// Real wait statuses from real children, so the mapping is checked against the
// kernel's encoding rather than a re-derivation of it.
int status_of_child(void (*body)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(99);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(ExitStatus, NormalExitKeepsTheCode) {
  EXPECT_EQ(exit_code_from_wait_status(status_of_child([] { ::_exit(0); })), 0);
  EXPECT_EQ(exit_code_from_wait_status(status_of_child([] { ::_exit(3); })), 3);
  EXPECT_EQ(exit_code_from_wait_status(status_of_child([] { ::_exit(255); })), 255);
}

TEST(ExitStatus, SignalIs128PlusSignal) {
  EXPECT_EQ(exit_code_from_wait_status(status_of_child([] { ::raise(SIGKILL); })), 128 + SIGKILL);
  EXPECT_EQ(exit_code_from_wait_status(status_of_child([] {
              ::signal(SIGTERM, SIG_DFL);
              ::raise(SIGTERM);
            })),
            128 + SIGTERM);
}

TEST(ExitStatus, ExecErrors) {
  EXPECT_EQ(exit_code_for_exec_errno(ENOENT), kExitNotFound);
  EXPECT_EQ(exit_code_for_exec_errno(ENOTDIR), kExitNotFound);
  EXPECT_EQ(exit_code_for_exec_errno(EACCES), kExitNotExecutable);
  EXPECT_EQ(exit_code_for_exec_errno(ENOEXEC), kExitNotExecutable);
  EXPECT_EQ(kExitLauncherError, 125);
  EXPECT_EQ(kExitNotExecutable, 126);
  EXPECT_EQ(kExitNotFound, 127);
}

}  // namespace
}  // namespace nestbox::launcher
