// SPDX-License-Identifier: Apache-2.0
#include "server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <thread>

#include "container_tree.hpp"
#include "filesystem.hpp"
#include "handoff.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/logging.hpp"
#include "nestbox/unique_fd.hpp"
#include "session_args.hpp"
#include "takeover.hpp"

namespace nestbox::fs {
namespace {

sigset_t signal_set(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  return set;
}

// RAII for the libfuse session pieces, torn down in reverse order. A server
// never unmounts: the mount belongs to the supervisor and outlives servers.
struct Session {
  fuse_session* se = nullptr;
  bool signals = false;
  ~Session() {
    if (!se) return;
    if (signals) fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
  }
};
struct LoopConfig {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  ~LoopConfig() { fuse_loop_cfg_destroy(cfg); }
};

bool parse_fds(const char* env, int& fuse_fd, int& ctl_fd) {
  return env && std::sscanf(env, "%d,%d", &fuse_fd, &ctl_fd) == 2 && fuse_fd >= 0 && ctl_fd >= 0;
}

template <typename Tree>
int serve_with(Tree& filesystem, const Options& opts, const Hello& hello, UniqueFd fuse_fd, UniqueFd ctl);

// How the cgroup tree reads: cgroup files kept open for re-reading (see
// TreeOptions::kept_files) within the descriptors this process may hold. Its
// soft limit is raised to the hard one first (the units set 65536); readers'
// pidfds, FUSE handles and the handover need the rest: a 16th per hierarchy,
// leaving 4,096 free, at most 4,096 each.
TreeOptions tree_options() {
  TreeOptions options;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return options;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  const rlim_t spare = rl.rlim_cur == RLIM_INFINITY ? rlim_t{1} << 20 : rl.rlim_cur;
  options.kept_files = spare > 4096 ? static_cast<std::size_t>(std::min<rlim_t>((spare - 4096) / 16, 4096)) : 0;
  return options;
}

}  // namespace

int serve(const Options& opts, const char* serve_env) {
  int raw_fuse = -1, raw_ctl = -1;
  if (!parse_fds(serve_env, raw_fuse, raw_ctl)) {
    spdlog::error("{} is malformed: {}", kServeEnv, serve_env ? serve_env : "");
    return 1;
  }
  UniqueFd fuse_fd(raw_fuse);
  UniqueFd ctl(raw_ctl);
  // Neither fd may leak into programs we run (none today), nor the variable.
  ::fcntl(fuse_fd.get(), F_SETFD, FD_CLOEXEC);
  ::fcntl(ctl.get(), F_SETFD, FD_CLOEXEC);
  ::unsetenv(kServeEnv);
  auto hello = recv_hello(ctl.get());
  if (!hello) {
    spdlog::error("no start message from the supervisor");
    return 1;
  }

  HostLayout layout = HostLayout::discover();
  spdlog::info("nestbox-fs {} server (epoch {}) on a {} cgroup layout, serving {}{}{}", NESTBOX_VERSION, hello->epoch,
               layout_name(layout.layout), opts.container_tree ? "the per-container tree at " : "", opts.mountpoint,
               hello->init.empty() ? "" : " (taking over)");
  if (opts.container_tree) {
    ContainerTree tree(opts, open_cgroup_tree(layout, tree_options()));
    return serve_with(tree, opts, *hello, std::move(fuse_fd), std::move(ctl));
  }
  Filesystem filesystem(opts, layout, open_cgroup_tree(layout, tree_options()));
  return serve_with(filesystem, opts, *hello, std::move(fuse_fd), std::move(ctl));
}

namespace {

// The session of either tree on the connection the supervisor handed us.
template <typename Tree>
int serve_with(Tree& filesystem, const Options& opts, const Hello& hello_msg, UniqueFd fuse_fd, UniqueFd ctl) {
  const Hello* hello = &hello_msg;
  filesystem.set_epoch(hello->epoch);

  FuseArgs args(opts);
  Session session;
  const auto& ops = Tree::operations();
  session.se = fuse_session_new(&args.args, &ops, sizeof ops, &filesystem);
  if (!session.se) {
    spdlog::error("cannot create the FUSE session (bad -o option?)");
    return 1;
  }
  DeviceIo io(hello->init);
  if (!io.install(session.se, fuse_fd.get())) {
    spdlog::error("cannot take over the FUSE device");
    return 1;
  }
  fuse_fd.release();  // the session closes it

  // SIGTERM and SIGINT always stop a server, whatever the parent left behind:
  // libfuse installs its handlers only over the default action.
  for (int sig : {SIGTERM, SIGINT}) ::signal(sig, SIG_DFL);
  const sigset_t always_stop = signal_set({SIGTERM, SIGINT});
  pthread_sigmask(SIG_UNBLOCK, &always_stop, nullptr);
  // Anything else must never take the connection down: upgrades and reloads
  // are the supervisor's business, a terminal's hangup is not a stop.
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE}) ::signal(sig, SIG_IGN);
  if (fuse_set_signal_handlers(session.se) != 0) return 1;
  session.signals = true;

  // Our threads start with the stop signals blocked: libfuse's handler only
  // marks the loop as ended, which the loop notices when the signal interrupts
  // its own thread or a worker; taken by one of our threads instead, it would
  // wake nobody until the next request.
  std::thread control;
  {
    const sigset_t stop_signals = signal_set({SIGTERM, SIGINT});
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    filesystem.start();
    control = std::thread([&io, sock = ctl.get()] {
      // Ready once libfuse has answered INIT: from then on requests are served.
      while (!io.wait_initialized(std::chrono::seconds(1))) {
      }
      if (!send_ready(sock, io.init_request())) return;
      if (!wait_drain(sock)) {
        spdlog::warn("the supervisor is gone; serving on without crash recovery");
        return;
      }
      spdlog::info("a newer server has taken over; answering what was read, then exiting");
      io.drain();
      spdlog::default_logger()->flush();
      // Workers are parked in their reads and the loop never returns: end here,
      // leaving the device (shared with the newer server) untouched.
      ::_exit(0);
    });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  control.detach();
  spdlog::info("serving {} ({} worker threads at most)", opts.mountpoint, opts.max_threads);

  LoopConfig loop;
  // Workers are started on demand and then kept: with fewer idle workers
  // allowed than started, libfuse ends and restarts threads with every burst of
  // readers (thousands per second under load), each time freeing and
  // reallocating its 1 MB request buffer.
  fuse_loop_cfg_set_max_threads(loop.cfg, opts.max_threads);
  fuse_loop_cfg_set_idle_threads(loop.cfg, opts.max_threads);
  int rc = fuse_session_loop_mt(session.se, loop.cfg);
  filesystem.stop();
  spdlog::info("server stopping");
  // The loop returns the signal number when SIGTERM/SIGINT ended it and 0 when
  // the connection went away: both are a requested stop.
  spdlog::default_logger()->flush();
  // The control thread may still be blocked on the socket; leave without
  // running destructors that thread depends on.
  ::_exit(rc < 0 ? 1 : 0);
}

}  // namespace
}  // namespace nestbox::fs
