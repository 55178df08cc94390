// SPDX-License-Identifier: Apache-2.0
#include "cpu_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nestbox/error.hpp"
#include "nestbox/safe_io.hpp"

namespace nestbox::fs {
namespace {

constexpr std::string_view kRenderedLists[] = {"online", "possible", "present", "enabled", "offline"};

bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

// The first component of a path below the directory ("cpu1" of "cpu1/topology").
std::string_view top_component(std::string_view rel) { return rel.substr(0, rel.find('/')); }

bool cpu_visible(std::string_view top, const std::optional<CpuList>& visible) {
  if (!visible) return true;
  auto n = cpu_dir_number(top);
  return !n || std::binary_search(visible->begin(), visible->end(), *n);
}

// Passed-through entries are read-only, whatever the host allows.
void make_read_only(struct stat& st) { st.st_mode &= ~static_cast<mode_t>(S_IWUSR | S_IWGRP | S_IWOTH); }

}  // namespace

std::optional<unsigned> cpu_dir_number(std::string_view name) {
  if (name.size() < 4 || !name.starts_with("cpu")) return std::nullopt;
  unsigned n = 0;
  for (char c : name.substr(3)) {
    if (c < '0' || c > '9') return std::nullopt;
    if (n > 1000000) return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

CpuDir::CpuDir(std::string host_dir) : root_(open_directory(host_dir)) {}

bool CpuDir::is_rendered_list(std::string_view name) {
  return std::find(std::begin(kRenderedLists), std::end(kRenderedLists), name) != std::end(kRenderedLists);
}

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

struct stat CpuDir::host_stat(const std::string& rel) const {
  struct stat st {};
  if (::fstatat(root_.get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    throw Error(errno == ENOENT ? Errc::NotFound : Errc::Io, "stat " + rel, errno);
  make_read_only(st);
  return st;
}

bool CpuDir::hidden(std::uint64_t ino, const std::optional<CpuList>& visible) {
  return !cpu_visible(top_component(rel(ino)), visible);
}

CpuDir::Entry CpuDir::lookup(std::uint64_t parent, std::string_view name, const std::optional<CpuList>& visible) {
  if (!valid_name(name)) throw Error(Errc::NotFound, "bad name", ENOENT);
  std::string path;
  if (parent == 0) {
    if (is_rendered_list(name) || !cpu_visible(name, visible)) throw Error(Errc::NotFound, "hidden", ENOENT);
    path = std::string(name);
  } else {
    std::string base = rel(parent);
    if (!cpu_visible(top_component(base), visible)) throw Error(Errc::NotFound, "hidden", ENOENT);
    path = base + "/" + std::string(name);
  }
  Entry e;
  e.st = host_stat(path);
  e.ino = remember(path);
  e.st.st_ino = e.ino;
  return e;
}

std::vector<CpuDir::DirEntry> CpuDir::list(std::uint64_t ino, const std::optional<CpuList>& visible) {
  std::string base = ino == 0 ? std::string(".") : rel(ino);
  if (ino != 0 && !cpu_visible(top_component(base), visible)) throw Error(Errc::NotFound, "hidden", ENOENT);
  UniqueFd fd = open_beneath(root_.get(), base == "." ? "" : base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = ::fdopendir(fd.get());
  if (!dir) throw Error(Errc::Io, "opendir " + base, errno);
  fd.release();
  std::vector<DirEntry> out;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    if (ino == 0 && (is_rendered_list(name) || !cpu_visible(name, visible))) continue;
    mode_t type = d->d_type == DT_DIR ? S_IFDIR : d->d_type == DT_LNK ? S_IFLNK : S_IFREG;
    out.push_back({std::string(name), 0, type});
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

struct stat CpuDir::getattr(std::uint64_t ino) {
  struct stat st = host_stat(rel(ino));
  st.st_ino = ino;
  return st;
}

std::string CpuDir::readlink(std::uint64_t ino) {
  std::string path = rel(ino);
  char buf[4096];
  ssize_t n = ::readlinkat(root_.get(), path.c_str(), buf, sizeof buf);
  if (n < 0) throw Error(Errc::Io, "readlink " + path, errno);
  return std::string(buf, static_cast<std::size_t>(n));
}

void CpuDir::check_open(std::uint64_t ino, const Cred& cred, const std::optional<CpuList>& visible) {
  std::string path = rel(ino);
  if (!cpu_visible(top_component(path), visible)) throw Error(Errc::NotFound, "hidden", ENOENT);
  struct stat st = host_stat(path);
  if (S_ISDIR(st.st_mode)) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
  // host_stat cleared the write bits, so this also refuses every write.
  if (!dac_allows(st, cred, kRead)) throw Error(Errc::PermissionDenied, "permission denied", EACCES);
}

std::string CpuDir::read(std::uint64_t ino) {
  std::string path = rel(ino);
  UniqueFd fd = open_beneath(root_.get(), path, O_RDONLY | O_CLOEXEC);
  return read_fd(fd.get());
}

std::size_t CpuDir::node_count() const {
  std::lock_guard lock(mutex_);
  return paths_.size();
}

}  // namespace nestbox::fs
