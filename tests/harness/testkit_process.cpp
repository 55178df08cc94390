// SPDX-License-Identifier: Apache-2.0
// run() with output capture, and Child: the process API tests use.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "nestbox/unique_fd.hpp"
#include "testkit_internal.hpp"

namespace nestbox::testkit {

namespace {

UniqueFd make_stdin(const std::string& data) {
  if (data.empty()) return UniqueFd();
  // A memfd holds any amount of input without the writer having to interleave
  // with output capture.
  UniqueFd fd(memfd_create("testkit-stdin", MFD_CLOEXEC));
  if (!fd) throw std::runtime_error(std::string("testkit: memfd_create: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("testkit: write stdin: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) < 0) throw std::runtime_error("testkit: pipe2 failed");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) throw std::runtime_error("testkit: pipe2 failed");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  UniqueFd in = make_stdin(options.stdin_data);

  detail::SpawnSpec spec;
  spec.argv = argv;
  spec.options = options;
  spec.stdin_fd = in ? in.get() : -1;
  spec.stdout_fd = out_w.get();
  spec.stderr_fd = err_w.get();
  pid_t pid = detail::spawn(spec);
  out_w.reset();
  err_w.reset();
  in.reset();
  UniqueFd pidfd(detail::pidfd_open(pid));

  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool killed = false;
  bool exited = false;
  // After the child exits, descendants it left behind may still hold the pipes;
  // give them a bounded time to finish writing rather than hanging the test.
  std::optional<std::chrono::steady_clock::time_point> drain_until;
  char buf[65536];
  while (out_r || err_r) {
    pollfd fds[3];
    nfds_t n = 0;
    int idx_out = -1, idx_err = -1, idx_pid = -1;
    if (out_r) { idx_out = static_cast<int>(n); fds[n++] = {out_r.get(), POLLIN, 0}; }
    if (err_r) { idx_err = static_cast<int>(n); fds[n++] = {err_r.get(), POLLIN, 0}; }
    if (!exited && pidfd) { idx_pid = static_cast<int>(n); fds[n++] = {pidfd.get(), POLLIN, 0}; }
    auto now = std::chrono::steady_clock::now();
    auto limit = drain_until ? std::min(*drain_until, deadline) : deadline;
    if (now >= limit) {
      if (drain_until && now >= *drain_until) break;
      if (!killed) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        killed = true;
        drain_until = now + std::chrono::seconds(2);
        deadline = *drain_until;
      }
      continue;
    }
    int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(limit - now).count()) + 1;
    int r = ::poll(fds, n, wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("testkit: poll: ") + std::strerror(errno));
    }
    auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
      if (idx < 0 || fds[idx].revents == 0) return;
      ssize_t got = ::read(fd.get(), buf, sizeof(buf));
      if (got > 0) {
        sink.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    };
    drain(idx_out, out_r, result.out);
    drain(idx_err, err_r, result.err);
    if (idx_pid >= 0 && fds[idx_pid].revents != 0) {
      exited = true;
      if (!drain_until) drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    }
  }
  int code = detail::wait_pid(pid, -1);
  result.exit_code = killed ? 128 + SIGKILL : code;
  return result;
}

// ---- Child -------------------------------------------------------------------

Child Child::spawn(const std::vector<std::string>& argv, const RunOptions& options) {
  UniqueFd in = make_stdin(options.stdin_data);
  detail::SpawnSpec spec;
  spec.argv = argv;
  spec.options = options;
  spec.stdin_fd = in ? in.get() : -1;
  UniqueFd err;
  if (options.stderr_file) {
    err = UniqueFd(::open(options.stderr_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!err) throw std::system_error(errno, std::generic_category(), "open " + *options.stderr_file);
    spec.stderr_fd = err.get();
  }
  return Child(detail::spawn(spec));
}

Child Child::fork_fn(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("testkit: fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    int code = 1;
    try {
      code = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "testkit: forked function threw: %s\n", e.what());
      code = 1;
    } catch (...) {
      code = 1;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  return Child(pid);
}

Reported fork_reporting(const std::function<int(int report_fd)>& fn) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw std::runtime_error(std::string("testkit: pipe2: ") + std::strerror(errno));
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  Child child = Child::fork_fn([&]() -> int {
    read_end.reset();
    return fn(write_end.get());
  });
  write_end.reset();
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return Reported{std::move(child), std::move(text)};
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      reaped_(std::exchange(other.reaped_, false)),
      exit_code_(std::exchange(other.exit_code_, -1)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !reaped_) detail::kill_and_reap(pid_);
    pid_ = std::exchange(other.pid_, -1);
    reaped_ = std::exchange(other.reaped_, false);
    exit_code_ = std::exchange(other.exit_code_, -1);
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    try {
      detail::kill_and_reap(pid_);
    } catch (...) {
      // Nothing sensible to do in a destructor; the kernel reaps at exit.
    }
  }
}

void Child::kill(int signal) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signal);
}

int Child::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  if (reaped_) return exit_code_;
  int code = detail::wait_pid(pid_, static_cast<int>(timeout.count()));
  if (code < 0) code = detail::kill_and_reap(pid_);
  reaped_ = true;
  exit_code_ = code;
  return code;
}

bool Child::running() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_code_ = detail::decode_status(status);
    return false;
  }
  return r == 0;
}

}  // namespace nestbox::testkit
