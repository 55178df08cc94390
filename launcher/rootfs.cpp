// SPDX-License-Identifier: Apache-2.0
// The mount sequence (README.md (nestbox-run), steps 3 and 4). The host's root stays
// reachable under /oldroot while the new root is assembled at /newroot, so bind
// sources are always host paths; at the end /oldroot is detached and /newroot
// becomes "/" with pivot_root.
#include "rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "home_overlay.hpp"
#include "host_tree.hpp"
#include "mounts.hpp"
#include "nestbox/error.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {
namespace {

constexpr const char* kOld = "/oldroot";
constexpr const char* kNew = "/newroot";

void pivot_root(const char* new_root, const char* put_old) {
  if (::syscall(SYS_pivot_root, new_root, put_old) != 0)
    throw_errno(errno, std::string("pivot_root(") + new_root + ")");
}

void check_chdir(const char* path) {
  if (::chdir(path) != 0) throw_errno(errno, std::string("chdir ") + path);
}

// A directory of the new root that must exist to mount on: present in a host
// root; created in a writable --rootfs; otherwise the step is skipped.
bool mount_point(const std::string& rel) {
  const std::string p = std::string(kNew) + rel;
  if (is_directory(p)) return true;
  if (::mkdir(p.c_str(), 0755) == 0) return true;
  std::fprintf(stderr, "nestbox-run: warning: %s is missing in the root filesystem; not mounted\n", rel.c_str());
  return false;
}

// /sys: a fresh sysfs, which shows the container's own network devices and has
// only an empty /sys/fs/cgroup (the kernel allows it in a user namespace that
// owns the network namespace, while the host's sysfs, fully visible, is still
// in the mount namespace under /oldroot). Sharing the host's network namespace
// (--net host) rules that out: then the host's /sys is copied without
// /sys/fs/cgroup.
void setup_sys(const std::string& sys, const std::string& host_sys, bool own_net) {
  if (own_net) {
    try {
      mount_fs("sysfs", sys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
    } catch (const Error& e) {
      if (e.sys_errno() != EPERM) throw;
      // The usual cause: we are inside another container whose /sys has files
      // bound over it, and it offers no uncovered sysfs.
      throw Error(e.code(),
                  std::string(e.what()) + " (inside another container the kernel needs a sysfs with nothing "
                  "mounted over it in this mount namespace; nestbox-run containers have one at " + kPristineSys + ")",
                  EPERM);
    }
    return;
  }
  copy_tree_without(host_sys, sys, {"fs/cgroup"});
  make_read_only(sys, false);
}

std::string strip_slash(const std::string& p) { return p.substr(p.find_first_not_of('/')); }

// This container's directory in the per-container tree mounted at `tree` on
// the host: <tree>/<our host pid>; "" (with a warning) when it cannot be found.
std::string container_tree_dir(const std::string& tree) {
  char buf[32] = {};
  const std::string self = std::string(kOld) + "/proc/self";
  const ssize_t n = ::readlink(self.c_str(), buf, sizeof buf - 1);
  const std::string dir = n > 0 ? std::string(kOld) + tree + "/" + std::string(buf, static_cast<std::size_t>(n)) : "";
  if (dir.empty() || !is_directory(dir)) {
    std::fprintf(stderr, "nestbox-run: warning: no directory for this container in --fs-tree %s; its files "
                         "come from --fs\n", tree.c_str());
    return "";
  }
  return dir;
}

}  // namespace

void build_rootfs(const MountPlan& plan, const std::function<std::vector<CgroupViewEntry>()>& join_cgroup) {
  // Nothing we mount may propagate to the host, while host unmounts still reach us.
  mount_fs("", "/", "", MS_REC | MS_SLAVE);

  // A scratch tmpfs becomes the temporary root; the old root hangs below it.
  mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700");
  check_chdir("/tmp");
  ensure_dir("newroot");
  ensure_dir("oldroot");
  pivot_root(".", "oldroot");
  check_chdir("/");

  // The root: the host's / or the user's directory (writable: it is theirs).
  // The host's is rebuilt on a tmpfs from read-only recursive clones of its
  // entries, leaving out the trees that get replaced below: a clone of the whole
  // / would keep the host's /sys (with its cgroup mounts) and /proc in the
  // container's mount table underneath their replacements, where every reader
  // of /proc/self/mountinfo (JVMs, Go, .NET, systemd) finds them.
  if (plan.host_root)
    copy_tree_without(kOld, kNew, {"proc", "sys", "dev", "tmp", "run"});
  else
    bind_path(std::string(kOld) + plan.rootfs, kNew, true, false);

  // A fresh procfs of the new pid namespace, and a second, never-covered one for
  // nested containers (the kernel only lets a user namespace mount procfs when a
  // fully visible one exists; the first will get files bound over it).
  if (mount_point("/proc"))
    mount_fs("proc", std::string(kNew) + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount_point("/dev")) {
    setup_dev(std::string(kNew) + "/dev", std::string(kOld) + "/dev");
    ensure_dir(std::string(kNew) + kPristineProc, 0555);
    mount_fs("proc", std::string(kNew) + kPristineProc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    // The same rule holds for sysfs, and the container's /sys gets the CPU view
    // bound over it; a fresh sysfs needs the network namespace of our own.
    if (plan.new_net) {
      ensure_dir(std::string(kNew) + kPristineSys, 0555);
      mount_fs("sysfs", std::string(kNew) + kPristineSys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
    }
  }
  if (mount_point("/tmp")) mount_fs("tmpfs", std::string(kNew) + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  if (mount_point("/run")) mount_fs("tmpfs", std::string(kNew) + "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");

  // $HOME writable, its changes discarded (see home_overlay.hpp); the layers
  // live on the scratch root and go with it.
  if (!plan.home.empty() && is_directory(kNew + plan.home))
    mount_scratch_overlay(kOld + plan.home, kNew + plan.home, "/home-layers");

  // /sys read-only, without the host's cgroup mounts, and the container's own
  // cgroups at /sys/fs/cgroup.
  const bool have_sys = mount_point("/sys");
  // Every mount point of the rebuilt host root exists now: it becomes read-only.
  if (plan.host_root) make_read_only(kNew, false);
  if (have_sys) setup_sys(std::string(kNew) + "/sys", std::string(kOld) + "/sys", plan.new_net);
  const std::vector<CgroupViewEntry> cgroup_view = join_cgroup();
  const std::string cg = std::string(kNew) + "/sys/fs/cgroup";
  if (have_sys && is_directory(cg)) setup_cgroup_view(cg, cgroup_view, kOld);

  // nestbox-fs files over their procfs/sysfs twins: read by the container, the
  // daemon answers from the reader's cgroup. With the per-container tree, the
  // files it has (/proc's and the sysfs CPU directory) come from this
  // container's own directory there (named by our host pid, which the host's
  // procfs, still under /oldroot, tells).
  const std::string tree_dir = plan.fs_tree.empty() ? "" : container_tree_dir(plan.fs_tree);
  for (const auto& rel : plan.fs_files) {
    const std::string target = std::string(kNew) + "/" + rel;
    if (!path_exists(target)) continue;
    std::string source = std::string(kOld) + plan.fs_mount + "/" + rel;
    if (!tree_dir.empty() && path_exists(tree_dir + "/" + rel)) source = tree_dir + "/" + rel;
    bind_path(source, target, false, false);
  }

  // User binds last, so they can land on the fresh /tmp, /run, ... Destinations
  // are resolved inside the new root and may not leave it.
  UniqueFd root_fd(::open(kNew, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw_errno(errno, "open new root");
  for (const auto& b : plan.binds) {
    const std::string src = std::string(kOld) + b.source;
    UniqueFd tree = clone_tree(src, true, b.read_only);
    UniqueFd dst = resolve_in_root(root_fd.get(), strip_slash(b.destination), true, !is_directory(src));
    attach_tree_at(tree.get(), dst.get(), b.destination);
  }
  root_fd.reset();

  // Enter the new root; the old one (and every host mount under it) is detached.
  check_chdir(kNew);
  pivot_root(".", ".");
  if (::umount2(".", MNT_DETACH) != 0) throw_errno(errno, "cannot detach the old root");
  check_chdir("/");
}

}  // namespace nestbox::launcher
