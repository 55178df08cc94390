// SPDX-License-Identifier: Apache-2.0
// Drives remove-on-empty: a thread that wakes on inotify events of the marked
// cgroups' cgroup.events (cgroup v2, also present in the v2 hierarchy of hybrid
// hosts) or on a poll tick (the v1 fallback), and asks the Manager to sweep.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "manager.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::cgmgr {

class EmptyWatcher {
 public:
  // `v2`: the cgroup2 mount whose cgroup.events files are watched (nullptr: poll only).
  EmptyWatcher(Manager& manager, const CgroupMount* v2, std::chrono::milliseconds poll_interval);
  ~EmptyWatcher();
  EmptyWatcher(const EmptyWatcher&) = delete;
  EmptyWatcher& operator=(const EmptyWatcher&) = delete;

  // Makes the thread re-read the marks now (after RemoveOnEmpty changed them).
  void wake();

 private:
  void run();
  void sync_watches();
  std::optional<std::string> events_file(const std::string& cgroup) const;

  Manager& manager_;
  std::optional<CgroupMount> v2_;
  std::chrono::milliseconds interval_;
  UniqueFd inotify_;
  UniqueFd wake_fd_;
  std::map<std::string, int> watches_;  // cgroup path -> watch descriptor
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace nestbox::cgmgr
