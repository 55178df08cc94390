// SPDX-License-Identifier: Apache-2.0
#include "supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "fd_store.hpp"
#include "handoff.hpp"
#include "handover.hpp"
#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"
#include "session_args.hpp"
#include "takeover.hpp"

namespace nestbox::fs {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How long a new server may take from exec to serving.
constexpr auto kReadyTimeout = 20s;
// How long a drained or stopped server may take to exit before it is killed.
constexpr auto kExitTimeout = 20s;

// The mounted session (no operations: the supervisor never reads the device).
struct MountedSession {
  fuse_session* se = nullptr;
  bool mounted = false;
  ~MountedSession() {
    if (!se) return;
    if (mounted) fuse_session_unmount(se);
    fuse_session_destroy(se);
  }
};

struct Child {
  pid_t pid = -1;
  UniqueFd ctl;
  UniqueFd pidfd;        // kept in the fd store; how an adopted server's exit is seen
  bool adopted = false;  // started by an earlier supervisor: not our child
  bool ready = false;
  bool draining = false;
  Clock::time_point drain_since{};
};

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string argv_of_self() {
  std::string all;
  if (FILE* f = std::fopen("/proc/self/cmdline", "re")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) all.append(buf, n);
    std::fclose(f);
  }
  return all;
}

// The pid a pidfd refers to (its fdinfo's "Pid:"), -1 once it has exited.
pid_t pid_of(int pidfd) {
  FILE* f = std::fopen(("/proc/self/fdinfo/" + std::to_string(pidfd)).c_str(), "re");
  if (!f) return -1;
  char line[256];
  pid_t pid = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "Pid:", 4) == 0) pid = static_cast<pid_t>(std::atoi(line + 4));
  std::fclose(f);
  return pid > 0 ? pid : -1;
}

bool exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

// A FUSE mount whose connection has ended answers ENOTCONN on every walk and
// cannot be mounted over: detach it (its last server and fd store are gone).
void detach_dead_mount(const std::string& mountpoint) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) == 0 || errno != ENOTCONN) return;
  if (::umount2(mountpoint.c_str(), MNT_DETACH) == 0)
    spdlog::warn("detached the dead FUSE mount left at {}", mountpoint);
  else
    spdlog::warn("cannot detach the dead mount at {}: {}", mountpoint, std::strerror(errno));
}

// --ready-file: our pid while we serve. Written beside and renamed, so a
// reader never sees half a file.
void write_ready_file(const std::string& path) {
  if (path.empty()) return;
  const std::string tmp = path + ".new";
  FILE* f = std::fopen(tmp.c_str(), "we");
  if (!f || std::fprintf(f, "%d\n", static_cast<int>(::getpid())) < 0 || std::fclose(f) != 0 ||
      std::rename(tmp.c_str(), path.c_str()) != 0)
    spdlog::warn("cannot write the ready file {}: {}", path, std::strerror(errno));
}

void remove_ready_file(const std::string& path) {
  if (!path.empty()) ::unlink(path.c_str());
}

class Supervisor {
 public:
  explicit Supervisor(const Options& opts) : opts_(opts), exe_(self_path()), cmdline_(argv_of_self()) {}
  int run();

 private:
  std::optional<Child> spawn(const std::string& why);
  bool await_ready(Child& c);
  void reap();
  void on_server_gone(int status);
  void upgrade();
  void stop();
  bool adopt(StoredConnection& stored);
  void store_server();
  void forget_store();
  void listen_for_takeover();
  void answer_takeover();

  const Options& opts_;
  // The binary's path as it was at start: an upgrade replaces the file there,
  // after which /proc/self/exe names a deleted file.
  const std::string exe_;
  const std::string cmdline_;  // NUL-separated, as in /proc/self/cmdline
  int fuse_fd_ = -1;            // owned by the session
  std::string init_;            // the kernel's INIT request, once the first server read it
  std::uint16_t epoch_ = 0;
  std::optional<Child> server_;  // the one serving (or starting to)
  std::optional<Child> old_;     // the one draining after an upgrade
  unsigned failures_ = 0;        // servers in a row that died before ready
  bool stopping_ = false;
  bool connection_gone_ = false;
  bool adopted_ = false;        // the connection came from the fd store or a handover (we did not mount it)
  bool handed_over_ = false;    // another supervisor took the connection over: we only wait for our stop
  UniqueFd state_;              // the fd store's "state" memfd (also handed over)
  UniqueFd handover_listener_;  // --handover: where a later supervisor asks for the connection
};

