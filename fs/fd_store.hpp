// SPDX-License-Identifier: Apache-2.0
// The service manager's fd store (sd_pid_notify_with_fds "FDSTORE=1"): what a
// supervisor keeps there so that, if it dies, the one systemd restarts adopts
// the running connection instead of mounting a new one. Every container's bound
// files then stay connected across a supervisor's crash too:
//  - "fuse": the mount's /dev/fuse fd (the connection lives while it is open);
//  - "state": a memfd holding the last epoch handed out and the kernel's INIT,
//    rewritten before every server start, so epochs never repeat on the
//    connection (stale node ids are told apart by them);
//  - "ctl": the supervisor's end of the serving server's control socket (held
//    by systemd too, the server does not see EOF when the supervisor dies, and
//    the next supervisor can ask it to drain);
//  - "server": a pidfd of that server, to see when it has exited.
// Without a service manager (NOTIFY_SOCKET unset) nothing is stored and
// nothing is handed back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {

struct SupervisorState {
  std::uint16_t epoch = 0;
  std::string init;
};
std::string encode_state(const SupervisorState& s);
// nullopt for anything that is not what encode_state wrote.
std::optional<SupervisorState> decode_state(const std::string& text);

struct StoredConnection {
  UniqueFd fuse, state, ctl, server;
};

class FdStore {
 public:
  // Whether a service manager listens (and so keeps what is stored).
  static bool available();
  // The fds the service manager handed this process at start (LISTEN_FDS with
  // names; the environment is cleared). Any fd with an unknown name is closed.
  static StoredConnection take();
  // Stores `fd` under `name`, replacing what was stored under it.
  static void put(const char* name, int fd);
  static void remove(const char* name);
};

// A memfd holding `s` (the "state" entry); rewrite() replaces its content in place.
UniqueFd make_state_memfd(const SupervisorState& s);
bool rewrite_state(int memfd, const SupervisorState& s);
std::optional<SupervisorState> read_state(int memfd);

}  // namespace nestbox::fs
