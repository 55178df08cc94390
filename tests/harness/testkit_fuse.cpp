// SPDX-License-Identifier: Apache-2.0
// FuseMount: runs a FUSE daemon in the foreground on a fresh mount point and
// always takes the mount and the daemon down again.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "nestbox/unique_fd.hpp"
#include "testkit_internal.hpp"

namespace nestbox::testkit {
namespace {

std::string tail(const std::string& text, std::size_t max = 8192) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

}  // namespace

FuseMount::FuseMount(std::vector<std::string> daemon_argv, std::chrono::seconds timeout,
                     std::map<std::string, std::string> env)
    : dir_(std::make_unique<TempDir>("nestbox-fuse", 0755)) {
  if (daemon_argv.empty()) throw std::invalid_argument("testkit: FuseMount needs a daemon command");
  mountpoint_ = dir_->path() + "/mnt";
  if (::mkdir(mountpoint_.c_str(), 0755) < 0 || ::chmod(mountpoint_.c_str(), 0755) < 0) {
    throw std::runtime_error("testkit: mkdir " + mountpoint_ + ": " + std::strerror(errno));
  }
  // The daemon's stderr goes to a file so a failed start can say why, and a test
  // failure (or a daemon crash, e.g. a sanitizer report) can show it afterwards.
  log_path_ = dir_->path() + "/daemon.log";
  UniqueFd log(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log) throw std::runtime_error("testkit: cannot create " + log_path_);

  daemon_argv.push_back(mountpoint_);
  detail::SpawnSpec spec;
  spec.argv = daemon_argv;
  spec.options.stop_with_test = true;
  spec.options.env = std::move(env);
  spec.stdout_fd = log.get();
  spec.stderr_fd = log.get();
  pid_ = detail::spawn(spec);
  log.reset();

  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (is_mounted(mountpoint_)) return;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      int code = detail::decode_status(status);
      pid_ = -1;
      // A daemon that forked into the background leaves its mount behind.
      if (is_mounted(mountpoint_)) return;
      throw std::runtime_error("testkit: FUSE daemon " + daemon_argv[0] + " exited with " + std::to_string(code) +
                               " before mounting; its output:\n" + tail(detail::slurp(log_path_)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      detail::kill_and_reap(pid_);
      pid_ = -1;
      throw std::runtime_error("testkit: FUSE daemon " + daemon_argv[0] + " did not mount " + mountpoint_ +
                               " in time; its output:\n" + tail(detail::slurp(log_path_)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int FuseMount::terminate_daemon() {
  if (pid_ <= 0) return -1;
  int code = detail::terminate_and_reap(pid_, 5000);
  pid_ = -1;
  return code;
}

FuseMount::~FuseMount() {
  bool died_on_its_own = pid_ > 0 && !running_daemon();
  if (::umount2(mountpoint_.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
    // Not root: let the setuid helper do it.
    try {
      RunOptions options;
      options.timeout = std::chrono::seconds(30);
      run({"fusermount3", "-u", "-z", mountpoint_}, options);
    } catch (...) {
    }
  }
  int code = 0;
  if (pid_ > 0) code = detail::terminate_and_reap(pid_, 5000);
  bool failed = ::testing::Test::HasFailure() || died_on_its_own;
  if (failed) {
    std::string log = detail::slurp(log_path_);
    if (!log.empty()) {
      std::fprintf(stderr, "---- FUSE daemon output (%s, exit %d) ----\n%s\n---- end ----\n",
                   died_on_its_own ? "it died during the test" : "test failed", code, tail(log).c_str());
    }
  }
}

bool FuseMount::running_daemon() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  // WNOWAIT: only look; the destructor reaps.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) < 0) return false;
  return info.si_pid == 0;
}

}  // namespace nestbox::testkit
