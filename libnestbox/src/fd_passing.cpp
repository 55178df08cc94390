// SPDX-License-Identifier: Apache-2.0
#include "nestbox/fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "nestbox/error.hpp"

namespace nestbox {

void send_fds(int socket, std::string_view bytes, std::span<const int> fds) {
  if (fds.size() > kMaxPassedFds) throw Error(Errc::InvalidValue, "too many fds for one message");
  struct iovec iov {const_cast<char*>(bytes.data()), bytes.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  }
  while (::sendmsg(socket, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) throw_errno(errno, "socket: send");
}

std::optional<FdMessage> receive_fds(int socket, std::size_t max_bytes, std::size_t max_fds) {
  // One byte more than allowed, so that an overlong message shows as such
  // on a stream socket too.
  std::string buf(max_bytes + 1, '\0');
  struct iovec iov {buf.data(), buf.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) throw_errno(errno, "socket: receive");
  FdMessage out;
  // Own every passed fd first, so each is closed on every error below.
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      out.fds.emplace_back(fd);
    }
  }
  if (n == 0) return std::nullopt;  // end of file (we never send empty messages)
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || static_cast<std::size_t>(n) > max_bytes)
    throw Error(Errc::InvalidValue, "socket: message truncated or too long");
  if (out.fds.size() > max_fds) throw Error(Errc::InvalidValue, "socket: more fds than expected");
  out.bytes.assign(buf.data(), static_cast<std::size_t>(n));
  return out;
}

}  // namespace nestbox
