// SPDX-License-Identifier: Apache-2.0
// Starting and reaping processes: fork+exec with everything prepared before
// fork(), so the child only makes async-signal-safe calls.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "nestbox/unique_fd.hpp"
#include "testkit_internal.hpp"

namespace nestbox::testkit {
namespace detail {
namespace {

[[noreturn]] void sys_fail(const std::string& what) {
  throw std::runtime_error("testkit: " + what + ": " + std::strerror(errno));
}

// Environment variables handed through to children so that sanitized programs
// report the same way as the test binary itself.
constexpr const char* kPassThroughEnv[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                           "TMPDIR"};

struct PasswdInfo {
  gid_t gid;
  std::string home;
  std::string name;
};

std::optional<PasswdInfo> lookup_uid(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* result = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr) {
    return std::nullopt;
  }
  return PasswdInfo{pw.pw_gid, pw.pw_dir, pw.pw_name};
}

// Writes a decimal number without allocating (safe after fork()).
std::size_t format_decimal(long value, char* out) {
  char tmp[24];
  std::size_t n = 0;
  bool negative = value < 0;
  unsigned long v = negative ? static_cast<unsigned long>(-value) : static_cast<unsigned long>(value);
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  std::size_t len = 0;
  if (negative) out[len++] = '-';
  while (n > 0) out[len++] = tmp[--n];
  out[len] = '\0';
  return len;
}

// Reports a setup failure from the child through the error pipe and exits.
[[noreturn]] void child_fail(int err_fd, const char* what, int err) {
  char msg[512];
  std::size_t len = 0;
  for (const char* p = what; *p != '\0' && len < 400; ++p) msg[len++] = *p;
  const char* sep = ": ";
  for (const char* p = sep; *p != '\0'; ++p) msg[len++] = *p;
  const char* reason = strerrordesc_np(err);
  for (const char* p = reason ? reason : "?"; *p != '\0' && len < sizeof(msg) - 1; ++p) {
    msg[len++] = *p;
  }
  ssize_t ignored = ::write(err_fd, msg, len);
  (void)ignored;
  _exit(127);
}

// Moves `fd` to `target` in the child (dup2 clears CLOEXEC; same-number needs explicit clear).
void child_place_fd(int fd, int target, int err_fd) {
  if (fd == target) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) child_fail(err_fd, "fcntl", errno);
  } else if (dup2(fd, target) < 0) {
    child_fail(err_fd, "dup2", errno);
  }
}

}  // namespace

// Debian 12's <sys/pidfd.h> lacks C linkage for C++; the raw syscall is simplest.
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string find_in_path(const std::string& name, const std::string& path_env) {
  if (name.find('/') != std::string::npos) return name;
  std::string search = path_env;
  if (search.empty()) {
    const char* env = std::getenv("PATH");
    search = env ? env : "/usr/local/bin:/usr/bin:/bin";
  }
  search += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= search.size()) {
    std::size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    start = end + 1;
  }
  return {};
}

