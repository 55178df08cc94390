// SPDX-License-Identifier: Apache-2.0
#include "netns.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

void bring_up_loopback() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno(errno, "socket for the loopback interface");
  struct ifreq req {};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) throw_errno(errno, "cannot read the flags of lo");
  req.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) throw_errno(errno, "cannot bring lo up");
}

}  // namespace nestbox::launcher