std::optional<Child> Supervisor::spawn(const std::string& why) {
  // 1. A socketpair per child: its end tells us readiness, our end asks for a
  //    drain; either side sees the other's death as EOF.
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    spdlog::error("socketpair: {}", std::strerror(errno));
    return std::nullopt;
  }
  UniqueFd mine(sv[0]), theirs(sv[1]);
  std::vector<std::string> args;
  for (std::size_t pos = 0; pos < cmdline_.size();) {
    std::size_t end = cmdline_.find('\0', pos);
    if (end == std::string::npos) end = cmdline_.size();
    args.push_back(cmdline_.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string env = std::string(kServeEnv) + "=" + std::to_string(fuse_fd_) + "," + std::to_string(theirs.get());

  // 2. fork + exec of the binary now at our path. Only the two fds the server
  //    needs lose close-on-exec, in the child.
  ++epoch_;
  if (epoch_ == 0) epoch_ = 1;
  // Recorded before the server can use it: a supervisor restarted after ours
  // goes on from here, so no epoch repeats on the connection.
  if (state_) rewrite_state(state_.get(), SupervisorState{epoch_, init_});
  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("fork: {}", std::strerror(errno));
    return std::nullopt;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) ::signal(sig, SIG_DFL);
    ::fcntl(fuse_fd_, F_SETFD, 0);
    ::fcntl(theirs.get(), F_SETFD, 0);
    ::putenv(const_cast<char*>(env.c_str()));
    // The supervisor is the service's main process; a server must not talk to
    // the service manager in its place.
    ::unsetenv("NOTIFY_SOCKET");
    ::execv(exe_.c_str(), argv.data());
    ::_exit(127);
  }
  theirs.reset();
  spdlog::info("started server {} (epoch {}, {}) from {}", pid, epoch_, why, exe_);
  Child c;
  c.pid = pid;
  c.ctl = std::move(mine);
  c.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // 3. The start message: which epoch it is and the INIT to present.
  send_hello(c.ctl.get(), Hello{epoch_, init_});
  return c;
}

bool Supervisor::await_ready(Child& c) {
  auto init = recv_ready(c.ctl.get(), std::chrono::duration_cast<std::chrono::milliseconds>(kReadyTimeout));
  if (!init) return false;
  if (init_.empty()) init_ = std::move(*init);
  c.ready = true;
  return true;
}

// What a restarted supervisor needs, once a server serves: the connection and
// state (stored once), the serving server's control socket and pidfd.
void Supervisor::store_server() {
  if (!FdStore::available() || !server_ || !server_->ready) return;
  if (!state_) {
    state_ = make_state_memfd(SupervisorState{epoch_, init_});
    if (!state_) {
      spdlog::warn("memfd_create: {}; a supervisor restart will mount anew", std::strerror(errno));
      return;
    }
    FdStore::put("fuse", fuse_fd_);
    FdStore::put("state", state_.get());
  }
  rewrite_state(state_.get(), SupervisorState{epoch_, init_});
  FdStore::put("ctl", server_->ctl.get());
  if (server_->pidfd) FdStore::put("server", server_->pidfd.get());
}

// A real stop: nothing may be adopted from a connection being unmounted (a
// `systemctl restart` keeps the store across the stop).
void Supervisor::forget_store() {
  for (const char* name : {"server", "ctl", "state", "fuse"}) FdStore::remove(name);
}

// Steps of taking over a connection an earlier supervisor of this service
// mounted, from what it left in the fd store.
bool Supervisor::adopt(StoredConnection& stored) {
  // 1. Only a live connection with its state is worth adopting; anything else
  //    is closed and the mount (if dead) detached, then mounted anew.
  if (!stored.fuse || !connection_alive(stored.fuse.get())) return false;
  std::optional<SupervisorState> st = stored.state ? read_state(stored.state.get()) : std::nullopt;
  if (!st || st->init.empty()) {
    spdlog::warn("the fd store's connection has no usable state; mounting anew");
    return false;
  }
  fuse_fd_ = stored.fuse.release();
  state_ = std::move(stored.state);
  epoch_ = st->epoch;
  init_ = std::move(st->init);
  adopted_ = true;
  // 2. The server the earlier supervisor ran, if it still serves, becomes the
  //    "old" one of an upgrade: it drains once ours is ready.
  if (stored.server && stored.ctl && !exited(stored.server.get())) {
    Child orphan;
    orphan.pid = pid_of(stored.server.get());
    orphan.ctl = std::move(stored.ctl);
    orphan.pidfd = std::move(stored.server);
    orphan.adopted = true;
    orphan.ready = true;
    old_ = std::move(orphan);
    spdlog::info("adopted the connection (epoch {}); server {} of the previous supervisor still serves", epoch_,
                 old_->pid);
  } else {
    // 3. No server left: what the last one had read but not answered is queued again.
    spdlog::info("adopted the connection (epoch {}); no server left serving it", epoch_);
    if (int err = notify_resend(fuse_fd_); err != 0)
      spdlog::warn("the kernel cannot re-queue the dead server's requests ({})", std::strerror(err));
  }
  return true;
}

