// SPDX-License-Identifier: Apache-2.0
#include "host_files.hpp"

#include "proc_files.hpp"

namespace nestbox::fs {

Text HostFiles::read(std::string_view path) {
  if (ttl_ <= Clock::duration::zero()) return std::make_shared<const std::string>(read_host_file(std::string(path)));
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(std::string(path)); it != entries_.end() && now - it->second.read_at < ttl_)
      return it->second.text;
  }
  // Read outside the lock; two readers at an expiry may both read, the later
  // one stays.
  auto text = std::make_shared<const std::string>(read_host_file(std::string(path)));
  std::lock_guard lock(mutex_);
  entries_[std::string(path)] = Entry{text, now};
  return text;
}

}  // namespace nestbox::fs
