// SPDX-License-Identifier: Apache-2.0
// One mutex per key (a delegation root or a cgroup path), created on demand and
// dropped when nobody holds or waits for it. Serializes check-then-act sequences
// (quota count + mkdir, ownership check + attach) per subtree while callers in
// different subtrees run in parallel.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace nestbox::cgmgr {

class KeyedMutex {
 public:
  class Guard {
   public:
    Guard(KeyedMutex& owner, std::string key);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    KeyedMutex& owner_;
    std::string key_;
    std::shared_ptr<std::mutex> mutex_;
  };

  Guard lock(const std::string& key) { return Guard(*this, key); }

 private:
  struct Slot {
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    unsigned users = 0;
  };
  std::mutex table_mutex_;
  std::map<std::string, Slot> slots_;
};

inline KeyedMutex::Guard::Guard(KeyedMutex& owner, std::string key) : owner_(owner), key_(std::move(key)) {
  {
    std::lock_guard lock(owner_.table_mutex_);
    Slot& slot = owner_.slots_[key_];
    ++slot.users;
    mutex_ = slot.mutex;
  }
  mutex_->lock();
}

inline KeyedMutex::Guard::~Guard() {
  mutex_->unlock();
  std::lock_guard lock(owner_.table_mutex_);
  auto it = owner_.slots_.find(key_);
  if (it != owner_.slots_.end() && --it->second.users == 0) owner_.slots_.erase(it);
}

}  // namespace nestbox::cgmgr
