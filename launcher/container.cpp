// SPDX-License-Identifier: Apache-2.0
// The launcher side of `nestbox-run [options] CMD` (README.md (nestbox-run), steps 1-7).
#include "container.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>

#include "cgroup_setup.hpp"
#include "cpu_affinity.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "init.hpp"
#include "mounts.hpp"
#include "nestbox/error.hpp"
#include "nestbox/view_files.hpp"
#include "pty.hpp"
#include "rootfs.hpp"
#include "setup_channel.hpp"
#include "state.hpp"
#include "supervise.hpp"
#include "sysinfo_supervisor.hpp"
#include "userns.hpp"

extern char** environ;

namespace nestbox::launcher {
namespace {

std::string real_path(const std::string& path, const std::string& what) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) throw_errno(errno, what + " '" + path + "'");
  return buf;
}

// $HOME as a host path worth an overlay: an existing directory other than /.
std::string scratch_home() {
  const char* home = std::getenv("HOME");
  if (!home || home[0] != '/') return "";
  char buf[PATH_MAX];
  if (!::realpath(home, buf) || std::string_view(buf) == "/" || !is_directory(buf)) return "";
  return buf;
}

ContainerPlan make_plan(const RunOptions& o, const std::string& name) {
  ContainerPlan plan;
  plan.name = name;
  plan.hostname = o.hostname.empty() ? name : o.hostname;
  plan.new_net = o.net == NetMode::None;
  plan.mounts.new_net = plan.new_net;
  plan.enter_cgroup_ns = true;
  if (o.rootfs) {
    plan.mounts.rootfs = real_path(*o.rootfs, "--rootfs");
    if (!is_directory(plan.mounts.rootfs))
      throw Error(Errc::InvalidValue, "--rootfs '" + *o.rootfs + "' is not a directory");
    plan.mounts.host_root = plan.mounts.rootfs == "/";
  }
  for (BindSpec b : o.binds) {
    b.source = real_path(b.source, "--bind source");
    plan.mounts.binds.push_back(std::move(b));
  }
  plan.mounts.fs_mount = o.fs_mount;
  // The per-container tree names a container by the host pid of its pid 1:
  // usable only where our procfs tells host pids (not inside a container).
  if (!o.no_fs && !o.fs_tree.empty()) {
    const bool mounted = is_fuse_mount(o.fs_tree);
    if (mounted && procfs_is_the_hosts("/proc"))
      plan.mounts.fs_tree = o.fs_tree;
    else if (o.fs_tree_asked)
      std::fprintf(stderr, "nestbox-run: warning: %s at --fs-tree %s; its files come from %s\n",
                   mounted ? "this procfs does not show host pids" : "nothing is mounted", o.fs_tree.c_str(),
                   o.fs_mount.c_str());
  }
  if (!o.no_fs) {
    plan.mounts.fs_files = available_view_files(o.fs_mount);
    if (plan.mounts.fs_files.empty())
      std::fprintf(stderr,
                   "nestbox-run: warning: nestbox-fs is not mounted at %s: free, top, uptime and nproc "
                   "inside will show the host's values. Start it as root (nestbox-fs -f %s) or pass "
                   "--fs MOUNTPOINT; --no-fs silences this.\n",
                   o.fs_mount.c_str(), o.fs_mount.c_str());
    else if (std::size_t fixed = std::count_if(plan.mounts.fs_files.begin(), plan.mounts.fs_files.end(),
                                                [](const std::string& f) { return !f.starts_with("sys/block/"); });
             fixed < kViewFiles.size())
      std::fprintf(stderr, "nestbox-run: warning: nestbox-fs at %s serves only %zu of %zu files\n",
                   o.fs_mount.c_str(), fixed, kViewFiles.size());
  }
  plan.process.command = o.command;
  auto env = o.env;
  // Affinity-based CPU counters see ceil(--cpus) through pid 1's mask.
  plan.cpu_count = cpu_count_for_quota(o.cpus ? o.cpus->c_str() : nullptr);
  plan.intercept_sysinfo = !o.no_cgroup;
  plan.process.env = build_environment(environ, plan.hostname, env);
  // The default working directory is $HOME, made writable (changes discarded)
  // on the host's root; / otherwise.
  if (plan.mounts.host_root) plan.mounts.home = scratch_home();
  plan.process.workdir = !o.workdir.empty() ? o.workdir : !plan.mounts.home.empty() ? plan.mounts.home : "/";
  plan.process.tty = o.tty;
  return plan;
}

// Kills and reaps the child if setup fails half-way.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  void release() { pid_ = -1; }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;

 private:
  pid_t pid_;
};

class StateLease {
 public:
  StateLease(StateDir& dir, std::string name) : dir_(dir), name_(std::move(name)) {}
  ~StateLease() { dir_.remove(name_); }
  StateLease(const StateLease&) = delete;
  StateLease& operator=(const StateLease&) = delete;

 private:
  StateDir& dir_;
  std::string name_;
};

