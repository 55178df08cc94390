// SPDX-License-Identifier: Apache-2.0
// What a login program does with PAM's session stack, for the pam_nestbox
// tests: run as root, opens a session of USER with the service SERVICE read
// from CONFDIR (not /etc/pam.d), prints "open=<pam result>" and the process's
// /proc/self/cgroup as the session sees it, runs `sh -c COMMAND` in the
// session (as root, like a shell su would start; optional) and prints
// "command_exit=<status>", closes the session and prints "close=<pam result>".
//
//   nestbox_pam_probe CONFDIR SERVICE USER [COMMAND]
#include <security/pam_appl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

int no_conversation(int, const pam_message**, pam_response**, void*) { return PAM_CONV_ERR; }

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: nestbox_pam_probe CONFDIR SERVICE USER [COMMAND]\n");
    return 2;
  }
  const pam_conv conv{no_conversation, nullptr};
  pam_handle_t* pamh = nullptr;
  int r = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
  if (r != PAM_SUCCESS) {
    std::fprintf(stderr, "pam_start: %d\n", r);
    return 1;
  }
  r = pam_open_session(pamh, 0);
  std::cout << "open=" << pam_strerror(pamh, r) << "\n";
  std::ifstream cg("/proc/self/cgroup");
  std::stringstream text;
  text << cg.rdbuf();
  std::cout << text.str() << std::flush;
  if (argc == 5) {
    const pid_t child = ::fork();
    if (child == 0) {
      ::execl("/bin/sh", "sh", "-c", argv[4], static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    std::cout << "command_exit=" << (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) << "\n";
  }
  r = pam_close_session(pamh, 0);
  std::cout << "close=" << pam_strerror(pamh, r) << "\n";
  pam_end(pamh, r);
  return 0;
}
