// SPDX-License-Identifier: Apache-2.0
// A server: serves the FUSE connection whose /dev/fuse fd the supervisor passed
// (NESTBOX_FS_SERVE), until it is stopped (SIGTERM, SIGINT), the connection
// ends, or the supervisor asks it to drain because a newer server took over.
#pragma once

#include "options.hpp"

namespace nestbox::fs {

// `serve_env`: the value of NESTBOX_FS_SERVE ("<fuse fd>,<control socket fd>").
int serve(const Options& opts, const char* serve_env);

}  // namespace nestbox::fs
