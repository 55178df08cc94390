// SPDX-License-Identifier: Apache-2.0
// The supervisor: the process nestbox-fs starts as. It mounts, holds the
// connection's /dev/fuse fd and the INIT request the kernel negotiated it with,
// and runs the server as a child that it hands both to. The connection, and so
// every container's bound files, lives as long as the supervisor does:
//  - a server that dies (crash, kill -9) is restarted on the same connection,
//    and the kernel is asked to queue again what the dead one had read;
//  - SIGUSR1 (systemctl reload) starts the binary now at the supervisor's path
//    as a new server; only once it reports ready is the old one told to drain
//    and exit, so a new binary that does not start changes nothing;
//  - with --handover SOCKET, a supervisor started later asks for the connection
//    there (handover.hpp): it gets the fds, its server serves, ours drains,
//    and this one steps back and unmounts nothing when it is stopped;
//  - SIGTERM/SIGINT stop the server and unmount.
// It does little else, so that it has little reason to fail or to be upgraded.
#pragma once

#include "options.hpp"

namespace nestbox::fs {

int supervise(const Options& opts);

}  // namespace nestbox::fs
