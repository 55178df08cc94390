// SPDX-License-Identifier: Apache-2.0
#include "empty_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <spdlog/spdlog.h>

#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"

namespace nestbox::cgmgr {

EmptyWatcher::EmptyWatcher(Manager& manager, const CgroupMount* v2, std::chrono::milliseconds poll_interval)
    : manager_(manager), interval_(poll_interval) {
  if (v2) v2_ = *v2;
  wake_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) throw_errno(errno, "eventfd");
  if (v2_) {
    inotify_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!inotify_) spdlog::warn("inotify unavailable ({}); remove-on-empty polls only", std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

EmptyWatcher::~EmptyWatcher() {
  stop_ = true;
  wake();
  thread_.join();
}

void EmptyWatcher::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_.get(), &one, sizeof one);
}

std::optional<std::string> EmptyWatcher::events_file(const std::string& cgroup) const {
  auto path = CgroupPath::try_parse(cgroup);
  auto mount_root = CgroupPath::try_parse(v2_->root);
  if (!path || !mount_root) return std::nullopt;
  auto rel = path->relative_to(*mount_root);
  if (!rel) return std::nullopt;
  std::string dir = v2_->mountpoint;
  if (!rel->is_root()) dir += rel->str();
  return dir + "/cgroup.events";
}

void EmptyWatcher::sync_watches() {
  if (!inotify_) return;
  auto marked = manager_.marked_paths();
  std::set<std::string> wanted(marked.begin(), marked.end());
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (!wanted.count(it->first)) {
      ::inotify_rm_watch(inotify_.get(), it->second);
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& path : wanted) {
    if (watches_.count(path)) continue;
    auto file = events_file(path);
    if (!file) continue;
    int wd = ::inotify_add_watch(inotify_.get(), file->c_str(), IN_MODIFY);
    if (wd >= 0) watches_[path] = wd;  // missing file: the poll tick still covers it
  }
}

void EmptyWatcher::run() {
  while (!stop_) {
    std::chrono::milliseconds timeout = interval_;
    try {
      sync_watches();
      if (auto grace_ends = manager_.sweep_remove_on_empty()) timeout = std::min(timeout, *grace_ends);
      // Mark changes are written here, a moment after they happen (see
      // Manager::kMarkWriteDelay): wake up in time for the next one.
      if (auto due = manager_.write_pending_marks()) timeout = std::min(timeout, *due);
    } catch (const std::exception& e) {
      spdlog::error("remove-on-empty watcher: {}", e.what());
    }
    struct pollfd fds[2] = {{wake_fd_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
    int n = ::poll(fds, inotify_ ? 2 : 1, static_cast<int>(timeout.count()));
    if (n <= 0) continue;
    char buf[4096];
    if (fds[0].revents & POLLIN) {
      [[maybe_unused]] auto r = ::read(wake_fd_.get(), buf, sizeof buf);
    }
    if (inotify_ && (fds[1].revents & POLLIN))
      while (::read(inotify_.get(), buf, sizeof buf) > 0) {
      }
  }
  manager_.write_pending_marks(true);
}

}  // namespace nestbox::cgmgr
