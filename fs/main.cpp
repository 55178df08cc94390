// SPDX-License-Identifier: Apache-2.0
// nestbox-fs: mounts the container-virtualized /proc, /sys and cgroup view.
// Started by a user or a service manager it is the supervisor (supervisor.hpp),
// which runs the server (server.hpp) as its child on the mount's connection.
#include <cstdio>
#include <cstdlib>

#include "handoff.hpp"
#include "nestbox/logging.hpp"
#include "options.hpp"
#include "server.hpp"
#include "supervisor.hpp"

int main(int argc, char** argv) {
  int exit_code = 0;
  auto opts = nestbox::fs::parse_options(argc, argv, exit_code);
  if (!opts) return exit_code;
  try {
    nestbox::init_logging("nestbox-fs", opts->log_level);
    if (const char* serve = std::getenv(nestbox::fs::kServeEnv)) return nestbox::fs::serve(*opts, serve);
    return nestbox::fs::supervise(*opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nestbox-fs: %s\n", e.what());
    return 1;
  }
}
