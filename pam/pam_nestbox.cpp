// SPDX-License-Identifier: Apache-2.0
// pam_nestbox: a PAM session module giving each login a cgroup of its own
// inside the user's nestbox-cgmgr delegation, so that the user's runtimes (LXC,
// podman, nestbox-run) start from a cgroup the user may manage. On session
// open it asks the manager for the user's delegation, creates
// <delegation>/session-<pid> and moves the session leader in; on close it marks
// that cgroup remove-on-empty, so it goes with the last process of the session.
//
// Module arguments: `debug` (more log lines), `bus=ADDRESS` (a D-Bus address
// instead of the system bus socket). It never blocks a login: every failure is
// logged (auth facility, with the reason) and answered PAM_IGNORE.
#define PAM_SM_SESSION
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <signal.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "bus_calls.hpp"

namespace {

using nestbox::pam::ManagerBus;

constexpr const char* kDataKey = "nestbox_session_cgroup";
constexpr int kUserStepTimeoutMs = 15'000;  // two calls of at most 5 s each, and the fork

struct ModuleArgs {
  std::string bus = nestbox::pam::kSystemBus;
  bool debug = false;
};

// Log text from elsewhere (a manager's message, a user name) on one line.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

ModuleArgs parse_args(pam_handle_t* pamh, int argc, const char** argv) {
  ModuleArgs args;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "debug") {
      args.debug = true;
    } else if (arg.rfind("bus=", 0) == 0 && arg.size() > 4) {
      args.bus = arg.substr(4);
    } else {
      pam_syslog(pamh, LOG_WARNING, "ignoring unknown argument \"%s\"", printable(arg).c_str());
    }
  }
  return args;
}

struct Account {
  std::string name;
  uid_t uid;
  gid_t gid;
};

std::optional<Account> account_of(pam_handle_t* pamh) {
  const char* user = nullptr;
  if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS || !user || !*user) return std::nullopt;
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (getpwnam_r(user, &pw, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
  return Account{user, pw.pw_uid, pw.pw_gid};
}

// In a forked child, as the user: the delegation (the policy's quotas and
// ceilings apply exactly as if the user asked) and a new cgroup in it, made
// by the user so that it is the user's. Writes the path, or "!" and the error.
[[noreturn]] void answer(int fd, const std::string& text, int code) {
  [[maybe_unused]] ssize_t n = ::write(fd, text.data(), text.size());
  ::_exit(code);
}

[[noreturn]] void user_step(int fd, const Account& account, const ModuleArgs& args, pid_t leader) {
  auto finish = [fd](const std::string& text, int code) { answer(fd, text, code); };
  // Drop every privilege for good; checked, since a half-dropped child would
  // speak to the manager as root.
  if (::setgroups(0, nullptr) != 0 || ::setresgid(account.gid, account.gid, account.gid) != 0 ||
      ::setresuid(account.uid, account.uid, account.uid) != 0 || ::geteuid() != account.uid ||
      ::getegid() != account.gid)
    finish(std::string("!cannot become the user: ") + std::strerror(errno), 1);
  std::string error, grant;
  auto bus = ManagerBus::connect(args.bus, &error);
  if (!bus) finish("!" + error, 1);
  if (!bus->request_user_delegation(&grant, &error)) finish("!" + error, 1);
  // session-<leader pid> names the session while it lives; a leftover of an
  // earlier session with that pid (the manager was down at its close) gets a suffix.
  const std::string base = grant + "/session-" + std::to_string(leader);
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::string path = attempt == 0 ? base : base + "-" + std::to_string(attempt);
    if (bus->create(path, &error)) finish(path, 0);
    if (error.find("org.nestbox.Error.Exists") == std::string::npos) break;
  }
  answer(fd, "!" + error, 1);
}

