// SPDX-License-Identifier: Apache-2.0
#include "setup_channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::launcher {

void send_setup_message(int socket, char tag, std::string_view text, int fd) {
  if (text.size() > kMaxSetupText) throw Error(Errc::InvalidValue, "setup message too long");
  struct iovec iov[2] = {{&tag, 1}, {const_cast<char*>(text.data()), text.size()}};
  struct msghdr msg {};
  msg.msg_iov = iov;
  msg.msg_iovlen = text.empty() ? 1 : 2;
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
    if (errno != EINTR) throw_errno(errno, "setup socket: send");
}

std::optional<SetupMessage> receive_setup_message(int socket) {
  std::string buf(1 + kMaxSetupText, '\0');
  struct iovec iov {buf.data(), buf.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) throw_errno(errno, "setup socket: receive");
  SetupMessage out;
  // Take ownership of a passed fd first, so it is closed on every error below.
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(cm), sizeof(int));
      out.fd.reset(received);
    }
  }
  if (n == 0) return std::nullopt;
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) throw Error(Errc::InvalidValue, "setup socket: message truncated");
  out.tag = buf[0];
  out.text.assign(buf.data() + 1, static_cast<std::size_t>(n) - 1);
  return out;
}

std::string encode_cgroup_view(const std::vector<CgroupViewEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    for (const std::string* s : {&e.target, &e.host_dir})
      if (s->find_first_of("\t\n") != std::string::npos)
        throw Error(Errc::InvalidPath, "cgroup path with a tab or newline: " + *s);
    out += e.target + '\t' + (e.cgroup2 ? '1' : '0') + '\t' + e.host_dir + '\n';
  }
  return out;
}

std::vector<CgroupViewEntry> decode_cgroup_view(std::string_view text) {
  if (!text.empty() && text.back() != '\n') throw Error(Errc::InvalidValue, "cgroup view: unterminated line");
  std::vector<CgroupViewEntry> out;
  for (const std::string_view line : split_lines(text)) {
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos || tab2 != tab1 + 2 || (line[tab1 + 1] != '0' && line[tab1 + 1] != '1'))
      throw Error(Errc::InvalidValue, "cgroup view: malformed line");
    CgroupViewEntry e;
    e.target = std::string(line.substr(0, tab1));
    e.cgroup2 = line[tab1 + 1] == '1';
    e.host_dir = std::string(line.substr(tab2 + 1));
    if (e.host_dir.empty() || e.host_dir.front() != '/')
      throw Error(Errc::InvalidValue, "cgroup view: host directory is not absolute");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace nestbox::launcher
