// SPDX-License-Identifier: Apache-2.0
// `nestbox-run exec NAME -- CMD`: joins a running container. The namespaces are
// opened first (their /proc paths vanish once we are in the container's mount
// namespace), the user namespace is joined first (it grants the capabilities the
// other setns calls need), the cgroup is joined through nestbox-cgmgr before any
// of that, and the command is forked so that it really is in the pid namespace.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <cstdlib>
#include <optional>

#include "cgroup_client.hpp"
#include "commands.hpp"
#include "container.hpp"
#include "cpu_affinity.hpp"
#include "exit_status.hpp"
#include "init.hpp"
#include "nestbox/error.hpp"
#include "nestbox/proc.hpp"
#include "nestbox/safe_io.hpp"
#include "pty.hpp"
#include "setup_channel.hpp"
#include "state.hpp"
#include "supervise.hpp"
#include "sysinfo_supervisor.hpp"
#include "timens.hpp"

extern char** environ;

namespace nestbox::launcher {
namespace {

struct Namespace {
  const char* name;
  int type;
  UniqueFd fd;
};

bool same_file(int a, int b) {
  struct stat sa {}, sb {};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

}  // namespace

int run_exec(const ExecOptions& o) {
  StateDir state(user_state_dir());
  auto rec = state.find(o.name);
  if (!rec) throw Error(Errc::NotFound, "no running container named '" + o.name + "' (see nestbox-run list)");
  if (rec->init_pid <= 0) throw Error(Errc::Busy, "container '" + o.name + "' is still starting");
  const pid_t init = rec->init_pid;
  // The recorded pid must still be the launcher's child, not a recycled pid.
  if (ProcFs("/proc").status(init).ppid != rec->launcher_pid)
    throw Error(Errc::NotFound, "container '" + o.name + "' has exited");

  const std::string proc = "/proc/" + std::to_string(init);
  std::vector<Namespace> namespaces;
  for (auto [name, type] : {std::pair{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
                            {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
                            {"mnt", CLONE_NEWNS}}) {
    UniqueFd theirs(::open((proc + "/ns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!theirs) throw_errno(errno, "cannot open the " + std::string(name) + " namespace of container '" + o.name + "'");
    UniqueFd ours(::open((std::string("/proc/self/ns/") + name).c_str(), O_RDONLY | O_CLOEXEC));
    // --net host shares our network namespace: joining it again is not allowed.
    if (ours && same_file(ours.get(), theirs.get())) continue;
    namespaces.push_back({name, type, std::move(theirs)});
  }
  // The container's clocks (see timens.hpp): joined right after the user
  // namespace, which grants the capability it needs. pid 1 is not in it itself;
  // its children are. Absent on kernels without time namespaces.
  if (UniqueFd theirs(::open((proc + "/ns/" + kTimeNsForChildren).c_str(), O_RDONLY | O_CLOEXEC)); theirs) {
    UniqueFd ours(::open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC));
    if (!ours || !same_file(ours.get(), theirs.get()))
      namespaces.insert(namespaces.begin() + (namespaces.empty() || namespaces.front().type != CLONE_NEWUSER ? 0 : 1),
                        Namespace{"time", CLONE_NEWTIME, std::move(theirs)});
  }
  bool setgroups_allowed = false;
  {
    UniqueFd f(::open((proc + "/setgroups").c_str(), O_RDONLY | O_CLOEXEC));
    setgroups_allowed = f && read_fd(f.get()).starts_with("allow");
  }

  // sysinfo is answered by this process for the session, like the launcher
  // does for the first command; what it reads is opened while the host's
  // mount namespace is still ours. Without it the session sees the kernel's
  // figures (as a container whose supervisor cannot answer does).
  std::unique_ptr<SysinfoSupervisor> sysinfo;
  if (!rec->cgroup.empty()) {
    try {
      sysinfo = std::make_unique<SysinfoSupervisor>(rec->cgroup, init);
      sysinfo->open_sources();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nestbox-run: warning: sysinfo inside shows the host's figures: %s\n", e.what());
      sysinfo.reset();
    }
  }

  if (!rec->cgroup.empty()) {
    CgroupClient client(rec->bus.empty() ? o.bus : rec->bus);
    client.attach(rec->cgroup, 0);
  }  // the D-Bus connection is gone before setns: joining a user namespace needs a single thread

  for (auto& ns : namespaces)
    if (::setns(ns.fd.get(), ns.type) != 0)
      throw_errno(errno, std::string("cannot join the ") + ns.name + " namespace of container '" + o.name + "'");
  if (::setresgid(0, 0, 0) != 0) throw_errno(errno, "setresgid(0)");
  if (setgroups_allowed && ::setgroups(0, nullptr) != 0) throw_errno(errno, "setgroups");
  if (::setresuid(0, 0, 0) != 0) throw_errno(errno, "setresuid(0)");

  ProcessPlan plan;
  plan.command = o.command;
  plan.env = build_environment(environ, rec->hostname, o.env);
  // As for run: $HOME when the container has it writable, else /.
  plan.workdir = o.workdir;
  if (plan.workdir.empty()) {
    const char* home = std::getenv("HOME");
    plan.workdir = home && home[0] == '/' && ::access(home, W_OK) == 0 ? home : "/";
  }
  plan.tty = o.tty;

  block_supervised_signals();
  std::string slave;
  UniqueFd master, slave_hold;
  if (plan.tty) {
    master = open_pty_master(&slave);
    slave_hold.reset(::open(slave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave_hold) throw_errno(errno, "cannot open " + slave);
  }
  UniqueFd parent_end, child_end;
  if (sysinfo) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno(errno, "socketpair");
    parent_end.reset(sv[0]);
    child_end.reset(sv[1]);
  }
  pid_t child = ::fork();
  if (child < 0) throw_errno(errno, "fork");
  if (child == 0) {
    parent_end.reset();
    // The same CPU view as the first command: pid 1's mask (see cpu_affinity.hpp).
    try {
      copy_affinity_of(1);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nestbox-run: %s\n", e.what());
      ::_exit(kExitLauncherError);
    }
    exec_in_container(plan, slave, false, child_end ? child_end.release() : -1);
  }
  child_end.reset();
  if (sysinfo) {
    std::optional<SetupMessage> listener;
    try {
      listener = receive_setup_message(parent_end.get());
    } catch (const Error&) {
    }
    // End of file: the child failed before its exec and says why; no listener:
    // the kernel lacks user notification.
    if (listener && listener->fd)
      sysinfo->listen(std::move(listener->fd));
    else
      sysinfo.reset();
    parent_end.reset();
  }
  return supervise(child, std::move(master), sysinfo.get());
}

}  // namespace nestbox::launcher
