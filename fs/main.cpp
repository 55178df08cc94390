// nestbox-fs: mounts the container-virtualized /proc, /sys and cgroup view.
#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "filesystem.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/logging.hpp"
#include "options.hpp"

namespace {

sigset_t signal_set(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  return set;
}

// RAII for the libfuse session pieces, torn down in reverse order.
struct FuseArgs {
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  ~FuseArgs() { fuse_opt_free_args(&args); }
};
struct Session {
  fuse_session* se = nullptr;
  bool mounted = false;
  bool signals = false;
  ~Session() {
    if (!se) return;
    if (signals) fuse_remove_signal_handlers(se);
    if (mounted) fuse_session_unmount(se);
    fuse_session_destroy(se);
  }
};
struct LoopConfig {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  ~LoopConfig() { fuse_loop_cfg_destroy(cfg); }
};

int run(const nestbox::fs::Options& opts) {
  using namespace nestbox;
  HostLayout layout = HostLayout::discover();
  spdlog::info("nestbox-fs {} on a {} cgroup layout, mounting at {}", NESTBOX_VERSION,
               layout_name(layout.layout), opts.mountpoint);
  fs::Filesystem filesystem(opts, layout, open_cgroup_tree(layout));

  std::string mount_opts = "fsname=nestbox-fs,subtype=nestbox-fs";
  if (opts.allow_other) mount_opts += ",allow_other";
  FuseArgs args;
  fuse_opt_add_arg(&args.args, "nestbox-fs");
  fuse_opt_add_arg(&args.args, "-o");
  fuse_opt_add_arg(&args.args, mount_opts.c_str());
  for (const auto& o : opts.fuse_options) {
    fuse_opt_add_arg(&args.args, "-o");
    fuse_opt_add_arg(&args.args, o.c_str());
  }

  Session session;
  const auto& ops = fs::Filesystem::operations();
  session.se = fuse_session_new(&args.args, &ops, sizeof ops, &filesystem);
  if (!session.se) {
    spdlog::error("cannot create the FUSE session (bad -o option?)");
    return 1;
  }
  // SIGTERM and SIGINT always stop the daemon cleanly (unmounting), whatever the
  // parent left behind: libfuse installs its handlers only over the default
  // action, so an inherited "ignore" or a blocked mask would make a stop hang.
  // SIGHUP keeps an inherited "ignore" (nohup).
  for (int sig : {SIGTERM, SIGINT}) ::signal(sig, SIG_DFL);
  const sigset_t always_stop = signal_set({SIGTERM, SIGINT});
  pthread_sigmask(SIG_UNBLOCK, &always_stop, nullptr);
  // Stray signals must never take the mount down with the daemon (a dead FUSE
  // daemon leaves every container's bound files answering ENOTCONN): package
  // upgrades of container managers send SIGUSR1 to lxcfs-style daemons.
  for (int sig : {SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE}) ::signal(sig, SIG_IGN);
  if (fuse_set_signal_handlers(session.se) != 0) return 1;
  session.signals = true;
  if (fuse_session_mount(session.se, opts.mountpoint.c_str()) != 0) {
    spdlog::error("cannot mount on {}", opts.mountpoint);
    return 1;
  }
  session.mounted = true;
  if (!opts.foreground && fuse_daemonize(0) != 0) return 1;
  // Threads only after the fork to the background. Ours start with the stop
  // signals blocked: libfuse's handler only marks the loop as ended, which the
  // loop notices when the signal interrupts its own thread or a worker; taken by
  // one of our threads instead, it would wake nobody until the next request.
  {
    const sigset_t stop_signals = signal_set({SIGTERM, SIGINT, SIGHUP});
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    filesystem.start();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  sd_notify(0, "READY=1");
  spdlog::info("mounted {} ({} worker threads at most)", opts.mountpoint, opts.max_threads);

  LoopConfig loop;
  // Workers are started on demand and then kept: with fewer idle workers
  // allowed than started, libfuse ends and restarts threads with every burst of
  // readers (thousands per second under load), each time freeing and
  // reallocating its 1 MB request buffer.
  fuse_loop_cfg_set_max_threads(loop.cfg, opts.max_threads);
  fuse_loop_cfg_set_idle_threads(loop.cfg, opts.max_threads);
  int rc = fuse_session_loop_mt(session.se, loop.cfg);
  sd_notify(0, "STOPPING=1");
  filesystem.stop();
  spdlog::info("unmounting {}", opts.mountpoint);
  // The loop returns the signal number when SIGTERM/SIGINT/SIGHUP ended it and 0
  // when the mount went away (umount, or systemd stopping the mount unit first):
  // both are a requested stop, not a failure (systemd would mark the unit failed).
  return rc < 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto opts = nestbox::fs::parse_options(argc, argv, exit_code);
  if (!opts) return exit_code;
  try {
    nestbox::init_logging("nestbox-fs", opts->log_level);
    return run(*opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nestbox-fs: %s\n", e.what());
    return 1;
  }
}
