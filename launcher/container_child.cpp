// SPDX-License-Identifier: Apache-2.0
// The container side of the start sequence: runs as pid 1 of the new pid
// namespace, inside the new user namespace, once the launcher has written the
// id maps (README.md (nestbox-run), steps 2-6).
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "container.hpp"
#include "cpu_affinity.hpp"
#include "exit_status.hpp"
#include "init.hpp"
#include "init_program.hpp"
#include "netns.hpp"
#include "nestbox/error.hpp"
#include "pty.hpp"
#include "rootfs.hpp"
#include "security.hpp"
#include "setup_channel.hpp"
#include "timens.hpp"

extern char** environ;

namespace nestbox::launcher {
namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "nestbox-run: %s\n", what);
  ::_exit(kExitLauncherError);
}

void become_root(bool setgroups_allowed) {
  if (::setresgid(0, 0, 0) != 0) throw_errno(errno, "setresgid(0)");
  if (setgroups_allowed && ::setgroups(0, nullptr) != 0) throw_errno(errno, "setgroups");
  if (::setresuid(0, 0, 0) != 0) throw_errno(errno, "setresuid(0)");
}

// A path in /tmp or /run that is missing inside most likely exists on the host:
// those directories are the container's own.
const char* private_dir_hint(const std::string& path) {
  if (path.starts_with("/tmp/"))
    return " (the container's /tmp is its own, empty tmpfs, not the host's; share a file with "
           "--bind /tmp/FILE:/tmp/FILE or run it from elsewhere)";
  if (path.starts_with("/run/"))
    return " (the container's /run is its own, empty tmpfs, not the host's; share a path with --bind)";
  return "";
}

}  // namespace