void Supervisor::on_server_gone(int status) {
  const bool was_ready = server_->ready;
  server_.reset();
  if (WIFEXITED(status))
    spdlog::warn("server exited with status {}", WEXITSTATUS(status));
  else
    spdlog::error("server killed by signal {}", WTERMSIG(status));
  if (!connection_alive(fuse_fd_)) {
    spdlog::info("the FUSE connection has ended (unmounted or aborted)");
    connection_gone_ = true;
    return;
  }
  // 1. Requests the dead server had read are stuck in the kernel's processing
  //    queue; with no server alive, a resend re-queues exactly those.
  if (int err = notify_resend(fuse_fd_); err != 0)
    spdlog::warn("the kernel cannot re-queue the dead server's requests ({}): their readers wait until killed",
                 std::strerror(err));
  // 2. A server that dies before serving (a broken install, say) is retried
  //    with a growing pause, so a crash loop does not eat the machine.
  failures_ = was_ready ? 0 : failures_ + 1;
  if (failures_ > 0) std::this_thread::sleep_for(std::min(100ms * (1u << std::min(failures_, 6u)), 5000ms));
  server_ = spawn("restart");
  if (server_ && !await_ready(*server_)) spdlog::error("restarted server did not become ready");
  store_server();
}

void Supervisor::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (old_ && !old_->adopted && pid == old_->pid) {
      spdlog::info("previous server {} has exited", pid);
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      old_.reset();
      // A drained server has answered all it read; one that died draining may
      // have left requests behind. The resend then also repeats the new
      // server's requests in flight (they are answered twice; the kernel drops
      // the first answer).
      if (!clean && connection_alive(fuse_fd_)) notify_resend(fuse_fd_);
    } else if (server_ && pid == server_->pid) {
      // After a handover our server is the new supervisor's to drain; its
      // exit is expected.
      if (!stopping_ && !handed_over_) on_server_gone(status);
      else server_.reset();
    }
  }
  // A server an earlier supervisor started is not our child: its pidfd tells.
  if (old_ && old_->adopted && old_->pidfd && exited(old_->pidfd.get())) {
    spdlog::info("previous supervisor's server {} has exited", old_->pid);
    old_.reset();
    if (connection_alive(fuse_fd_)) notify_resend(fuse_fd_);
  }
}

void Supervisor::upgrade() {
  if (handed_over_) {
    spdlog::warn("upgrade refused: the connection was handed over to another nestbox-fs");
    return;
  }
  if (old_) {
    spdlog::warn("upgrade refused: the previous upgrade's server is still draining");
    return;
  }
  // 1. Start the new binary beside the running server; both serve for a while
  //    (the kernel gives each request to one reader of the device).
  auto next = spawn("upgrade");
  if (!next) return;
  if (!await_ready(*next)) {
    // 2a. It did not start: the old server never stopped serving.
    spdlog::error("the new server did not become ready; the running one keeps serving");
    ::kill(next->pid, SIGKILL);
    int status = 0;
    ::waitpid(next->pid, &status, 0);
    // One that got as far as reading the device may have left requests behind
    // (127: the exec itself failed, it never read).
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127)) notify_resend(fuse_fd_);
    return;
  }
  // 2b. Ready: the old one stops reading, answers what it read, and exits.
  if (server_) {
    old_ = std::move(server_);
    old_->draining = true;
    old_->drain_since = Clock::now();
    send_drain(old_->ctl.get());
  }
  server_ = std::move(next);
  spdlog::info("upgrade: server {} is serving", server_->pid);
  store_server();
}

