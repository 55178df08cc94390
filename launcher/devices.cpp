// SPDX-License-Identifier: Apache-2.0
// /dev inside the container: a fresh tmpfs, never the host's devtmpfs, so that
// only harmless character devices are reachable (bind mounts of the host nodes:
// an unprivileged user namespace cannot mknod).
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "mounts.hpp"
#include "nestbox/error.hpp"
#include "rootfs.hpp"

namespace nestbox::launcher {

void setup_dev(const std::string& dev, const std::string& host_dev) {
  mount_fs("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k");
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string target = dev + "/" + node;
    ensure_file(target);
    bind_path(host_dev + "/" + node, target, false, false);
  }
  // A private devpts instance: ptys created inside are invisible outside, and
  // ptmxmode=0666 lets every container user open /dev/ptmx.
  ensure_dir(dev + "/pts");
  mount_fs("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  if (::symlink("pts/ptmx", (dev + "/ptmx").c_str()) != 0) throw_errno(errno, "cannot create /dev/ptmx");
  ensure_dir(dev + "/shm", 01777);
  mount_fs("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  ensure_dir(dev + "/mqueue");
  // The container has its own IPC namespace, so its own POSIX message queues.
  mount_fs("mqueue", dev + "/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  const std::pair<const char*, const char*> links[] = {
      {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"}};
  for (const auto& [name, to] : links)
    if (::symlink(to, (dev + "/" + name).c_str()) != 0) throw_errno(errno, std::string("cannot create /dev/") + name);
  ensure_dir(dev + "/.nestbox", 0700);
}

}  // namespace nestbox::launcher
