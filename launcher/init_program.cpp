// SPDX-License-Identifier: Apache-2.0
#include "init_program.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "nestbox/error.hpp"

#ifndef NESTBOX_INIT_DIR
#define NESTBOX_INIT_DIR "/usr/libexec/nestbox"
#endif

namespace nestbox::launcher {

UniqueFd open_init_program() {
  std::vector<std::string> candidates;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string exe(self, static_cast<std::size_t>(n));
    const std::string dir = exe.substr(0, exe.rfind('/') + 1);
    candidates.push_back(dir + "nestbox-init");
    // Installed: P/bin/nestbox-run beside P/libexec/nestbox/nestbox-init,
    // whatever prefix the install chose.
    candidates.push_back(dir + "../libexec/nestbox/nestbox-init");
  }
  candidates.emplace_back(NESTBOX_INIT_DIR "/nestbox-init");
  std::string tried;
  for (const auto& path : candidates) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (fd && ::faccessat(fd.get(), "", X_OK, AT_EMPTY_PATH) == 0) return fd;
    tried += (tried.empty() ? "" : " or ") + path;
  }
  throw Error(Errc::NotFound, "cannot find the container's init program at " + tried +
                                  " (it is installed with nestbox-run; reinstall the package)");
}

void exec_init_program(int program_fd, const std::string& container, pid_t command, int release_fd) {
  std::string pid = std::to_string(command), fd = std::to_string(release_fd);
  std::string name = container;
  std::string argv0 = "nestbox-init";
  char* argv[] = {argv0.data(), name.data(), pid.data(), fd.data(), nullptr};
  char* envp[] = {nullptr};
  ::execveat(program_fd, "", argv, envp, AT_EMPTY_PATH);
}

}  // namespace nestbox::launcher
