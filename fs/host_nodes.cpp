// SPDX-License-Identifier: Apache-2.0
#include "host_nodes.hpp"

#include <vector>

#include "nestbox/error.hpp"

namespace nestbox::fs {

HostNodes::Found HostNodes::at(const std::string& rel) {
  Found f{rel, dir_.stat(rel)};
  std::lock_guard lock(mutex_);
  if (paths_.size() >= kMaxNodes) paths_.clear();
  paths_[static_cast<std::uint32_t>(f.st.st_ino)] = rel;
  return f;
}

std::optional<HostNodes::Found> HostNodes::known(std::uint32_t ino) {
  std::string rel;
  {
    std::lock_guard lock(mutex_);
    auto it = paths_.find(ino);
    if (it == paths_.end()) return std::nullopt;
    rel = it->second;
  }
  try {
    Found f{rel, dir_.stat(rel)};
    // The path may name a newer entry now (a CPU plugged back).
    if (static_cast<std::uint32_t>(f.st.st_ino) == ino) return f;
  } catch (const Error&) {
  }
  std::lock_guard lock(mutex_);
  // Unless another lookup or walk put the right path there meanwhile.
  if (auto it = paths_.find(ino); it != paths_.end() && it->second == rel) paths_.erase(it);
  return std::nullopt;
}

std::optional<HostNodes::Found> HostNodes::find(std::uint32_t ino) {
  if (auto f = known(ino)) return f;
  // One walk at a time; who asks during it waits for it and looks again
  // (after a live upgrade, many numbers arrive at once).
  std::lock_guard walking(walk_mutex_);
  if (auto f = known(ino)) return f;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (walked_ != std::chrono::steady_clock::time_point{} && now - walked_ < kWalkEvery) return std::nullopt;
    walked_ = now;
  }
  walk();
  return known(ino);
}

void HostNodes::walk() {
  // Depth first, symbolic links not followed (a sysfs directory's links lead
  // out of it), a bounded number of entries.
  std::unordered_map<std::uint32_t, std::string> found;
  std::vector<std::string> dirs{""};
  while (!dirs.empty() && found.size() < kMaxNodes) {
    const std::string rel = std::move(dirs.back());
    dirs.pop_back();
    std::vector<HostCpuDir::DirEntry> entries;
    try {
      entries = dir_.list(rel, std::nullopt);
    } catch (const Error&) {
      continue;  // gone meanwhile
    }
    for (auto& e : entries) {
      std::string path = rel.empty() ? e.name : rel + "/" + e.name;
      found.emplace(static_cast<std::uint32_t>(e.ino), path);
      if (e.type == S_IFDIR) dirs.push_back(std::move(path));
    }
  }
  std::lock_guard lock(mutex_);
  if (paths_.size() + found.size() > kMaxNodes) paths_.clear();
  for (auto& [ino, rel] : found) paths_.insert_or_assign(ino, std::move(rel));
}

std::size_t HostNodes::size() const {
  std::lock_guard lock(mutex_);
  return paths_.size();
}

}  // namespace nestbox::fs
