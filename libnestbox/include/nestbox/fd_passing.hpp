// SPDX-License-Identifier: Apache-2.0
// One message of bytes with open file descriptors (SCM_RIGHTS) over a unix
// socket: the launcher's setup socket with its container's pid 1, nestbox-fs's
// handover of a FUSE connection between two supervisors. On a SOCK_SEQPACKET
// socket every send is one whole message.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/unique_fd.hpp"

namespace nestbox {

struct FdMessage {
  std::string bytes;
  std::vector<UniqueFd> fds;
};

// At most kMaxPassedFds fds. Throws Error (the errno of sendmsg; EPIPE when
// the peer is gone: no SIGPIPE is raised).
inline constexpr std::size_t kMaxPassedFds = 8;
void send_fds(int socket, std::string_view bytes, std::span<const int> fds = {});
// nullopt on end of file. Received fds are close-on-exec and owned by the
// result, also when the message is refused: throws Error(InvalidValue) for a
// message longer than max_bytes or carrying more than max_fds.
std::optional<FdMessage> receive_fds(int socket, std::size_t max_bytes, std::size_t max_fds);

}  // namespace nestbox