pid_t spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) throw std::invalid_argument("testkit: empty argv");
  const RunOptions& opt = spec.options;

  // ---- everything the child needs, prepared before fork ----
  std::optional<gid_t> gid = opt.gid;
  std::string home = "/root";
  std::string user = "root";
  if (const char* h = std::getenv("HOME")) home = h;
  if (opt.uid) {
    auto info = lookup_uid(*opt.uid);
    if (!gid) gid = info ? info->gid : static_cast<gid_t>(*opt.uid);
    home = info ? info->home : "/";
    user = info ? info->name : std::to_string(*opt.uid);
  }
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", home},
      {"USER", user},
      {"LOGNAME", user},
      {"LANG", "C"}};
  for (const char* name : kPassThroughEnv) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  for (const auto& [k, v] : opt.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string exe = find_in_path(spec.argv[0], env["PATH"]);
  if (exe.empty()) throw std::runtime_error("testkit: program not found in PATH: " + spec.argv[0]);
  std::vector<std::string> argv_copy = spec.argv;
  std::vector<char*> argv;
  for (auto& a : argv_copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> procs_files;
  if (opt.cgroup) {
    for (const auto& dir : cgroup_dirs(*opt.cgroup)) procs_files.push_back(dir + "/cgroup.procs");
    if (procs_files.empty()) {
      throw std::runtime_error("testkit: cgroup " + opt.cgroup->str() + " exists in no hierarchy");
    }
  }
  std::string cwd = opt.cwd.value_or("");

  UniqueFd devnull;
  int stdin_fd = spec.stdin_fd;
  if (stdin_fd < 0) {
    devnull.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) sys_fail("open /dev/null");
    stdin_fd = devnull.get();
  }

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) sys_fail("pipe2");
  UniqueFd err_read(err_pipe[0]);
  UniqueFd err_write(err_pipe[1]);

  // Descriptors are moved to high numbers first so that placing one onto 0/1/2
  // (or an extra fd's target) never clobbers another still to be placed.
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) sys_fail("fork");
  if (pid == 0) {
    int ef = err_write.get();
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    int high = 1000;
    ef = fcntl(ef, F_DUPFD_CLOEXEC, high++);
    if (ef < 0) _exit(127);
    int in = fcntl(stdin_fd, F_DUPFD_CLOEXEC, high++);
    int out = spec.stdout_fd >= 0 ? fcntl(spec.stdout_fd, F_DUPFD_CLOEXEC, high++) : 1;
    int err = spec.stderr_fd >= 0 ? fcntl(spec.stderr_fd, F_DUPFD_CLOEXEC, high++) : 2;
    if (in < 0 || out < 0 || err < 0) child_fail(ef, "fcntl", errno);
    int extra[16];
    std::size_t n_extra = spec.extra_fds.size() < 16 ? spec.extra_fds.size() : 16;
    for (std::size_t i = 0; i < n_extra; ++i) {
      extra[i] = fcntl(spec.extra_fds[i].first, F_DUPFD_CLOEXEC, high++);
      if (extra[i] < 0) child_fail(ef, "fcntl", errno);
    }
    child_place_fd(in, 0, ef);
    child_place_fd(out, 1, ef);
    child_place_fd(err, 2, ef);
    for (std::size_t i = 0; i < n_extra; ++i) child_place_fd(extra[i], spec.extra_fds[i].second, ef);
    // Everything else (including what other threads opened without O_CLOEXEC)
    // must not leak into the program: mark it close-on-exec.
    int lowest_free = 3;
    for (std::size_t i = 0; i < n_extra; ++i) {
      if (spec.extra_fds[i].second >= lowest_free) lowest_free = spec.extra_fds[i].second + 1;
    }
    if (close_range(static_cast<unsigned>(lowest_free), ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
      child_fail(ef, "close_range", errno);
    }
    for (int fd = 3; fd < lowest_free; ++fd) {
      bool keep = false;
      for (std::size_t i = 0; i < n_extra; ++i) keep = keep || spec.extra_fds[i].second == fd;
      if (!keep) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
      }
    }
    // Join the cgroup while still privileged (the target may be root-owned).
    for (const auto& file : procs_files) {
      char buf[24];
      std::size_t len = format_decimal(getpid(), buf);
      int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) child_fail(ef, file.c_str(), errno);
      if (::write(fd, buf, len) < 0) child_fail(ef, file.c_str(), errno);
      ::close(fd);
    }
    if (opt.uid || gid) {
      if (setgroups(0, nullptr) < 0) child_fail(ef, "setgroups", errno);
      if (gid && setresgid(*gid, *gid, *gid) < 0) child_fail(ef, "setresgid", errno);
      if (opt.uid && setresuid(*opt.uid, *opt.uid, *opt.uid) < 0) child_fail(ef, "setresuid", errno);
    }
    if (!cwd.empty() && chdir(cwd.c_str()) < 0) child_fail(ef, cwd.c_str(), errno);
    // After the uid change, which would clear it; the parent may already be gone.
    if (opt.stop_with_test) {
      if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) child_fail(ef, "prctl(PR_SET_PDEATHSIG)", errno);
      if (getppid() != parent) _exit(127);
    }
    execve(exe.c_str(), argv.data(), envp.data());
    child_fail(ef, exe.c_str(), errno);
  }

  err_write.reset();
  std::string failure;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(err_read.get(), buf, sizeof(buf));
    if (n > 0) {
      failure.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  if (!failure.empty()) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error("testkit: cannot start " + spec.argv[0] + ": " + failure);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int wait_pid(pid_t pid, int timeout_ms) {
  int status = 0;
  if (timeout_ms < 0) {
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) sys_fail("waitpid");
    }
    return decode_status(status);
  }
  UniqueFd pidfd(pidfd_open(pid));
  if (!pidfd) sys_fail("pidfd_open");
  pollfd p{pidfd.get(), POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (r == 0) return -1;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) sys_fail("waitpid");
  }
  return decode_status(status);
}

int kill_and_reap(pid_t pid) {
  if (::getpgid(pid) == pid) ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  return wait_pid(pid, -1);
}

int terminate_and_reap(pid_t pid, int grace_ms) {
  ::kill(pid, SIGTERM);
  // Wait without reaping, so the pid (and its process group id) stays ours
  // until the leftovers of the group are killed too.
  UniqueFd pidfd(pidfd_open(pid));
  if (pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    while (::poll(&p, 1, grace_ms) < 0 && errno == EINTR) {
    }
  }
  return kill_and_reap(pid);
}

}  // namespace detail

}  // namespace nestbox::testkit
