// SPDX-License-Identifier: Apache-2.0
// The setup socket between the launcher and the container's pid 1 (a
// SOCK_SEQPACKET pair, so every send is one whole message). A message is a
// one-byte tag, optional text and an optional fd (SCM_RIGHTS). The sequence:
//   pid 1 -> launcher   'N'        its mount, uts, ipc and net namespaces exist
//   launcher -> pid 1   'G' / 'g'  id maps written; setgroups() allowed / denied
//   launcher -> pid 1   'C' TEXT   pid 1 is in the container's cgroup; TEXT is
//                                  the cgroup view to mount (encode_cgroup_view)
//   pid 1 -> launcher   'S' [fd]   pid 1 runs under the seccomp filter (fd: its
//                                  sysinfo listener, when intercepted)
//   pid 1 -> launcher   'R' [fd]   the command runs (fd: the pty master, --tty)
// End of file instead of a message means the other side gave up (and said why
// on stderr).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "container.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

struct SetupMessage {
  char tag = 0;
  std::string text;
  UniqueFd fd;
};

// Messages are small; a longer text is refused rather than truncated.
inline constexpr std::size_t kMaxSetupText = 32 * 1024;

void send_setup_message(int socket, char tag, std::string_view text = {}, int fd = -1);
// nullopt on end of file. Throws on a truncated or malformed message.
std::optional<SetupMessage> receive_setup_message(int socket);

// The cgroup view as text, one hierarchy per line: TARGET TAB (0|1) TAB HOST_DIR.
// Throws Error(InvalidPath) for a path holding a tab or newline.
std::string encode_cgroup_view(const std::vector<CgroupViewEntry>& entries);
std::vector<CgroupViewEntry> decode_cgroup_view(std::string_view text);

}  // namespace nestbox::launcher
