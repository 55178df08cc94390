// SPDX-License-Identifier: Apache-2.0
#include "supervise.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "exit_status.hpp"
#include "init.hpp"
#include "nestbox/error.hpp"
#include "pty.hpp"
#include "sysinfo_supervisor.hpp"

namespace nestbox::launcher {
namespace {

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p {fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Copies what is readable from `from` to `to`; false on EOF/error.
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  write_all(to, buf, static_cast<std::size_t>(n));
  return true;
}

}  // namespace

int supervise(pid_t child, UniqueFd master, SysinfoSupervisor* sysinfo) {
  sigset_t set = supervised_signal_set();
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) throw_errno(errno, "signalfd");
  const bool tty = static_cast<bool>(master);
  std::optional<RawMode> raw;
  bool stdin_open = tty;
  if (tty) {
    ::signal(SIGPIPE, SIG_IGN);
    ::fcntl(master.get(), F_SETFL, ::fcntl(master.get(), F_GETFL) | O_NONBLOCK);
    copy_window_size(::isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, master.get());
    if (::isatty(STDIN_FILENO)) raw.emplace(STDIN_FILENO);
  }
  std::optional<int> code;
  while (!code) {
    struct pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {sfd.get(), POLLIN, 0};
    const nfds_t sysinfo_slot = sysinfo ? n : 99;
    if (sysinfo) fds[n++] = {sysinfo->fd(), POLLIN, 0};
    const nfds_t master_slot = master ? n : 99;
    if (master) fds[n++] = {master.get(), POLLIN, 0};
    const nfds_t stdin_slot = stdin_open ? n : 99;
    if (stdin_open) fds[n++] = {STDIN_FILENO, POLLIN, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "poll");
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si {};
      while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          int status = 0;
          pid_t r = ::waitpid(child, &status, WNOHANG);
          if (r == child) code = exit_code_from_wait_status(status);
        } else if (sig == SIGWINCH && tty) {
          // The kernel signals the pty's foreground group itself.
          copy_window_size(::isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, master.get());
        } else {
          ::kill(child, sig);
        }
      }
    }
    if (sysinfo_slot != 99) {
      const short re = fds[sysinfo_slot].revents;
      if (re & POLLIN) sysinfo->handle_one();
      // POLLHUP: every task under the filter is gone; the child's exit follows.
      if (re & (POLLHUP | POLLERR | POLLNVAL)) sysinfo = nullptr;
    }
    if (master_slot != 99) {
      const short re = fds[master_slot].revents;
      if (re & POLLIN) {
        if (!pump(master.get(), STDOUT_FILENO)) master.reset();
      } else if (re & (POLLHUP | POLLERR)) {
        master.reset();
      }
    }
    if (stdin_slot != 99 && (fds[stdin_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (!pump(STDIN_FILENO, master ? master.get() : -1)) {
        stdin_open = false;
        // Input ended (a pipe, not a terminal): pass an end-of-file to the
        // terminal's line discipline, as typing ^D would.
        if (master) write_all(master.get(), "\x04", 1);
      }
    }
  }
  // Whatever the command wrote last is still buffered in the pty.
  if (master)
    while (pump(master.get(), STDOUT_FILENO)) {
      struct pollfd p {master.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
    }
  return *code;
}

}  // namespace nestbox::launcher
