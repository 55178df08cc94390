// SPDX-License-Identifier: Apache-2.0
// How nestbox-run's exit status is formed (documented in README.md (nestbox-run)):
// the command's own status; 128+N when it died from signal N; 125 for launcher
// errors; 126 command found but not executable; 127 command not found.
#pragma once

namespace nestbox::launcher {

inline constexpr int kExitLauncherError = 125;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

// Maps a waitpid() status to the shell-style exit code above.
int exit_code_from_wait_status(int status) noexcept;
// Exit code for an execve() failure with this errno (ENOENT/ENOTDIR -> 127, else 126).
int exit_code_for_exec_errno(int err) noexcept;

}  // namespace nestbox::launcher
