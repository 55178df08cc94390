// SPDX-License-Identifier: Apache-2.0
#include "home_overlay.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "mounts.hpp"

namespace nestbox::launcher {

bool mount_scratch_overlay(const std::string& host_dir, const std::string& target, const std::string& scratch) {
  auto refuse = [&](const std::string& why) {
    std::fprintf(stderr, "nestbox-run: warning: %s stays read-only inside the container: %s\n", target.c_str(),
                 why.c_str());
    return false;
  };
  // overlay's option string separates layers with ':' and options with ','.
  if (host_dir.find_first_of(",:\\") != std::string::npos) return refuse("its path holds ',', ':' or '\\'");
  struct stat st {};
  if (::stat(host_dir.c_str(), &st) != 0) return refuse(std::strerror(errno));
  try {
    // 1. The layers on the scratch tmpfs: `upper` takes the writes, `work` is the
    //    kernel's staging area (same filesystem as `upper`, as overlay requires).
    ensure_dir(scratch, 0700);
    ensure_dir(scratch + "/upper", st.st_mode & 07777);
    ensure_dir(scratch + "/work", 0700);
    // 2. The merged directory takes its mode from `upper`: make it the home's
    //    (mkdir applied the umask).
    ::chmod((scratch + "/upper").c_str(), st.st_mode & 07777);
    // 3. userxattr: in a user namespace overlay keeps its metadata in user.*
    //    xattrs (trusted.* needs host privileges).
    mount_fs("overlay", target, "overlay", MS_NOSUID | MS_NODEV,
             "lowerdir=" + host_dir + ",upperdir=" + scratch + "/upper,workdir=" + scratch + "/work,userxattr");
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  return true;
}

}  // namespace nestbox::launcher