void Supervisor::stop() {
  stopping_ = true;
  // Signals go through the pidfd where there is one: an adopted server's pid
  // is not ours to wait for, and could be reused once it exits.
  auto signal_child = [](const Child& c, int sig) {
    if (c.pidfd) ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), sig, nullptr, 0);
    else ::kill(c.pid, sig);
  };
  for (auto* c : {&server_, &old_})
    if (*c) signal_child(**c, SIGTERM);
  const auto deadline = Clock::now() + kExitTimeout;
  while ((server_ || old_) && Clock::now() < deadline) {
    int status;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      if (server_ && pid == server_->pid) server_.reset();
      if (old_ && !old_->adopted && pid == old_->pid) old_.reset();
      continue;
    }
    if (old_ && old_->adopted && (!old_->pidfd || exited(old_->pidfd.get()))) {
      old_.reset();
      continue;
    }
    std::this_thread::sleep_for(10ms);
  }
  for (auto* c : {&server_, &old_})
    if (*c) {
      signal_child(**c, SIGKILL);
      if (!(*c)->adopted) ::waitpid((*c)->pid, nullptr, 0);
    }
}

void Supervisor::listen_for_takeover() {
  if (opts_.handover.empty()) return;
  try {
    handover_listener_ = listen_for_handover(opts_.handover);
    spdlog::info("a later nestbox-fs can take this mount over through {}", opts_.handover);
  } catch (const Error& e) {
    spdlog::error("no handover socket: {}", e.what());
  }
}

// Steps of handing the connection over to a supervisor that asked for it.
void Supervisor::answer_takeover() {
  // 1. Only a settled connection goes: one server, ready, with its pidfd (the
  //    new supervisor sees the server's exit through it).
  std::string busy;
  if (old_) busy = "an upgrade is still draining the previous server";
  else if (!server_ || !server_->ready) busy = "no server is ready";
  else if (!server_->pidfd) busy = "the kernel gave no pidfd for the server";
  // 2. The state it goes on from: the epoch to count on from and the INIT.
  if (busy.empty()) {
    if (!state_) state_ = make_state_memfd(SupervisorState{epoch_, init_});
    else rewrite_state(state_.get(), SupervisorState{epoch_, init_});
    if (!state_) busy = std::string("memfd_create: ") + std::strerror(errno);
  }
  ConnectionFds fds;
  if (busy.empty()) fds = {fuse_fd_, state_.get(), server_->ctl.get(), server_->pidfd.get()};
  // 3. Hand over and wait until the new supervisor's server is ready (it
  //    reports "done") or has given up; until then ours serves as before.
  if (!serve_handover(handover_listener_.get(), fds, busy, kReadyTimeout + 5s)) {
    // A new server that started reading and died may have left requests in
    // the kernel's processing queue (answered twice at worst: the kernel drops
    // the second answer).
    if (busy.empty() && connection_alive(fuse_fd_)) notify_resend(fuse_fd_);
    return;
  }
  // 4. Step back: the new supervisor drains our server; we neither restart
  //    it nor unmount, and wait for our stop (a pod's container that exited
  //    would be restarted and take the connection back).
  handed_over_ = true;
  handover_listener_.reset();
  remove_ready_file(opts_.ready_file);
  forget_store();
  spdlog::info("handed {} over to a new nestbox-fs; waiting to be stopped (nothing will be unmounted)",
               opts_.mountpoint);
}

