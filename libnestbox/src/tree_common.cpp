// SPDX-License-Identifier: Apache-2.0
#include "tree_common.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>
#include <sstream>

#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::detail {

void check_pid(pid_t pid) {
  if (pid <= 0) throw Error(Errc::InvalidValue, "invalid pid " + std::to_string(pid));
}

std::string file_controller(std::string_view file) {
  if (file == "tasks" || file == "notify_on_release" || file == "release_agent") return "cgroup";
  auto dot = file.find('.');
  if (dot == std::string_view::npos || dot == 0)
    throw Error(Errc::NotFound, "\"" + std::string(file) + "\" is not a cgroup interface file name");
  return std::string(file.substr(0, dot));
}

bool chown_entry(const CgroupDir& dir, std::string_view file, uid_t uid, gid_t gid,
                 std::vector<DelegatedEntry>& changed) {
  int rc;
  if (file.empty()) {
    rc = ::fchownat(dir.fd(), "", uid, gid, AT_EMPTY_PATH);
  } else {
    check_file_name(file);
    // AT_SYMLINK_NOFOLLOW: a planted symlink must not redirect the chown.
    rc = ::fchownat(dir.fd(), std::string(file).c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0 && errno == ENOENT) return false;
  }
  const auto shown = dir.hierarchy().abs(dir.path(), file);
  if (rc != 0) throw_errno(errno, "chown " + shown);
  changed.push_back({shown, uid, gid});
  return true;
}

std::vector<std::string> read_delegate_list(const std::string& delegate_file) {
  std::ifstream in(delegate_file);
  std::vector<std::string> out;
  if (!in) return out;
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  for (auto tok : split_ws(text)) {
    std::string name(tok);
    // Never hand out a limit file of the cgroup itself, whatever the list says.
    if (is_limit_key(name) || name.find('/') != std::string::npos || name == "." || name == "..") continue;
    out.push_back(name);
  }
  return out;
}

void check_pressure_resource(std::string_view resource) {
  if (resource != "cpu" && resource != "memory" && resource != "io" && resource != "irq")
    throw Error(Errc::InvalidValue,
                "invalid pressure resource \"" + std::string(resource) + "\" (allowed: cpu, memory, io, irq)");
}

void kill_walk(const CgroupTree& tree, const CgroupPath& path) {
  for (int round = 0; round < 200; ++round) {
    const std::vector<pid_t> pids = tree.processes(path, true);
    if (pids.empty()) return;
    for (pid_t pid : pids) {
      // 1. Pin the process: from here on its pid cannot name another one.
      UniqueFd pin(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
      if (!pin) continue;  // gone already
      // 2. The pid was read before the pin: signal it only if the pinned
      //    process is still inside the subtree (a recycled pid is not).
      try {
        if (!path.contains(tree.primary_cgroup_of(pid))) continue;
      } catch (const Error&) {
        continue;  // exited meanwhile
      }
      ::syscall(SYS_pidfd_send_signal, pin.get(), SIGKILL, nullptr, 0);
    }
    // 3. Killed processes leave their cgroup once they have exited; forks
    //    that raced the walk are found by the next round.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw Error(Errc::Busy, "processes keep appearing in " + path.str() + " while it is being killed");
}

}  // namespace nestbox::detail
