// SPDX-License-Identifier: Apache-2.0
// TempDir: a private directory under /tmp that is always removed, without ever
// following a mount point or symlink out of it.
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "testkit_internal.hpp"

namespace fs = std::filesystem;

namespace nestbox::testkit {
namespace {

// Pre-order pass: make our own directories writable and searchable so that a
// test which left a 0500 directory behind does not defeat the removal.
int make_removable(const char* path, const struct stat* st, int type, FTW*) {
  if (type == FTW_D && st->st_uid == ::geteuid()) ::chmod(path, (st->st_mode & 07777) | 0700);
  return 0;
}

int remove_entry(const char* path, const struct stat*, int type, FTW*) {
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR) {
    ::rmdir(path);
  } else {
    ::unlink(path);
  }
  return 0;  // keep going: remove whatever can be removed
}

// Detach-unmounts every mount strictly below `dir`, deepest first, until none is left.
void unmount_below(const std::string& dir) {
  const std::string prefix = dir + "/";
  for (int round = 0; round < 16; ++round) {
    std::vector<std::string> below;
    for (auto& mp : detail::mount_points()) {
      if (mp.compare(0, prefix.size(), prefix) == 0) below.push_back(std::move(mp));
    }
    if (below.empty()) return;
    std::sort(below.begin(), below.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& mp : below) ::umount2(mp.c_str(), MNT_DETACH);
  }
}

}  // namespace

TempDir::TempDir(std::string_view tag, mode_t mode) {
  std::string tmpl = "/tmp/" + std::string(tag) + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("testkit: mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  path_ = tmpl;
  if (::chmod(path_.c_str(), mode) < 0) {
    int err = errno;
    ::rmdir(path_.c_str());
    throw std::runtime_error("testkit: chmod " + path_ + ": " + std::strerror(err));
  }
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  try {
    unmount_below(path_);
  } catch (...) {
    // mountinfo unreadable: the FTW_MOUNT walk below still stays on our filesystem.
  }
  ::nftw(path_.c_str(), make_removable, 32, FTW_PHYS | FTW_MOUNT);
  ::nftw(path_.c_str(), remove_entry, 32, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
}

std::string TempDir::write(std::string_view rel, std::string_view content) const {
  fs::path relative(rel);
  if (rel.empty() || relative.is_absolute()) {
    throw std::invalid_argument("testkit: TempDir::write needs a relative path, got '" + std::string(rel) + "'");
  }
  for (const auto& part : relative) {
    if (part == "..") throw std::invalid_argument("testkit: TempDir::write path escapes: " + std::string(rel));
  }
  fs::path target = fs::path(path_) / relative;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw std::runtime_error("testkit: mkdir " + target.parent_path().string() + ": " + ec.message());
  std::ofstream out(target, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("testkit: cannot write " + target.string());
  return target.string();
}

}  // namespace nestbox::testkit
