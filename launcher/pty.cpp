// SPDX-License-Identifier: Apache-2.0
#include "pty.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nestbox/error.hpp"

namespace nestbox::launcher {

UniqueFd open_pty_master(std::string* slave_path) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) throw_errno(errno, "cannot open /dev/ptmx");
  if (::unlockpt(master.get()) != 0) throw_errno(errno, "unlockpt");
  char name[64];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno(errno, "ptsname");
  *slave_path = name;
  return master;
}

void attach_to_slave(const std::string& slave_path) {
  if (::setsid() < 0) throw_errno(errno, "setsid");
  int slave = ::open(slave_path.c_str(), O_RDWR);
  if (slave < 0) throw_errno(errno, "cannot open " + slave_path);
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) throw_errno(errno, "cannot make " + slave_path + " the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave, fd) < 0) throw_errno(errno, "dup2");
  if (slave > 2) ::close(slave);
}

RawMode::RawMode(int fd) : fd_(fd) {
  struct termios t {};
  if (::tcgetattr(fd_, &t) != 0) return;  // not a terminal: nothing to do
  saved_ = t;
  ::cfmakeraw(&t);
  ::tcsetattr(fd_, TCSAFLUSH, &t);
}

RawMode::~RawMode() {
  if (saved_) ::tcsetattr(fd_, TCSAFLUSH, &*saved_);
}

void copy_window_size(int from, int to) noexcept {
  struct winsize ws {};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

}  // namespace nestbox::launcher