// Runs user_step in a child and returns its answer (bounded in time).
std::optional<std::string> session_cgroup(const Account& account, const ModuleArgs& args, std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  const pid_t leader = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return std::nullopt;
  }
  if (child == 0) {
    ::close(fds[0]);
    user_step(fds[1], account, args, leader);
  }
  ::close(fds[1]);
  std::string answer;
  char buf[512];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, kUserStepTimeoutMs);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      answer = "!no answer from the manager within " + std::to_string(kUserStepTimeoutMs / 1000) + " s";
      ::kill(child, SIGKILL);
      break;
    }
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    answer.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  // The application may reap children itself (a SIGCHLD handler): ECHILD is fine.
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (answer.empty()) answer = "!the helper process ended without an answer";
  if (answer[0] == '!') {
    *error = answer.substr(1);
    return std::nullopt;
  }
  return answer;
}

void free_data(pam_handle_t*, void* data, int) { std::free(data); }

}  // namespace

// The two entry points libpam looks up; everything else stays hidden.
#define NESTBOX_PAM_ENTRY extern "C" __attribute__((visibility("default"))) int

NESTBOX_PAM_ENTRY pam_sm_open_session(pam_handle_t* pamh, int, int argc, const char** argv) {
  const ModuleArgs args = parse_args(pamh, argc, argv);
  // 1. Whose session: root's needs no delegation; an unknown user gets nothing.
  const auto account = account_of(pamh);
  if (!account) {
    pam_syslog(pamh, LOG_ERR, "cannot tell the session's user; no cgroup made");
    return PAM_IGNORE;
  }
  if (account->uid == 0) return PAM_IGNORE;
  // 2. As the user: the delegation and a session cgroup inside it.
  std::string error;
  const auto path = session_cgroup(*account, args, &error);
  if (!path) {
    pam_syslog(pamh, LOG_WARNING, "no session cgroup for %s: %s", printable(account->name).c_str(),
               printable(error).c_str());
    return PAM_IGNORE;
  }
  // 3. As root: move the session leader (this process) in; whatever it starts
  //    from now on inherits the cgroup. The user could not: the leader runs as
  //    root (su, sshd's session process, login).
  auto bus = ManagerBus::connect(args.bus, &error);
  if (!bus || !bus->attach(*path, ::getpid(), &error)) {
    pam_syslog(pamh, LOG_WARNING, "session of %s not moved into %s: %s", printable(account->name).c_str(),
               path->c_str(), printable(error).c_str());
    // The empty cgroup must not stay behind.
    if (bus) bus->remove_on_empty(*path, &error);
    return PAM_IGNORE;
  }
  // 4. Remembered for the close of this session (same process, same handle).
  char* data = ::strdup(path->c_str());
  if (data && pam_set_data(pamh, kDataKey, data, free_data) != PAM_SUCCESS) std::free(data);
  if (args.debug) pam_syslog(pamh, LOG_DEBUG, "session of %s in %s", printable(account->name).c_str(), path->c_str());
  return PAM_SUCCESS;
}

NESTBOX_PAM_ENTRY pam_sm_close_session(pam_handle_t* pamh, int, int argc, const char** argv) {
  const ModuleArgs args = parse_args(pamh, argc, argv);
  const void* data = nullptr;
  if (pam_get_data(pamh, kDataKey, &data) != PAM_SUCCESS || !data) return PAM_IGNORE;
  const std::string path = static_cast<const char*>(data);
  // The cgroup goes with the session's last process (the leader itself, or a
  // daemon the user left running): remove-on-empty, kept across manager restarts.
  std::string error;
  auto bus = ManagerBus::connect(args.bus, &error);
  if (!bus || !bus->remove_on_empty(path, &error)) {
    pam_syslog(pamh, LOG_WARNING, "session cgroup %s not marked for removal: %s", path.c_str(),
               printable(error).c_str());
    return PAM_IGNORE;
  }
  if (args.debug) pam_syslog(pamh, LOG_DEBUG, "session cgroup %s goes with its last process", path.c_str());
  return PAM_SUCCESS;
}
