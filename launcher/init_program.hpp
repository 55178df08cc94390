// SPDX-License-Identifier: Apache-2.0
// Where the container's pid 1 finds nestbox-init (see init_main.cpp).
#pragma once

#include <sys/types.h>

#include <string>

#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

// An O_PATH descriptor of nestbox-init: beside the running nestbox-run, else in
// the install's libexec directory. Opened before the container's root replaces
// the host's, executed with execveat(AT_EMPTY_PATH) afterwards. Throws an Error
// naming both places when neither holds it.
UniqueFd open_init_program();

// pid 1's last step: executes nestbox-init for `command` (forked, waiting on
// `release_fd`). Returns only on failure, with errno set.
void exec_init_program(int program_fd, const std::string& container, pid_t command, int release_fd);

}  // namespace nestbox::launcher
