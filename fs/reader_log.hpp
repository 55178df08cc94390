// SPDX-License-Identifier: Apache-2.0
// The log lines readers can provoke (refused and failed requests, a full node
// share, a host-file fallback) go through one limiter per server, so a reader
// that floods the mount with bad requests writes a few lines a minute per cause,
// not one per request. Causes that name a uid keep one user's flood from
// silencing the lines about others.
#pragma once

#include "nestbox/log_limit.hpp"

namespace nestbox::fs {

// 10 lines per cause per minute, 256 causes at most (see log_limit.hpp).
LogLimiter& reader_log();

}  // namespace nestbox::fs
