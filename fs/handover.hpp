// SPDX-License-Identifier: Apache-2.0
// The handover socket (--handover PATH): how a starting nestbox-fs takes the
// mounted connection over from a running one where no service manager keeps
// the fds across a restart (a DaemonSet's new pod starting beside the old one,
// both with the node's /var/lib/nestbox). The containers' bound files stay on
// the same connection: nothing is mounted anew and no reader sees an error.
// A SOCK_SEQPACKET unix socket of mode 0600; both sides check that the peer
// runs as their own uid (root).
//   new -> running   "take"
//   running -> new   "conn" with 4 fds: the /dev/fuse fd, the state memfd,
//                    the serving server's control socket and its pidfd (what
//                    the fd store holds, see fd_store.hpp); or "busy: <why>"
//                    with none (an upgrade is draining, say): try again later
//   new -> running   "done": the new supervisor's own server serves. The running
//                    one steps back: it holds the mount without unmounting it
//                    and waits for its stop; the new one drains its server.
// A link closed before "done" leaves everything with the running one.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "fd_store.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {

// ---- the side taking over -------------------------------------------------
struct HandedOver {
  UniqueFd link;  // open until confirm_takeover()
  StoredConnection connection;
};
// Asks whoever listens at `path`. nullopt when nobody does (no socket, or a
// stale one): mount anew. Throws Error when one listens but does not hand over
// (busy, another uid, a malformed answer, no answer within `timeout`).
std::optional<HandedOver> request_handover(const std::string& path, std::chrono::milliseconds timeout);
// "done". Throws Error if the running side is gone.
void confirm_takeover(int link);

// ---- the running side -----------------------------------------------------
// Binds and listens at `path` (replacing a socket file left there). Throws Error.
UniqueFd listen_for_handover(const std::string& path);
struct ConnectionFds {
  int fuse = -1, state = -1, ctl = -1, server = -1;
};
// Accepts one peer on `listener`. With `busy` empty it hands `fds` over and
// waits up to `timeout` for "done": true once the peer confirmed. Otherwise
// (busy, a peer of another uid, no "take", no "done") false, logged.
bool serve_handover(int listener, const ConnectionFds& fds, const std::string& busy,
                    std::chrono::milliseconds timeout);

}  // namespace nestbox::fs