int Supervisor::run() {
  if (exe_.empty()) {
    spdlog::error("cannot read /proc/self/exe");
    return 1;
  }
  FuseArgs args(opts_);
  MountedSession session;
  static const fuse_lowlevel_ops no_ops{};
  session.se = fuse_session_new(&args.args, &no_ops, sizeof no_ops, nullptr);
  if (!session.se) {
    spdlog::error("cannot create the FUSE session (bad -o option?)");
    return 1;
  }
  // Every signal is taken from a signalfd in the loop below: nothing runs in a
  // handler, and nothing the supervisor does is interrupted.
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&handled, sig);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  // A terminal's hangup must not end the mount; SIGUSR2, SIGALRM: stray
  // signals of other daemons' upgrades; SIGPIPE: a dead server's socket.
  for (int sig : {SIGHUP, SIGUSR2, SIGALRM, SIGPIPE}) ::signal(sig, SIG_IGN);
  UniqueFd sigfd(::signalfd(-1, &handled, SFD_CLOEXEC));
  if (!sigfd) {
    spdlog::error("signalfd: {}", std::strerror(errno));
    return 1;
  }

  // Under a service manager, a connection an earlier supervisor of this
  // service left in the fd store is taken over rather than mounted anew; so is
  // one a running supervisor hands over through --handover.
  StoredConnection stored = FdStore::take();
  UniqueFd handover_link;
  if (!opts_.handover.empty() && !stored.fuse) {
    try {
      if (auto got = request_handover(opts_.handover, 10s)) {
        stored = std::move(got->connection);
        handover_link = std::move(got->link);
        spdlog::info("the nestbox-fs serving {} hands its connection over", opts_.mountpoint);
      }
    } catch (const Error& e) {
      // Mounting beside a live one would give new containers another mount
      // than the running ones: better to fail and be started again.
      spdlog::error("cannot take over through {}: {}", opts_.handover, e.what());
      return 1;
    }
  }
  if (!adopt(stored)) {
    stored = StoredConnection{};
    detach_dead_mount(opts_.mountpoint);
    if (fuse_session_mount(session.se, opts_.mountpoint.c_str()) != 0) {
      spdlog::error("cannot mount on {}", opts_.mountpoint);
      return 1;
    }
    session.mounted = true;
    fuse_fd_ = fuse_session_fd(session.se);
  }
  if (!opts_.foreground && fuse_daemonize(0) != 0) return 1;

  server_ = spawn(adopted_ ? "after a supervisor restart" : "first");
  if (!server_ || !await_ready(*server_)) {
    spdlog::error("the server did not start");
    if (adopted_) {
      // The connection stays with the earlier server (if one still serves)
      // and with the fd store; the service manager starts us again.
      if (server_) {
        ::kill(server_->pid, SIGKILL);
        ::waitpid(server_->pid, nullptr, 0);
      }
      return 1;
    }
    stop();
    return 1;
  }
  store_server();
  if (handover_link) {
    try {
      confirm_takeover(handover_link.get());
    } catch (const Error& e) {
      spdlog::warn("the supervisor that handed over is gone: {}", e.what());
    }
    handover_link.reset();
  }
  if (old_) {
    // The earlier supervisor's server answers what it read, then exits.
    old_->draining = true;
    old_->drain_since = Clock::now();
    send_drain(old_->ctl.get());
  }
  spdlog::info("{} {}; supervising", adopted_ ? "took over" : "mounted", opts_.mountpoint);
  listen_for_takeover();
  write_ready_file(opts_.ready_file);
  sd_notify(0, "READY=1");

  while (!connection_gone_) {
    pollfd p[3] = {{sigfd.get(), POLLIN, 0}, {-1, POLLIN, 0}, {handover_listener_.get(), POLLIN, 0}};
    if (old_ && old_->adopted && old_->pidfd) p[1].fd = old_->pidfd.get();
    // Wakes at least once a second to bound how long a drain may take.
    int r = ::poll(p, 3, 1000);
    if (old_ && Clock::now() - old_->drain_since > kExitTimeout) {
      spdlog::error("previous server {} did not finish draining; killing it", old_->pid);
      if (old_->pidfd) ::syscall(SYS_pidfd_send_signal, old_->pidfd.get(), SIGKILL, nullptr, 0);
      else ::kill(old_->pid, SIGKILL);
    }
    if (r <= 0) continue;
    if (p[1].revents) reap();
    if (p[2].revents) answer_takeover();
    if (!(p[0].revents & POLLIN)) continue;
    signalfd_siginfo si;
    if (::read(sigfd.get(), &si, sizeof si) != sizeof si) continue;
    switch (si.ssi_signo) {
      case SIGCHLD: reap(); break;
      case SIGUSR1:
        upgrade();
        break;
      default:  // SIGTERM, SIGINT
        if (handed_over_) {
          // The mount and its connection are the new supervisor's now.
          spdlog::info("stopping (signal {}); the mount stays with the nestbox-fs that took it over",
                       si.ssi_signo);
          // libfuse's session teardown unmounts whatever it mounted (and only
          // that frees what it allocated): leave without it.
          spdlog::shutdown();
          std::fflush(nullptr);
          ::_exit(0);
        }
        spdlog::info("stopping (signal {})", si.ssi_signo);
        remove_ready_file(opts_.ready_file);
        sd_notify(0, "STOPPING=1");
        forget_store();
        stop();
        spdlog::info("unmounting {}", opts_.mountpoint);
        if (adopted_ && ::umount2(opts_.mountpoint.c_str(), MNT_DETACH) != 0)
          spdlog::warn("cannot unmount {}: {}", opts_.mountpoint, std::strerror(errno));
        return 0;
    }
  }
  remove_ready_file(opts_.ready_file);
  forget_store();
  stop();
  return 0;
}

}  // namespace

int supervise(const Options& opts) {
  Supervisor s(opts);
  return s.run();
}

}  // namespace nestbox::fs
