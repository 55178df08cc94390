// SPDX-License-Identifier: Apache-2.0
// Handles the kernel holds for us (FUSE file handles) are entries of this table,
// never pointers into our memory: a handle is a slot index plus the slot's
// generation, so a stale or forged handle (a release raced by a read, a handle
// from another process's life of this daemon) finds nothing instead of freed
// memory. Entries are shared so that a request in flight keeps its object alive
// while the release of the same handle runs on another worker.
//
// A handle also carries the epoch of the server that made it (each server the
// supervisor starts on a connection has the next one): after a takeover the
// kernel still holds the handles of the earlier server, which must never find
// an entry of ours. Layout: epoch (16 bits) | generation (24) | slot (24).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace nestbox::fs {

template <typename T>
class HandleTable {
 public:
  // Before the first add().
  void set_epoch(std::uint16_t epoch) { epoch_ = epoch; }
  // Whether a handle was made by another server of this connection.
  bool foreign(std::uint64_t handle) const { return (handle >> 48) != epoch_; }

  // Never 0, so a zero handle (the kernel's "none") is never valid. Throws
  // std::length_error once 2^24 handles are open.
  std::uint64_t add(std::shared_ptr<T> object) {
    std::lock_guard lock(mutex_);
    std::uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      if (slots_.size() >= kSlotMask + 1) throw std::length_error("too many open handles");
      index = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back({});
    }
    Slot& s = slots_[index];
    s.object = std::move(object);
    s.generation = (s.generation + 1) & kGenerationMask;
    if (s.generation == 0) s.generation = 1;
    ++live_;
    return (static_cast<std::uint64_t>(epoch_) << 48) | (static_cast<std::uint64_t>(s.generation) << 24) | index;
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
    free_.push_back(static_cast<std::uint32_t>(handle & kSlotMask));
    --live_;
    return true;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return live_;
  }

 private:
  static constexpr std::uint32_t kSlotMask = (1u << 24) - 1;
  static constexpr std::uint32_t kGenerationMask = (1u << 24) - 1;
  struct Slot {
    std::shared_ptr<T> object;
    std::uint32_t generation = 0;
  };
  const Slot* find(std::uint64_t handle) const {
    if (foreign(handle)) return nullptr;
    const auto index = static_cast<std::uint32_t>(handle & kSlotMask);
    const auto generation = static_cast<std::uint32_t>((handle >> 24) & kGenerationMask);
    if (index >= slots_.size()) return nullptr;
    const Slot& s = slots_[index];
    if (!s.object || s.generation != generation) return nullptr;
    return &s;
  }

  std::uint16_t epoch_ = 1;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
};

}  // namespace nestbox::fs
