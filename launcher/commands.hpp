// SPDX-License-Identifier: Apache-2.0
// The subcommands besides running a container.
#pragma once

#include "options.hpp"

namespace nestbox::launcher {

// `nestbox-run list [--json]`; returns the exit code.
int run_list(const ListOptions& options);
// `nestbox-run exec NAME -- CMD`; returns the command's exit code.
int run_exec(const ExecOptions& options);

// The state directory of the calling user.
std::string user_state_dir();

}  // namespace nestbox::launcher