// "nb-<pid>". Inside another pid namespace (a nestbox-run in a container) that
// pid repeats from container to container while the cgroup names share the
// user's one delegation, so the namespace's inode number goes in too:
// "nb-<inode>-<pid>". The initial pid namespace has a fixed inode number.
std::string default_name() {
  constexpr ino_t kInitialPidNamespace = 0xEFFFFFFCU;  // PROC_PID_INIT_INO
  const std::string pid = std::to_string(::getpid());
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0 || st.st_ino == kInitialPidNamespace) return "nb-" + pid;
  return "nb-" + std::to_string(st.st_ino) + "-" + pid;
}

}  // namespace

int run_container(const RunOptions& o) {
  const std::string name = o.name.empty() ? default_name() : o.name;
  ContainerPlan plan = make_plan(o, name);

  StateDir state(user_state_dir());
  ContainerRecord record;
  record.name = name;
  record.launcher_pid = ::getpid();
  record.launcher_start = process_start_ticks(::getpid());
  record.bus = o.bus;
  record.hostname = plan.hostname;
  record.rootfs = o.rootfs ? plan.mounts.rootfs : "";
  record.command = o.command;
  record.created = static_cast<std::int64_t>(std::time(nullptr));
  record.limits = o.limits;
  state.claim(record);
  StateLease state_lease(state, name);

  // Step 1 runs on a thread once pid 1 exists (see cgroup_setup.hpp). Declared
  // before the child guard: on failure pid 1 is killed and reaped first, then
  // the cgroup is removed.
  std::optional<CgroupSetup> cgroup;
  if (!o.no_cgroup) cgroup.emplace(o.bus);

  const IdMapPlan ids = plan_id_maps(::getuid(), ::getgid());
  block_supervised_signals();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno(errno, "socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  // Steps 2-3: the clone creates only the user and pid namespaces, which is
  // cheap, so the id-map helpers can start at once; pid 1 creates its mount, uts,
  // ipc and network namespaces itself while they run (a network namespace alone
  // costs more than half a millisecond), and the cgroup one once it is inside the
  // container's cgroup. A raw clone behaves like fork; the launcher is still
  // single-threaded here.
  const unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD;
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    int err = errno;
    throw Error(Errc::PermissionDenied,
                std::string("cannot create the container's namespaces: ") + std::strerror(err) +
                    (err == EPERM || err == ENOSPC ? " (are unprivileged user namespaces enabled? "
                                                     "see /proc/sys/user/max_user_namespaces)"
                                                   : ""),
                err);
  }
  if (pid == 0) {
    parent_end.reset();
    container_child_main(plan, child_end.release());
  }
  child_end.reset();

  ChildGuard guard(static_cast<pid_t>(pid));
  // Step 1 starts now: its bus connection overlaps the start of the id-map
  // helpers (each spawn waits until the setuid program is exec'ed).
  if (cgroup) cgroup->start(name, o.limits, static_cast<pid_t>(pid));
  // Pid 1 stops at the first step that fails and explains on stderr; its exit
  // status is then ours.
  auto child_gave_up = [&]() {
    guard.release();
    int status = 0;
    while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
    }
    int code = exit_code_from_wait_status(status);
    return code == 0 ? kExitLauncherError : code;
  };
  auto tell_child = [&](char tag, std::string_view text = {}) {
    try {
      send_setup_message(parent_end.get(), tag, text);
      return true;
    } catch (const Error&) {
      return false;  // pid 1 is gone (EPIPE)
    }
  };

  // Step 2: the id maps, then pid 1 becomes root in its namespace and mounts
  // everything that does not depend on the cgroup. While the helpers run, pid 1
  // reports its namespaces made ('N').
  struct ChildGaveUp {};
  bool setgroups_allowed = false;
  try {
    setgroups_allowed = write_id_maps(static_cast<pid_t>(pid), ids, [&] {
      auto made = receive_setup_message(parent_end.get());
      if (!made || made->tag != 'N') throw ChildGaveUp{};
    });
  } catch (const ChildGaveUp&) {
    return child_gave_up();
  }
  if (!tell_child(setgroups_allowed ? 'G' : 'g')) return child_gave_up();

  // Pid 1 is in the container's cgroup once the thread is done; it then enters
  // a cgroup namespace and mounts the cgroup view.
  std::vector<CgroupViewEntry> view;
  if (cgroup) {
    record.cgroup = cgroup->wait();
    view = plan_cgroup_view(record.cgroup);
  }
  if (!tell_child('C', encode_cgroup_view(view))) return child_gave_up();

  auto listener = receive_setup_message(parent_end.get());
  if (!listener || listener->tag != 'S') return child_gave_up();
  std::unique_ptr<SysinfoSupervisor> sysinfo;
  if (listener->fd && !record.cgroup.empty()) {
    // Per caller: a container nested in this one shares our listener (the
    // kernel allows one per process) and gets its own figures through it.
    sysinfo = std::make_unique<SysinfoSupervisor>(record.cgroup, static_cast<pid_t>(pid), true);
    sysinfo->listen(std::move(listener->fd));
  }
  auto ready = receive_setup_message(parent_end.get());
  if (!ready || ready->tag != 'R') return child_gave_up();
  record.init_pid = static_cast<pid_t>(pid);
  state.update(record);
  guard.release();
  return supervise(static_cast<pid_t>(pid), std::move(ready->fd), sysinfo.get());
}

}  // namespace nestbox::launcher
