// SPDX-License-Identifier: Apache-2.0
// --tty: the pseudo-terminal is created inside the container (its own devpts),
// its master handed to the launcher over the setup socket, and the launcher
// copies bytes between its own terminal (in raw mode) and the master.
#pragma once

#include <sys/types.h>
#include <termios.h>

#include <optional>
#include <string>

#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {

// Opens a new pty master from /dev/ptmx; `slave_path` receives "/dev/pts/N".
UniqueFd open_pty_master(std::string* slave_path);
// In the command: new session, the slave as controlling terminal and stdio.
void attach_to_slave(const std::string& slave_path);

// Puts a terminal fd into raw mode for the object's lifetime.
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_;
  std::optional<struct termios> saved_;
};

// Copies the window size of `from` (a terminal) to `to` (the pty master).
void copy_window_size(int from, int to) noexcept;

}  // namespace nestbox::launcher
