// Handles the kernel holds for us (FUSE file handles) are entries of this table,
// never pointers into our memory: a handle is a slot index plus the slot's
// generation, so a stale or forged handle (a release raced by a read, a handle
// from another process's life of this daemon) finds nothing instead of freed
// memory. Entries are shared so that a request in flight keeps its object alive
// while the release of the same handle runs on another worker.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace nestbox::fs {

template <typename T>
class HandleTable {
 public:
  // Never 0, so a zero handle (the kernel's "none") is never valid.
  std::uint64_t add(std::shared_ptr<T> object) {
    std::lock_guard lock(mutex_);
    std::uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back({});
    }
    Slot& s = slots_[index];
    s.object = std::move(object);
    if (++s.generation == 0) ++s.generation;
    ++live_;
    return (static_cast<std::uint64_t>(s.generation) << 32) | index;
  }

  // nullptr for an unknown or released handle.
  std::shared_ptr<T> get(std::uint64_t handle) const {
    std::lock_guard lock(mutex_);
    const Slot* s = find(handle);
    return s ? s->object : nullptr;
  }

  // Removes the entry; false for an unknown handle.
  bool remove(std::uint64_t handle) {
    std::shared_ptr<T> dropped;  // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    Slot* s = const_cast<Slot*>(find(handle));
    if (!s) return false;
    dropped = std::move(s->object);
    s->object.reset();
    free_.push_back(static_cast<std::uint32_t>(handle & 0xffffffffu));
    --live_;
    return true;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return live_;
  }

 private:
  struct Slot {
    std::shared_ptr<T> object;
    std::uint32_t generation = 0;
  };
  const Slot* find(std::uint64_t handle) const {
    const auto index = static_cast<std::uint32_t>(handle & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>(handle >> 32);
    if (index >= slots_.size()) return nullptr;
    const Slot& s = slots_[index];
    if (!s.object || s.generation != generation) return nullptr;
    return &s;
  }

  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
};

}  // namespace nestbox::fs
