// SPDX-License-Identifier: Apache-2.0
#include "host_cpu_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>

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

HostCpuDir::HostCpuDir(const std::string& host_dir) : root_(open_directory(host_dir)) {}

bool HostCpuDir::is_rendered_list(std::string_view name) {
  return std::find(std::begin(kRenderedLists), std::end(kRenderedLists), name) != std::end(kRenderedLists);
}

bool HostCpuDir::visible(std::string_view rel, const std::optional<CpuList>& visible) {
  if (!visible) return true;
  auto n = cpu_dir_number(top_component(rel));
  return !n || std::binary_search(visible->begin(), visible->end(), *n);
}

std::string HostCpuDir::child(std::string_view rel, std::string_view name, const std::optional<CpuList>& cpus) {
  if (!valid_name(name)) throw Error(Errc::NotFound, "bad name", ENOENT);
  if (rel.empty() && is_rendered_list(name)) throw Error(Errc::NotFound, "a rendered list", ENOENT);
  std::string path = rel.empty() ? std::string(name) : std::string(rel) + "/" + std::string(name);
  if (!visible(path, cpus)) throw Error(Errc::NotFound, "hidden", ENOENT);
  return path;
}

struct stat HostCpuDir::stat(const std::string& rel) const {
  struct stat st {};
  if (::fstatat(root_.get(), rel.empty() ? "." : rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    throw Error(errno == ENOENT ? Errc::NotFound : Errc::Io, "stat " + rel, errno);
  st.st_mode &= ~static_cast<mode_t>(S_IWUSR | S_IWGRP | S_IWOTH);
  return st;
}

std::vector<HostCpuDir::DirEntry> HostCpuDir::list(const std::string& rel, const std::optional<CpuList>& cpus) const {
  if (!visible(rel, cpus)) throw Error(Errc::NotFound, "hidden", ENOENT);
  UniqueFd fd = open_beneath(root_.get(), rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = ::fdopendir(fd.get());
  if (!dir) throw Error(Errc::Io, "opendir " + rel, errno);
  fd.release();
  std::vector<DirEntry> out;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    if (rel.empty() && (is_rendered_list(name) || !visible(name, cpus))) continue;
    mode_t type = d->d_type == DT_DIR ? S_IFDIR : d->d_type == DT_LNK ? S_IFLNK : S_IFREG;
    out.push_back({std::string(name), type, d->d_ino});
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

std::string HostCpuDir::readlink(const std::string& rel) const {
  char buf[4096];
  ssize_t n = ::readlinkat(root_.get(), rel.c_str(), buf, sizeof buf);
  if (n < 0) throw Error(errno == ENOENT ? Errc::NotFound : Errc::Io, "readlink " + rel, errno);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string HostCpuDir::read(const std::string& rel) const {
  UniqueFd fd = open_beneath(root_.get(), rel, O_RDONLY | O_CLOEXEC);
  return read_fd(fd.get());
}

}  // namespace nestbox::fs
