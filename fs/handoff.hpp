// SPDX-License-Identifier: Apache-2.0
// What the supervisor and a server child tell each other over the child's
// control socket (a socketpair; the child finds its ends in NESTBOX_FS_SERVE):
//   supervisor -> child, at start: the epoch and the saved INIT request (empty
//                                   for the first server of a mount);
//   child -> supervisor:            ready, with the INIT request it served;
//   supervisor -> child:            drain (a newer server has taken over).
// A closed socket means the other side is gone.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace nestbox::fs {

inline constexpr const char* kServeEnv = "NESTBOX_FS_SERVE";

struct Hello {
  std::uint16_t epoch = 1;
  std::string init;
};

bool send_hello(int sock, const Hello& hello);
std::optional<Hello> recv_hello(int sock);
bool send_ready(int sock, const std::string& init);
// nullopt when the child closed the socket (it died) or `timeout` passed.
std::optional<std::string> recv_ready(int sock, std::chrono::milliseconds timeout);
bool send_drain(int sock);
// Blocks until the supervisor asks for a drain (true) or is gone (false).
bool wait_drain(int sock);

}  // namespace nestbox::fs