std::vector<std::string> build_environment(char** base, const std::string& hostname,
                                           const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::pair<std::string, std::string>> vars;
  auto set = [&](const std::string& k, const std::string& v) {
    for (auto& kv : vars)
      if (kv.first == k) {
        kv.second = v;
        return;
      }
    vars.emplace_back(k, v);
  };
  for (char** e = base; e && *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    set(entry.substr(0, eq), entry.substr(eq + 1));
  }
  set("container", "nestbox");
  if (!hostname.empty()) set("HOSTNAME", hostname);
  for (const auto& [k, v] : overrides) set(k, v);
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

void exec_in_container(const ProcessPlan& process, const std::string& slave_path, bool filter_inherited,
                       int listener_socket) {
  try {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
    if (process.tty) attach_to_slave(slave_path);
    if (::chdir(process.workdir.c_str()) != 0)
      throw_errno(errno, "--workdir " + process.workdir + " is not usable inside the container");
    drop_capabilities();
    set_no_new_privs();
    if (!filter_inherited) {
      UniqueFd listener = load_seccomp_filter(listener_socket >= 0);
      if (listener_socket >= 0) {
        send_setup_message(listener_socket, 'S', {}, listener ? listener.get() : -1);
        ::close(listener_socket);
      }
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  std::vector<std::string> env = process.env;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> cmd = process.command;
  std::vector<char*> argv;
  for (auto& a : cmd) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The PATH search happens here rather than in execvp so that "not found
  // anywhere" (127) is told apart from "found but not executable" (126) even
  // when some PATH directory is unreadable.
  environ = envp.data();
  const std::string name = cmd.front();
  int err = ENOENT;
  if (name.find('/') != std::string::npos) {
    ::execv(name.c_str(), argv.data());
    err = errno;
  } else {
    const char* path_env = ::getenv("PATH");
    std::string path = path_env ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (std::size_t pos = 0; pos <= path.size();) {
      std::size_t next = path.find(':', pos);
      if (next == std::string::npos) next = path.size();
      std::string dir = path.substr(pos, next - pos);
      pos = next + 1;
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
      ::execv(candidate.c_str(), argv.data());
      err = errno;  // found but refused: remember, keep looking like a shell does
    }
  }
  std::fprintf(stderr, "nestbox-run: %s: %s%s\n", name.c_str(), err == ENOENT ? "command not found" : std::strerror(err),
               err == ENOENT ? private_dir_hint(name) : "");
  ::_exit(exit_code_for_exec_errno(err));
}

void container_child_main(const ContainerPlan& plan, int sync_fd) {
  // If the launcher dies, so does the container (and RemoveOnEmpty cleans up).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Only the setup socket and stdio survive: nothing of the launcher (its D-Bus
  // connection, ...) may leak into the container.
  if (sync_fd > 3) ::close_range(3, sync_fd - 1, 0);
  ::close_range(sync_fd + 1, ~0U, 0);
  // pid 1's program for after the setup, opened while the host's files are
  // still reachable (see init_main.cpp).
  UniqueFd init_program;
  try {
    init_program = open_init_program();
  } catch (const std::exception& e) {
    fail(e.what());
  }
  // The namespaces the clone left out (see run_container): made while the
  // launcher writes the id maps. Full capabilities in the new user namespace
  // allow it even before the maps exist.
  int more = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (plan.new_net) more |= CLONE_NEWNET;
  if (::unshare(more) != 0) {
    int err = errno;
    std::string why = std::string("cannot create the container's mount, uts, ipc or network namespace: ") +
                      std::strerror(err) +
                      (err == ENOSPC ? " (see /proc/sys/user/max_mnt_namespaces and max_net_namespaces)" : "");
    fail(why.c_str());
  }
  // The container's clocks start now (see timens.hpp); pid 1 forks nothing before.
  try {
    make_container_clocks();
  } catch (const std::exception& e) {
    fail(e.what());
  }
  try {
    send_setup_message(sync_fd, 'N');
  } catch (const std::exception&) {
    ::_exit(kExitLauncherError);  // the launcher is gone
  }
  std::optional<SetupMessage> go;
  try {
    go = receive_setup_message(sync_fd);
  } catch (const std::exception&) {
  }
  if (!go || (go->tag != 'G' && go->tag != 'g')) ::_exit(kExitLauncherError);  // the launcher gave up; it reports why

  pid_t command = -1;
  try {
    become_root(go->tag == 'G');
    if (::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) throw_errno(errno, "sethostname");
    if (plan.new_net) bring_up_loopback();
    ::umask(022);
    // The mounts that do not depend on the cgroup are made while the launcher
    // still waits for nestbox-cgmgr; the cgroup view waits for word that we are
    // in the container's cgroup.
    build_rootfs(plan.mounts, [&] {
      std::optional<SetupMessage> in_cgroup = receive_setup_message(sync_fd);
      if (!in_cgroup || in_cgroup->tag != 'C') ::_exit(kExitLauncherError);  // the launcher reports why
      // Created now, so that the container's cgroup becomes "/" inside.
      if (plan.enter_cgroup_ns && ::unshare(CLONE_NEWCGROUP) != 0) throw_errno(errno, "unshare(CLONE_NEWCGROUP)");
      return decode_cgroup_view(in_cgroup->text);
    });
    // In the cgroup now, so the mask is the cpuset's: narrow it for --cpus.
    pin_to_first_cpus(plan.cpu_count);

    std::string slave;
    UniqueFd master;
    UniqueFd slave_hold;
    if (plan.process.tty) {
      master = open_pty_master(&slave);
      // pid 1 keeps the slave open so the launcher never sees a hang-up before
      // the command has opened it.
      slave_hold.reset(::open(slave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!slave_hold) throw_errno(errno, "cannot open " + slave);
    }
    // The launcher's own session/terminal stays outside: signals typed at the
    // terminal reach the launcher, which forwards them exactly once.
    ::setsid();
    // pid 1 shares the command's uid. Two locks keep the command from using
    // it to get around the filter:
    // 1. no_new_privs, and the command's own seccomp filter, which the command
    //    inherits: pid 1 refuses the same calls, and one listener covers every
    //    process of the container.
    set_no_new_privs();
    UniqueFd listener = load_seccomp_filter(plan.intercept_sysinfo);
    // 2. The listener goes to the launcher, which answers sysinfo; pid 1 keeps
    //    no copy.
    send_setup_message(sync_fd, 'S', {}, listener ? listener.get() : -1);
    listener.reset();
    // 3. The command is forked now but held before its exec on `release`,
    //    until pid 1 runs nestbox-init and is no longer dumpable (step 6).
    int release[2];
    if (::pipe2(release, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    UniqueFd release_read(release[0]), release_write(release[1]);
    command = ::fork();
    if (command < 0) throw_errno(errno, "fork");
    if (command == 0) {
      ::close(sync_fd);
      master.reset();
      slave_hold.reset();
      release_write.reset();
      init_program.reset();
      char byte = 0;
      ssize_t n;
      do n = ::read(release_read.get(), &byte, 1);
      while (n < 0 && errno == EINTR);
      if (n != 1 || byte != 'g') ::_exit(kExitLauncherError);  // pid 1 failed and says why
      release_read.reset();
      exec_in_container(plan.process, slave, true);
    }
    release_read.reset();
    send_setup_message(sync_fd, 'R', {}, master ? master.get() : -1);
    master.reset();
    ::close(sync_fd);
    // 4. pid 1 needs no privileges for reaping and forwarding (no_new_privs
    //    keeps nestbox-init from regaining any at its exec).
    drop_all_capabilities();
    // 5. What nestbox-init inherits: the pty slave (held open so the launcher
    //    never sees a hang-up before the command has opened it) and `release`.
    for (int fd : {slave_hold.get(), release_write.get()})
      if (fd >= 0 && ::fcntl(fd, F_SETFD, 0) != 0) throw_errno(errno, "fcntl(F_SETFD)");
    // 6. Executed inside the container's user namespace, nestbox-init makes
    //    itself not dumpable and releases the command (see init_main.cpp).
    exec_init_program(init_program.get(), plan.name, command, release_write.get());
    throw_errno(errno, "cannot execute the container's init program");
  } catch (const std::exception& e) {
    if (command > 0) ::kill(command, SIGKILL);
    fail(e.what());
  }
}

}  // namespace nestbox::launcher
