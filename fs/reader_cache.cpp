// SPDX-License-Identifier: Apache-2.0
#include "reader_cache.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nestbox::fs {
namespace {

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL  // linux/pidfd.h, kernel 6.9
#endif

// A pidfd for the process or thread `pid` (FUSE reports the reading thread's
// id); empty where the kernel cannot give one, which only turns caching off.
UniqueFd open_pidfd(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0 && errno == EINVAL) fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, PIDFD_THREAD));
  return UniqueFd(fd);
}

// A pidfd turns readable when its process exits.
bool alive(const UniqueFd& pidfd) {
  struct pollfd p = {pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

ReaderCache::ReaderCache(const ProcFs& proc, Layout layout, std::chrono::milliseconds ttl, std::size_t capacity,
                         bool with_owner)
    : proc_(proc), layout_(layout), ttl_(ttl), capacity_(capacity), with_owner_(with_owner) {}

ReaderInfo ReaderCache::read(pid_t pid, ino_t known_pidns) const {
  ReaderInfo info;
  info.pid = pid;
  if (with_owner_) {
    const ProcStatus st = proc_.status(pid);
    info.uid = st.ruid;
    info.gid = st.rgid;
    // NSpid lists the pid in every namespace from ours down to its own.
    info.pidns_init = st.nspid.size() >= 2 && st.nspid.back() == 1;
  }
  info.cgroups = resolve_reader_cgroups(proc_.cgroups(pid), layout_);
  info.pidns = known_pidns ? known_pidns : proc_.ns_inode(pid, "pid");
  return info;
}

std::shared_ptr<const ReaderInfo> ReaderCache::get(pid_t pid) {
  const auto now = std::chrono::steady_clock::now();
  UniqueFd pidfd;
  ino_t pidns = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(pid); it != entries_.end()) {
      const bool live = alive(it->second.pidfd);
      if (live && now - it->second.read_at < ttl_) return it->second.info;
      // Expired but alive: read again under the same pidfd (the same process,
      // so the same pid namespace).
      if (live) {
        pidfd = std::move(it->second.pidfd);
        pidns = it->second.info->pidns;
      }
      entries_.erase(it);
    }
  }
  // The pidfd is taken before /proc is read, so the entry can only outlive the
  // process it describes by being found dead on the next lookup.
  if (!pidfd) pidfd = open_pidfd(pid);
  auto info = std::make_shared<const ReaderInfo>(read(pid, pidns));
  if (pidfd && alive(pidfd)) {
    std::lock_guard lock(mutex_);
    insert_locked(pid, Entry{std::move(pidfd), info, now}, now);
  }
  return info;
}

void ReaderCache::insert_locked(pid_t pid, Entry entry, std::chrono::steady_clock::time_point now) {
  if (entries_.size() >= capacity_)
    std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.read_at >= ttl_; });
  // Still full of fresh entries: this reader is simply not remembered (every entry
  // holds a file descriptor, so the bound is firm).
  if (entries_.size() >= capacity_) return;
  entries_.insert_or_assign(pid, std::move(entry));
}

std::size_t ReaderCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace nestbox::fs
