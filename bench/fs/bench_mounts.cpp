// SPDX-License-Identifier: Apache-2.0
#include "bench_mounts.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "nestbox/parse.hpp"

namespace nestbox::bench {

bool is_mountpoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto f = split_ws(line);
    if (f.size() > 4 && f[4] == path) return true;
  }
  return false;
}

DaemonMount::DaemonMount(std::string name, std::vector<std::string> argv, const std::string& mountpoint)
    : name_(std::move(name)), mountpoint_(mountpoint) {
  argv.push_back(mountpoint);
  std::string log = mountpoint + ".log";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    if (is_mountpoint(mountpoint_)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(name_ + " exited before mounting; see " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(name_ + " did not mount within 10 s");
}

DaemonMount::~DaemonMount() {
  ::umount2(mountpoint_.c_str(), MNT_DETACH);
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::vector<pid_t> DaemonMount::processes() const {
  std::vector<pid_t> out;
  if (pid_ <= 0) return out;
  out.push_back(pid_);
  for (std::size_t i = 0; i < out.size(); ++i) {
    // Children of every thread (a thread may have forked the server).
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(out[i]) + "/task", ec)) {
      std::ifstream in(task.path() / "children");
      pid_t kid = 0;
      while (in >> kid) out.push_back(kid);
    }
  }
  return out;
}

long DaemonMount::status_kb(const std::string& key) const {
  long total = -1;
  for (pid_t p : processes()) {
    std::ifstream in("/proc/" + std::to_string(p) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + ":", 0) == 0) total = std::max(total, 0L) + std::stol(line.substr(key.size() + 1));
    }
  }
  return total;
}

double DaemonMount::cpu_seconds() const {
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double total = 0;
  for (pid_t p : processes()) {
    std::ifstream in("/proc/" + std::to_string(p) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command's closing parenthesis: state is field 3,
    // utime 14 and stime 15.
    auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    auto f = split_ws(std::string_view(text).substr(close + 1));
    if (f.size() > 12) total += (std::stod(std::string(f[11])) + std::stod(std::string(f[12]))) / tick;
  }
  return total;
}

}  // namespace nestbox::bench
