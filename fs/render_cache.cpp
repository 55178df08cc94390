// SPDX-License-Identifier: Apache-2.0
#include "render_cache.hpp"

namespace nestbox::fs {

Text RenderCache::get(const std::string& key, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now - it->second.made >= ttl_) return nullptr;
  return it->second.text;
}

void RenderCache::drop_oldest() {
  auto& [made, key] = order_.front();
  if (auto it = entries_.find(key); it != entries_.end() && it->second.made == made) entries_.erase(it);
  order_.pop_front();
}

void RenderCache::put(const std::string& key, Text text, Clock::time_point now) {
  if (capacity_ == 0) return;
  // The text being replaced (or expired) is released after the lock.
  Text old;
  std::lock_guard lock(mutex_);
  while (!order_.empty() && now - order_.front().first >= ttl_) drop_oldest();
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    while (!order_.empty() && entries_.size() >= capacity_) drop_oldest();
    entries_.emplace(key, Entry{std::move(text), now});
  } else {
    old = std::exchange(it->second.text, std::move(text));
    it->second.made = now;
  }
  order_.emplace_back(now, key);
}

std::size_t RenderCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace nestbox::fs
