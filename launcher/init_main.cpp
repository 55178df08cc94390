// SPDX-License-Identifier: Apache-2.0
// nestbox-init: the container's pid 1 once the start sequence is over.
//
// pid 1 runs with the command's uid, so only the kernel's dumpable check keeps
// the command from ptracing it. A process that is not dumpable can be traced
// only by a holder of CAP_SYS_PTRACE in the user namespace its program was
// executed in. That is why pid 1 executes this program instead of going on as
// a fork of the launcher:
//   - executed inside the container's user namespace, the image belongs to it:
//     the user outside (its owner) may still open /proc/<pid 1>/ns/* for
//     `nestbox-run exec`, while the command (no capabilities) may not trace it;
//   - statically linked, it runs whatever the container's root holds.
// argv: nestbox-init CONTAINER COMMAND_PID RELEASE_FD
//   CONTAINER    the container's name (shown by ps; nothing else)
//   COMMAND_PID  the command, forked by pid 1 and held before its exec
//   RELEASE_FD   the write end of a pipe the command waits on: one byte once
//                pid 1 is not dumpable, so the command never runs while it is
//                (end of file without the byte: pid 1 failed, the command quits).
// Everything else is inherited: the blocked signal mask, the seccomp filter,
// no_new_privs, no capabilities, the open pty slave (see container_child.cpp).
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "exit_status.hpp"
#include "init.hpp"

namespace {

bool parse_int(const char* s, long min, long max, long* out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nestbox::launcher;
  long command = 0, release = 0;
  if (argc != 4 || !parse_int(argv[2], 1, INT_MAX, &command) || !parse_int(argv[3], 0, INT_MAX, &release)) {
    std::fprintf(stderr, "nestbox-init: started by nestbox-run only (usage: nestbox-init NAME PID FD)\n");
    return kExitLauncherError;
  }
  // 1. Not dumpable before the command runs: the kernel then refuses the
  //    command's PTRACE_ATTACH/SEIZE and its opens of /proc/1/mem.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::perror("nestbox-init: PR_SET_DUMPABLE");
    return kExitLauncherError;
  }
  // 2. Let the command go on to its exec.
  const char go = 'g';
  ssize_t n;
  do n = ::write(static_cast<int>(release), &go, 1);
  while (n < 0 && errno == EINTR);
  ::close(static_cast<int>(release));
  if (n != 1) {
    std::perror("nestbox-init: cannot release the command");
    return kExitLauncherError;
  }
  // 3. Reap and forward until the command exits.
  return run_init(static_cast<pid_t>(command));
}
