// SPDX-License-Identifier: Apache-2.0
#include "block_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/safe_io.hpp"

namespace nestbox::fs {
namespace {

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() < 256 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

// A file of the host device's directory. The entries of /sys/block are symlinks
// into /sys/devices, which is where the files are: following them is the point.
std::optional<std::string> read_device_file(int root, const std::string& name, const char* file) {
  std::string rel = name + "/" + file;
  UniqueFd fd(::openat(root, rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return std::nullopt;
  try {
    return read_fd(fd.get());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

BlockDir::BlockDir(std::string host_dir) : root_(open_directory(host_dir)) {}

void BlockDir::set_epoch(std::uint16_t epoch) {
  std::lock_guard lock(mutex_);
  base_ = kRangeBit | (std::uint64_t{epoch} << 40);
}

std::uint64_t BlockDir::lookup(std::string_view name) {
  if (!valid_name(name)) throw Error(Errc::NotFound, "bad device name", ENOENT);
  std::string key(name);
  // A device exists while the host has its `dev` file.
  if (::faccessat(root_.get(), (key + "/dev").c_str(), F_OK, 0) != 0)
    throw Error(Errc::NotFound, "no such block device", ENOENT);
  std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(key); it != by_name_.end()) return it->second;
  if (names_.size() >= kMaxDevices) throw Error(Errc::Io, "too many block devices", ENOSPC);
  std::uint64_t ino = base_ + 2 * names_.size();
  names_.push_back(key);
  by_name_.emplace(std::move(key), ino);
  return ino;
}

std::vector<std::string> BlockDir::names() const {
  UniqueFd fd(::openat(root_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw Error(Errc::Io, "open block directory", errno);
  DIR* dir = ::fdopendir(fd.get());
  if (!dir) throw Error(Errc::Io, "opendir block directory", errno);
  fd.release();
  std::vector<std::string> out;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (valid_name(name)) out.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::string BlockDir::name_of(std::uint64_t ino) const {
  std::lock_guard lock(mutex_);
  if (owns(ino) && ((ino ^ base_) >> 40) != 0) throw Error(Errc::NotFound, "block node of an earlier server", ESTALE);
  std::uint64_t index = (ino - base_) / 2;
  if (!owns(ino) || ino < base_ || index >= names_.size()) throw Error(Errc::NotFound, "no such node", ENOENT);
  return names_[index];
}

BlockDir::Device BlockDir::device(std::uint64_t ino) const {
  Device dev;
  dev.name = name_of(ino);
  auto text = read_device_file(root_.get(), dev.name, "dev");
  if (!text) throw Error(Errc::NotFound, "block device " + dev.name + " went away", ENOENT);
  // "MAJ:MIN\n"
  std::string_view s = trim(*text);
  auto colon = s.find(':');
  if (colon == std::string_view::npos) throw Error(Errc::Io, "bad dev file of " + dev.name, EIO);
  dev.major = static_cast<unsigned>(parse_u64(s.substr(0, colon)));
  dev.minor = static_cast<unsigned>(parse_u64(s.substr(colon + 1)));
  return dev;
}

std::string BlockDir::host_stat(const Device& dev) const {
  return read_device_file(root_.get(), dev.name, "stat").value_or("");
}

std::size_t BlockDir::device_count() const {
  std::lock_guard lock(mutex_);
  return names_.size();
}

}  // namespace nestbox::fs
