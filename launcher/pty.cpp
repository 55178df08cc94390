#include "pty.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nestbox/error.hpp"

namespace nestbox::launcher {

void send_message(int socket, char byte, int fd) {
  struct msghdr msg {};
  struct iovec iov {&byte, 1};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  }
  while (::sendmsg(socket, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) throw_errno(errno, "cannot talk to the launcher");
}

std::optional<char> receive_message(int socket, UniqueFd* fd) {
  char byte = 0;
  struct msghdr msg {};
  struct iovec iov {&byte, 1};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) throw_errno(errno, "cannot read from the setup socket");
  if (n == 0) return std::nullopt;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(cm), sizeof(int));
      if (fd)
        fd->reset(received);
      else
        ::close(received);
    }
  }
  return byte;
}

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
