#include "render_cache.hpp"

namespace nestbox::fs {

std::optional<std::string> RenderCache::get(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now - it->second.made >= ttl_) return std::nullopt;
  return it->second.text;
}

void RenderCache::put(const std::string& key, std::string text, Clock::time_point now) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_ && !entries_.contains(key)) {
    std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.made >= ttl_; });
    if (entries_.size() >= capacity_) entries_.clear();
  }
  entries_[key] = Entry{std::move(text), now};
}

std::size_t RenderCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace nestbox::fs
