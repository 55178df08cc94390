// SPDX-License-Identifier: Apache-2.0
#include "kept_files.hpp"

#include <cerrno>

#include "nestbox/error.hpp"
#include "nestbox/safe_io.hpp"

namespace nestbox::detail {

std::string KeptFiles::key(std::string_view dir, std::string_view file) {
  std::string k;
  k.reserve(dir.size() + 1 + file.size());
  k.append(dir).push_back('\0');
  k.append(file);
  return k;
}

void KeptFiles::erase_locked(std::unordered_map<std::string, Entry>::iterator it, std::string_view dir) {
  if (it->second.fd) {
    if (auto d = open_.find(std::string(dir)); d != open_.end() && --d->second == 0) open_.erase(d);
  }
  files_.erase(it);
}

KeptFiles::Outcome KeptFiles::read(std::string_view dir, std::string_view file, std::string& out) {
  const std::string k = key(dir, file);
  int fd = -1;
  {
    std::lock_guard lock(mutex_);
    auto it = files_.find(k);
    if (it == files_.end() || it->second.busy) return Outcome::NotKept;
    if (Clock::now() - it->second.opened >= kMaxAge) {
      erase_locked(it, dir);
      return Outcome::NotKept;
    }
    if (!it->second.fd) return Outcome::Missing;
    it->second.busy = true;
    fd = it->second.fd.get();
  }
  // Outside the lock: the entry is ours until `busy` is cleared, and only its
  // holder erases a busy entry.
  int err = 0;
  try {
    out = read_fd(fd);
  } catch (const Error& e) {
    err = e.sys_errno() ? e.sys_errno() : EIO;
  }
  std::lock_guard lock(mutex_);
  auto it = files_.find(k);
  if (err == 0) {
    it->second.busy = false;
    return Outcome::Read;
  }
  erase_locked(it, dir);
  // Other errors are for a fresh open to report (or not to repeat).
  return err == ENODEV ? Outcome::Gone : Outcome::NotKept;
}

void KeptFiles::keep(std::string_view dir, std::string_view file, UniqueFd fd) {
  std::lock_guard lock(mutex_);
  if (files_.size() >= capacity_) return;  // the descriptor closes: a firm bound
  auto [it, inserted] = files_.try_emplace(key(dir, file));
  if (!inserted) {
    // A reader kept it meanwhile, or a missing entry is replaced by the file.
    if (it->second.busy || it->second.fd) return;
  }
  it->second.fd = std::move(fd);
  it->second.opened = Clock::now();
  ++open_[std::string(dir)];
}

void KeptFiles::keep_missing(std::string_view dir, std::string_view file) {
  std::lock_guard lock(mutex_);
  if (files_.size() >= capacity_) return;
  auto [it, inserted] = files_.try_emplace(key(dir, file));
  if (inserted) it->second.opened = Clock::now();
}

bool KeptFiles::knows(std::string_view dir) const {
  std::lock_guard lock(mutex_);
  return open_.find(std::string(dir)) != open_.end();
}

std::size_t KeptFiles::size() const {
  std::lock_guard lock(mutex_);
  return files_.size();
}

}  // namespace nestbox::detail
