// SPDX-License-Identifier: Apache-2.0
#include "load_sampler.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <cmath>

#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {
namespace {

// State letter of a /proc/.../stat text: the field after the last ')'.
char stat_state(std::string_view text) {
  auto paren = text.rfind(')');
  if (paren == std::string_view::npos || paren + 2 >= text.size()) return '?';
  return text[paren + 2];
}

}  // namespace

TaskCounts count_tasks(const std::string& proc_root, const std::vector<pid_t>& pids, std::size_t limit) {
  TaskCounts out;
  for (pid_t pid : pids) {
    std::string task_dir = proc_root + "/" + std::to_string(pid) + "/task";
    DIR* dir = opendir(task_dir.c_str());
    if (!dir) continue;  // exited
    while (dirent* de = readdir(dir)) {
      if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
      if (out.total >= limit) break;
      std::string rel = std::string(de->d_name) + "/stat";
      int fd = openat(dirfd(dir), rel.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      UniqueFd guard(fd);
      char buf[512];
      ssize_t n = pread(fd, buf, sizeof buf, 0);
      if (n <= 0) continue;
      char state = stat_state(std::string_view(buf, static_cast<std::size_t>(n)));
      ++out.total;
      if (state == 'R') ++out.running;
      if (state == 'D') ++out.blocked;
    }
    closedir(dir);
    if (out.total >= limit) break;
  }
  return out;
}

double decay_load(double load, double active, double interval_s, double period_s) {
  double e = std::exp(-interval_s / period_s);
  return load * e + active * (1.0 - e);
}

LoadSampler::LoadSampler(const CgroupTree& tree, Config config) : tree_(tree), config_(config) {}

LoadSampler::~LoadSampler() { stop(); }

void LoadSampler::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lk(mutex_);
    while (!stopping_) {
      if (wake_.wait_for(lk, config_.interval, [this] { return stopping_; })) break;
      lk.unlock();
      sample_once();
      lk.lock();
    }
  });
}

void LoadSampler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

LoadView LoadSampler::get(const CgroupPath& path) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = table_.find(path);
  if (it == table_.end()) {
    if (table_.size() >= config_.capacity) {
      auto oldest = table_.begin();
      for (auto i = table_.begin(); i != table_.end(); ++i)
        if (i->second.last_read < oldest->second.last_read) oldest = i;
      table_.erase(oldest);
    }
    it = table_.emplace(path, Entry{}).first;
  }
  it->second.last_read = now;
  return it->second.load;
}

std::size_t LoadSampler::size() const {
  std::lock_guard lock(mutex_);
  return table_.size();
}

void LoadSampler::sample_once() {
  auto now = std::chrono::steady_clock::now();
  std::vector<CgroupPath> paths;
  {
    std::lock_guard lock(mutex_);
    for (auto it = table_.begin(); it != table_.end();) {
      if (now - it->second.last_read > config_.idle_eviction) {
        it = table_.erase(it);
      } else {
        paths.push_back(it->first);
        ++it;
      }
    }
  }
  // Counting happens without the lock so readers never wait for the sampler.
  const double interval = std::chrono::duration<double>(config_.interval).count();
  for (const auto& path : paths) {
    TaskCounts counts;
    bool ok = true;
    try {
      counts = count_tasks(tree_.proc().root(), tree_.processes(path, true));
    } catch (const std::exception&) {
      ok = false;  // cgroup removed; its entry ages out
    }
    std::lock_guard lock(mutex_);
    auto it = table_.find(path);
    if (it == table_.end() || !ok) continue;
    auto& l = it->second.load;
    double active = static_cast<double>(counts.running + counts.blocked);
    it->second.sampled = true;
    l.avg1 = decay_load(l.avg1, active, interval, 60);
    l.avg5 = decay_load(l.avg5, active, interval, 300);
    l.avg15 = decay_load(l.avg15, active, interval, 900);
    l.running = counts.running;
    l.total = counts.total;
  }
}

}  // namespace nestbox::fs
