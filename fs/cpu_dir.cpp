// SPDX-License-Identifier: Apache-2.0
#include "cpu_dir.hpp"

#include <cerrno>

#include "nestbox/error.hpp"

namespace nestbox::fs {

void CpuDir::set_epoch(std::uint16_t epoch) {
  std::lock_guard lock(mutex_);
  base_ = kRangeBit | (std::uint64_t{epoch} << 40);
}

std::string CpuDir::rel(std::uint64_t ino) const {
  std::lock_guard lock(mutex_);
  if (owns(ino) && ((ino ^ base_) >> 40) != 0) throw Error(Errc::NotFound, "sysfs node of an earlier server", ESTALE);
  if (!owns(ino) || ino - base_ >= paths_.size()) throw Error(Errc::NotFound, "no such node", ENOENT);
  return paths_[ino - base_];
}

std::uint64_t CpuDir::remember(const std::string& rel) {
  std::lock_guard lock(mutex_);
  if (auto it = by_path_.find(rel); it != by_path_.end()) return it->second;
  if (paths_.size() >= kMaxNodes) throw Error(Errc::Io, "too many sysfs nodes", ENOSPC);
  std::uint64_t ino = base_ + paths_.size();
  paths_.push_back(rel);
  by_path_.emplace(rel, ino);
  return ino;
}

CpuDir::Entry CpuDir::lookup(std::uint64_t parent, std::string_view name, const std::optional<CpuList>& visible) {
  const std::string path = HostCpuDir::child(parent == 0 ? std::string() : rel(parent), name, visible);
  Entry e;
  e.st = host_.stat(path);
  e.ino = remember(path);
  e.st.st_ino = e.ino;
  return e;
}

std::vector<CpuDir::DirEntry> CpuDir::list(std::uint64_t ino, const std::optional<CpuList>& visible) {
  std::vector<DirEntry> out;
  for (auto& e : host_.list(ino == 0 ? std::string() : rel(ino), visible)) out.push_back({std::move(e.name), 0, e.type});
  return out;
}

struct stat CpuDir::getattr(std::uint64_t ino) {
  struct stat st = host_.stat(rel(ino));
  st.st_ino = ino;
  return st;
}

void CpuDir::check_open(std::uint64_t ino, const Cred& cred, const std::optional<CpuList>& visible) {
  std::string path = rel(ino);
  if (!HostCpuDir::visible(path, visible)) throw Error(Errc::NotFound, "hidden", ENOENT);
  struct stat st = host_.stat(path);
  if (S_ISDIR(st.st_mode)) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
  // stat cleared the write bits, so this also refuses every write.
  if (!dac_allows(st, cred, kRead)) throw Error(Errc::PermissionDenied, "permission denied", EACCES);
}

std::size_t CpuDir::node_count() const {
  std::lock_guard lock(mutex_);
  return paths_.size();
}

}  // namespace nestbox::fs
